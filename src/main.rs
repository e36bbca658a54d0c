//! The `maia-krm` command line. Parses arguments, runs one job, and maps errors to exit codes
//! in one place (`Error::exit_code`); everything else lives in the library.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use maia_krm::config::Config;
use maia_krm::error::{Error, Result};
use maia_krm::stream::Limits;
use maia_krm::{explain, krm, pipeline, stream};

/// Applies a MAIA workspace's edits (Ingress TLS, OAuth, registry pull secret, shared volume)
/// to rendered manifests on stdin: a manifest stream (Helm post-renderer, Argo CD plugin) or a
/// KRM ResourceList (kpt and kustomize function), written back to stdout.
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
        Ok(true) => ExitCode::SUCCESS,
        // A KRM run whose ResourceList carries an error result: kpt and kustomize need exit 1.
        Ok(false) => ExitCode::FAILURE,
        // `maia-krm ... | head` closing the pipe early is a normal end, not an error.
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("maia-krm: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Reads stdin, picks the mode by content (a ResourceList means a KRM function call, anything
/// else a manifest stream) and writes stdout only once everything has succeeded, so a failure
/// never leaves half a stream for Helm to install.
fn try_main(args: &Args) -> Result<bool> {
    let config = load_config(args);
    let mut input = Vec::new();
    std::io::stdin().lock().read_to_end(&mut input)?;
    let limits = match &config {
        Some(Ok(c)) => c.options.limits.clone(),
        _ => Limits::default(),
    };
    let text = stream::decode(&input, &limits)?;

    if krm::is_resource_list(text, config.is_none()) {
        let run = krm::run(text, config)?;
        if args.explain {
            eprint!("{}", explain::render(&run.changes));
        }
        if let Some(error) = &run.error {
            eprintln!("maia-krm: bad config: {error}");
        }
        write_out(|out| out.write_all(run.output.as_bytes()))?;
        return Ok(run.error.is_none());
    }

    let config = config
        .unwrap_or_else(|| Err("no config: pass --config FILE (a ConfigMap), --form FILE --cluster FILE, or set MAIA_KRM_CONFIG".into()))
        .map_err(Error::Config)?;
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let out = pipeline::transform(text, &config, jobs)?;
    if args.explain {
        eprint!("{}", explain::render(&out.changes));
    }
    write_out(|w| stream::write(w, &out.documents, &out.new_documents))?;
    Ok(true)
}

fn write_out(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    f(&mut stdout)?;
    stdout.flush()?;
    Ok(())
}

/// The config named on the command line or by `MAIA_KRM_CONFIG`, if any.
fn load_config(args: &Args) -> Option<Result<Config, String>> {
    match (&args.config, &args.form, &args.cluster) {
        (Some(file), _, _) => Some(Config::from_config_map_file(file)),
        (None, Some(form), Some(cluster)) => Some(Config::from_files(form, cluster)),
        _ => None,
    }
}
