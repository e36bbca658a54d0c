//! The errors maia-krm reports, and the one place that decides their exit codes.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// The manifest stream (or ResourceList) is not something we can faithfully transform.
    Input(InputError),
    /// The config, form or command line is wrong: nothing was read from stdin yet, or it does not matter.
    Config(crate::config::ConfigError),
    /// Reading stdin or writing stdout failed.
    Io(std::io::Error),
}

/// A problem located in the input: which document, which file it came from, which line.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    /// 1-based position of the document in the stream (0 when the stream as a whole is at fault).
    pub document: usize,
    /// The `# Source:` file (Helm 3) or `postrenderer.helm.sh/postrender-filename` (Helm 4).
    pub file: Option<String>,
    /// 1-based line in the whole stream.
    pub line: usize,
    pub message: String,
}

/// The exit code of a run, decided here only:
/// - 0: done (also when stdout was closed early: `maia-krm ... | head` is a normal end);
/// - 1: bad input stream, I/O failure, or a KRM run whose ResourceList carries an error result
///   (`Ok(false)`: kpt and kustomize ignore error results unless the exit code says so);
/// - 2: bad config or usage (clap's own usage errors exit 2 too).
pub fn exit_code(result: &Result<bool>) -> u8 {
    match result {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(Error::Input(_) | Error::Io(_)) => 1,
        Err(Error::Config(_)) => 2,
    }
}

/// The exit code of `audit`, which keeps 1 for "the policy is broken" (`Ok(false)`): bad input
/// or config is 2 there.
pub fn audit_exit_code(result: &Result<bool>) -> u8 {
    match result {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(_) => 2,
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.document > 0 {
            write!(f, "document {}", self.document)?;
            if let Some(file) = &self.file {
                write!(f, " ({file})")?;
            }
            write!(f, ", ")?;
        }
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(e) => write!(f, "bad input: {e}"),
            Error::Config(m) => write!(f, "bad config: {m}"),
            Error::Io(e) => write!(f, "i/o error: {e}"),
        }
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
