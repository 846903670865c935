//! One error type for every user-facing failure of the engine.
//!
//! Each variant says what was wrong and where (file, line, column, value, parameter), so the
//! binding can hand the message to a person unchanged and attach a stable `code`.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An output file that cannot be created or written (a list export, say).
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A row of a data file is malformed.
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: u64,
        message: String,
    },

    /// A data file as a whole cannot be used (empty, missing column, ...).
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },

    /// A parameter or argument is out of its domain.
    #[error("{name}: {message}")]
    InvalidParam { name: String, message: String },

    /// Data that is well-formed but unusable for the requested operation.
    #[error("{0}")]
    Data(String),

    /// A split strategy that leaves no training data, or is inconsistent.
    #[error("{0}")]
    Split(String),

    /// A numeric failure: a system that is not positive definite, a non-finite factor.
    #[error("{0}")]
    Numeric(String),

    /// An operation the model type does not offer (item similarity for popularity, say).
    #[error("{0}")]
    Unsupported(String),

    #[error("model is not fitted")]
    NotFitted,

    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// A stable machine-readable code, shared with the JS layer (`err.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } | Error::Write { .. } => "ERR_CF_IO",
            Error::Parse { .. } | Error::File { .. } | Error::Data(_) => "ERR_CF_DATA",
            Error::InvalidParam { .. } => "ERR_CF_INVALID_ARG",
            Error::Split(_) => "ERR_CF_SPLIT",
            Error::Numeric(_) => "ERR_CF_NUMERIC",
            Error::NotFitted => "ERR_CF_NOT_FITTED",
            Error::Unsupported(_) => "ERR_CF_UNSUPPORTED",
            Error::Cancelled => "ERR_CF_CANCELLED",
        }
    }

    pub fn param(name: &str, message: impl Into<String>) -> Self {
        Error::InvalidParam {
            name: name.to_string(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
