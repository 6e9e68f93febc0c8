//! Failures and the exit codes scripts rely on (SPEC §7): 0 success, 1 failure, 2 usage error,
//! 3 bad input data (nothing stored), 4 database unreachable or of a newer schema.

use std::process::ExitCode;

use kith_import::ImportError;
use kith_store::StoreError;

#[derive(Debug)]
pub enum Failure {
    /// Exit 2: the command was used wrongly. The message says how to use it.
    Usage(String),
    /// Exit 3: the input data is bad; nothing was stored.
    BadInput(String),
    /// Exit 4: the database cannot be used.
    Unavailable(String),
    /// Exit 1: anything else.
    Other(anyhow::Error),
}

impl Failure {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Failure::Other(_) => 1,
            Failure::Usage(_) => 2,
            Failure::BadInput(_) => 3,
            Failure::Unavailable(_) => 4,
        })
    }

    pub fn message(&self) -> String {
        match self {
            Failure::Usage(m) | Failure::BadInput(m) | Failure::Unavailable(m) => m.clone(),
            Failure::Other(e) => format!("{e:#}"),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        match e {
            e if e.is_unavailable() => Failure::Unavailable(e.to_string()),
            StoreError::NotFound(_) | StoreError::Invalid(_) | StoreError::Conflict(_) => {
                Failure::Usage(e.to_string())
            }
            e => Failure::Other(e.into()),
        }
    }
}

impl From<ImportError> for Failure {
    fn from(e: ImportError) -> Failure {
        match e {
            ImportError::Usage(m) => Failure::Usage(m),
            ImportError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Failure::Usage(format!("{e} (check the path)"))
            }
            e @ ImportError::Malformed { .. } => Failure::BadInput(e.to_string()),
            ImportError::Store(s) => s.into(),
            e @ ImportError::Io { .. } => Failure::Other(e.into()),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Other(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Other(e.into())
    }
}
