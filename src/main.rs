//! The `maia-krm` command line. Parses arguments, runs one job, and maps errors to exit codes
//! in one place (`error::exit_code`); flags live in `cli.rs`, everything else in the library.

mod cli;

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use cli::{AuditFormat, Cli, Command, ConfigArgs, FormCommand, PlanFormat};
use maia_krm::config::{Config, ConfigError};
use maia_krm::error::{Error, Result};
use maia_krm::generate::{
    self,
    form::{SecretMode, Seed},
    values::Format,
};
use maia_krm::stream::Limits;
use maia_krm::stream::edit::block_document;
use maia_krm::{diff, explain, pipeline, stream};

/// `eprintln!` that survives a closed stderr (`--explain 2>&1 | head`): `eprintln!` panics
/// there (exit 134); a lost report must not change what stdout and the exit code say.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// A report already formatted line by line, written as [`say!`] writes.
fn report(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (result, code) = match &cli.command {
        None => {
            let result = render(&cli);
            let code = maia_krm::error::exit_code(&result);
            (result, code)
        }
        Some(Command::Audit { config, files, output }) => {
            let result = audit(config, files, *output);
            let code = maia_krm::error::audit_exit_code(&result);
            (result, code)
        }
        Some(command) => {
            let result = run_command(command).map(|()| true);
            let code = maia_krm::error::exit_code(&result);
            (result, code)
        }
    };
    if let Err(e) = &result
        && code != 0
    {
        say!("maia-krm: {e}");
    }
    ExitCode::from(code)
}

/// Reads stdin, runs the pipeline (which picks the mode by content: a ResourceList means a KRM
/// function call, anything else a manifest stream) and writes stdout only once everything has
/// succeeded, so a failure never leaves half a stream for Helm to install.
fn render(args: &Cli) -> Result<bool> {
    let mut config = load_config(&args.config);
    if let Some(Ok(c)) = &mut config {
        c.options.tenant |= args.tenant;
    }
    let limits = match &config {
        Some(Ok(c)) => c.options.limits.clone(),
        _ => Limits::default(),
    };
    let input = read_stdin(&limits)?;
    let text = stream::decode(&input, &limits)?;
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let out = pipeline::run(text, config, jobs)?;
    if args.explain {
        report(&explain::render(&out.changes));
    } else if !args.quiet && out.refused.is_empty() {
        report(&explain::warnings(&out.changes));
    }
    if !out.refused.is_empty() {
        // Helm, kpt and Argo CD all stop on a non-zero exit: nothing unprotected gets installed.
        for line in &out.refused {
            say!("maia-krm: refused: {line}");
        }
        say!("maia-krm: {} resource(s) left without what the workspace requires: nothing written", out.refused.len());
        return Ok(false);
    }
    if text.trim().is_empty() {
        say!("maia-krm: the input stream is empty; passed through");
    } else if out.no_objects && !args.quiet {
        say!(
            "maia-krm: note: no Kubernetes object (a document with a kind) in the input; \
             passed through unchanged (a values file or Chart.yaml? pipe rendered manifests: helm template ... | maia-krm)"
        );
    }
    if let Some(error) = &out.failed {
        say!("maia-krm: bad config: {error}");
    }
    if args.check || args.diff {
        let diff = diff::unified(text, &out);
        if args.diff {
            write_out(|w| w.write_all(diff.as_bytes()))?;
        }
        if args.check && !diff.is_empty() {
            say!("maia-krm: --check: the output would differ from the input");
        }
        let differs = args.check && !diff.is_empty();
        return Ok(out.failed.is_none() && !differs);
    }
    write_out(|w| stream::write(w, &out.documents, &out.new_documents))?;
    Ok(out.failed.is_none())
}

/// `audit`: each file (or stdin) through the same dry run and rule books, one report for all.
fn audit(args: &ConfigArgs, files: &[PathBuf], format: AuditFormat) -> Result<bool> {
    let config = pipeline::require(load_config(args))?;
    let mut report = maia_krm::audit::Audit::default();
    let limits = &config.options.limits;
    let inputs: Vec<(String, Vec<u8>)> = if files.is_empty() {
        vec![("-".into(), read_stdin(limits)?)]
    } else {
        let read = |f: &PathBuf| {
            let named = |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", f.display()));
            let file = std::fs::File::open(f).map_err(named)?;
            read_bounded(file, limits).map(|bytes| (f.display().to_string(), bytes)).map_err(named)
        };
        files.iter().map(read).collect::<std::io::Result<_>>()?
    };
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (source, bytes) in &inputs {
        let text = stream::decode(bytes, &config.options.limits)?;
        maia_krm::audit::audit(source, text, &config, jobs, &mut report).map_err(|e| match e {
            Error::Input(mut e) if source != "-" => {
                e.message = format!("{} (in {source})", e.message);
                Error::Input(e)
            }
            e => e,
        })?;
    }
    let output = match format {
        AuditFormat::Table => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            maia_krm::audit::to_table(&report, std::io::stdout().is_terminal() && !no_color)
        }
        AuditFormat::Json => {
            format!("{}\n", serde_json::to_string_pretty(&maia_krm::audit::to_json(&report)).expect("audit serialises"))
        }
        AuditFormat::Krm => block_document(&maia_krm::audit::to_krm(&report)),
    };
    write_out(|w| w.write_all(output.as_bytes()))?;
    Ok(report.ok())
}

