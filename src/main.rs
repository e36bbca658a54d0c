//! The `maia-krm` command line. Parses arguments, runs one job, and maps errors to exit codes
//! in one place (`Error::exit_code`); everything else lives in the library.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use maia_krm::config::Config;
use maia_krm::error::{Error, Result};
use maia_krm::{explain, pipeline, stream};

/// Applies a MAIA workspace's edits (Ingress TLS, OAuth, registry pull secret, shared volume)
/// to a rendered manifest stream: stdin to stdout, as a Helm post-renderer.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// ConfigMap whose data holds `group-form.yaml`, `cluster.yaml` and option keys.
    #[arg(long, env = "MAIA_KRM_CONFIG", conflicts_with_all = ["form", "cluster"])]
    config: Option<PathBuf>,
    /// The group form file (with --cluster), instead of --config.
    #[arg(long, requires = "cluster")]
    form: Option<PathBuf>,
    /// The cluster config file (with --form), instead of --config.
    #[arg(long, requires = "form")]
    cluster: Option<PathBuf>,
    /// Print each change made, and each change skipped and why, to stderr.
    #[arg(long)]
    explain: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    jobs: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match try_main(&args) {
        Ok(()) => ExitCode::SUCCESS,
        // `maia-krm ... | head` closing the pipe early is a normal end, not an error.
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("maia-krm: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Loads the config, transforms stdin, and writes stdout only once everything has succeeded,
/// so a failure never leaves half a stream for Helm to install.
fn try_main(args: &Args) -> Result<()> {
    let config = load_config(args)?;
    let mut input = Vec::new();
    std::io::stdin().lock().read_to_end(&mut input)?;
    let text = stream::decode(&input, &config.options.limits)?;
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let out = pipeline::transform(text, &config, jobs)?;
    if args.explain {
        eprint!("{}", explain::render(&out.changes));
    }
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    stream::write(&mut stdout, &out.documents, &out.new_documents)?;
    stdout.flush()?;
    Ok(())
}

fn load_config(args: &Args) -> Result<Config> {
    let loaded = match (&args.config, &args.form, &args.cluster) {
        (Some(file), _, _) => Config::from_config_map_file(file),
        (None, Some(form), Some(cluster)) => Config::from_files(form, cluster),
        _ => Err("no config: pass --config FILE (a ConfigMap), --form FILE --cluster FILE, or set MAIA_KRM_CONFIG".into()),
    };
    loaded.map_err(Error::Config)
}

