//! [`AppError`], why a command failed, and the exit code it maps to (`cli::exit`).

use std::error::Error as StdError;

use crate::cli::exit;
use crate::config::ConfigError;
use crate::logging::LoggingError;

/// Why a command failed; [`AppError::exit_code`] turns it into the process's exit code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),

    #[error(transparent)]
    Logging(#[from] LoggingError),

    /// A command line that parsed but cannot be carried out as given.
    #[error("{0}")]
    Usage(String),

    /// An input file the command was given cannot be used; the message names the file.
    #[error("{0}")]
    Input(#[source] Box<dyn StdError + Send + Sync>),

    /// `once` could not reach LND.
    #[error("cannot reach LND: {0}")]
    LndUnreachable(#[source] Box<dyn StdError + Send + Sync>),

    /// Writing the command's output failed (e.g. stdout closed).
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),

    /// Anything else: a bug or an environment problem the command cannot classify.
    #[error("{0}")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl AppError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Config(_) => exit::CONFIG,
            AppError::Logging(err) if err.is_config_error() => exit::CONFIG,
            AppError::Logging(_) => exit::SOFTWARE,
            AppError::Usage(_) => exit::USAGE,
            AppError::Input(_) => exit::DATA,
            AppError::LndUnreachable(_) => exit::UNAVAILABLE,
            AppError::Output(_) | AppError::Internal(_) => exit::SOFTWARE,
        }
    }
}

/// `err` and its sources on one line, skipping a source whose text its parent already shows
/// (most of our messages embed their cause).
pub fn error_report(err: &(dyn StdError + 'static)) -> String {
    let mut report = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !report.contains(&text) {
            report.push_str(": ");
            report.push_str(&text);
        }
        source = cause.source();
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(AppError::Internal("bug".into()).exit_code(), exit::SOFTWARE);
        assert_eq!(AppError::Input("bad file".into()).exit_code(), exit::DATA);
        assert_eq!(AppError::Usage("x".into()).exit_code(), exit::USAGE);
        assert_eq!(
            AppError::LndUnreachable("connection refused".into()).exit_code(),
            exit::UNAVAILABLE
        );
        let config = ConfigError::FileNotFound { path: "/x".into() };
        assert_eq!(AppError::from(config).exit_code(), exit::CONFIG);
    }

    #[test]
    fn error_report_adds_only_new_causes() {
        let inner = std::io::Error::other("socket closed");
        let err = AppError::Internal(Box::new(inner));
        assert_eq!(error_report(&err), "socket closed");
        let err = AppError::LndUnreachable(Box::new(std::io::Error::other("refused")));
        assert_eq!(error_report(&err), "cannot reach LND: refused");
    }
}