/// Stdin, read no further than one byte over `max_stream_bytes`: a larger stream is refused
/// (by `stream::decode`) before it is held in memory.
/// On a terminal, says what it waits for: run bare, maia-krm would otherwise sit silent.
fn read_stdin(limits: &Limits) -> std::io::Result<Vec<u8>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        say!(
            "maia-krm: reading manifests from the terminal (end with Ctrl-D); usually they are piped in: \
             helm template ... | maia-krm --config FILE (maia-krm --help for more)"
        );
    }
    read_bounded(stdin.lock(), limits)
}

fn read_bounded(from: impl Read, limits: &Limits) -> std::io::Result<Vec<u8>> {
    let mut input = Vec::new();
    from.take(limits.max_stream_bytes as u64 + 1).read_to_end(&mut input)?;
    Ok(input)
}

fn write_out(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    f(&mut stdout)?;
    stdout.flush()?;
    Ok(())
}

/// The config named on the command line or by `MAIA_KRM_CONFIG`, if any.
fn load_config(args: &ConfigArgs) -> Option<Result<Config, ConfigError>> {
    match (&args.config_file(), &args.form, &args.cluster) {
        (Some(file), _, _) => Some(Config::from_config_map_file(file)),
        (None, Some(form), Some(cluster)) => Some(Config::from_files(form, cluster)),
        _ => None,
    }
}

/// The runbook subcommands: each prints one artifact on stdout.
fn run_command(command: &Command) -> Result<()> {
    let output = match command {
        Command::Form(FormCommand::New {
            group,
            subdomain,
            users,
            gpu,
            workspace_version,
            domain,
            memory,
            cpu,
            secrets_env,
            secrets_dir,
        }) => {
            let secrets = match (secrets_env, secrets_dir) {
                (Some(prefix), _) => SecretMode::Env(prefix.clone()),
                (None, Some(dir)) => SecretMode::Files(dir.clone()),
                (None, None) => SecretMode::Generate,
            };
            let seed = Seed {
                group_id: group.clone(),
                subdomain: subdomain.clone(),
                users: users.clone(),
                gpu: *gpu,
                workspace_version: workspace_version.clone(),
                domain: domain.clone(),
                memory: [memory.0.clone(), memory.1.clone()],
                cpu: [cpu.0, cpu.1],
                secrets,
            };
            generate::form::new_form(&seed).map_err(Error::Config)?
        }
        Command::Form(FormCommand::Check { forms, cluster }) => {
            let read = |f: &PathBuf| maia_krm::config::read_yaml_file(f).map(|form| (f.clone(), form));
            let forms = forms.iter().map(read).collect::<std::result::Result<Vec<_>, _>>().map_err(Error::Config)?;
            let cluster = match cluster {
                Some(file) => Some((file.as_path(), maia_krm::config::read_yaml_file(file).map_err(Error::Config)?)),
                None => None,
            };
            let summary = generate::form::check_all(&forms, cluster.as_ref().map(|(f, c)| (*f, c)))
                .map_err(|problems| Error::Config(ConfigError(problems)))?;
            format!("{summary}\n")
        }
        Command::Form(FormCommand::Namespace { form: file }) => {
            let form = maia_krm::config::read_yaml_file(file).map_err(Error::Config)?;
            let namespace =
                generate::form::namespace(&form, file).map_err(|problems| Error::Config(ConfigError(problems)))?;
            format!("{namespace}\n")
        }
        Command::Namespace { config, registry_password_file } => {
            let config = pipeline::require(load_config(config))?;
            let password = generate::namespace::registry_password(registry_password_file.as_deref(), &config)
                .map_err(Error::Config)?;
            generate::yaml_stream(&generate::namespace::resources(&config, &password).map_err(Error::Config)?)
        }
        Command::Values { component, config } => {
            let config = pipeline::require(load_config(config))?;
            match generate::values::values(component, &config).map_err(Error::Config)? {
                (v, Format::Json) => format!("{}\n", serde_json::to_string_pretty(&v).expect("values serialise")),
                (v, Format::Yaml) => block_document(&v),
            }
        }
        Command::Audit { .. } => unreachable!("audit has its own exit codes (main)"),
        Command::Plan { config: args, output, argocd, project_only, repo } => {
            let config = pipeline::require(load_config(args))?;
            // A plan whose later steps would fail is no plan: say what they need first. The
            // AppProject alone needs only the namespace, which the config already proved.
            let missing = if *project_only { Vec::new() } else { generate::needs::all(&config) };
            if !missing.is_empty() {
                let heading = std::iter::once("the plan's steps need:".to_string());
                return Err(Error::Config(ConfigError(
                    heading.chain(missing.iter().map(ToString::to_string)).collect(),
                )));
            }
            if *project_only {
                generate::yaml_stream(&[generate::plan::project(&config, repo)])
            } else if *argocd {
                generate::yaml_stream(&generate::plan::argocd(&config, repo))
            } else {
                let steps = generate::plan::steps(&config, &args.words());
                match output {
                    PlanFormat::Text => generate::plan::text(&steps),
                    PlanFormat::Json => format!(
                        "{}\n",
                        serde_json::to_string_pretty(&generate::plan::json(&steps)).expect("plan serialises")
                    ),
                }
            }
        }
    };
    write_out(|out| out.write_all(output.as_bytes()))
}
