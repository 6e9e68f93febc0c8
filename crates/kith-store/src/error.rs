//! What can go wrong in a store, in terms a user can act on.

use std::path::PathBuf;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be opened or reached (exit code 4).
    #[error("cannot reach the database at {location}: {detail}")]
    Unreachable { location: String, detail: String },
    /// The database was written by a newer kith (exit code 4).
    #[error(
        "the database at {location} has schema version {found}, newer than this kith supports ({supported}); upgrade kith or restore a backup"
    )]
    NewerSchema {
        location: String,
        found: u32,
        supported: u32,
    },
    #[error("{0} not found")]
    NotFound(String),
    /// The operation contradicts what is stored (e.g. undoing a merge a later merge depends on).
    #[error("{0}")]
    Conflict(String),
    /// The caller passed something the store cannot accept.
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An error from the database driver, with what kith was doing.
    #[error("database error while {context}: {detail}")]
    Backend { context: String, detail: String },
}

impl StoreError {
    pub fn backend(context: impl Into<String>, detail: impl std::fmt::Display) -> StoreError {
        StoreError::Backend {
            context: context.into(),
            detail: detail.to_string(),
        }
    }

    /// True for the errors that mean "cannot use this database at all" (exit code 4).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unreachable { .. } | StoreError::NewerSchema { .. }
        )
    }
}
