//! Turning driver errors into [`StoreError`]s that say what kith was doing, and where.

use std::path::Path;

use kith_store::StoreError;

/// Attaches "while <context>" to a driver error.
pub(crate) trait Context<T> {
    fn ctx(self, context: &str) -> Result<T, StoreError>;
    fn with_ctx(self, context: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn ctx(self, context: &str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::backend(context, e))
    }

    fn with_ctx(self, context: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::backend(context(), e))
    }
}

/// The database file cannot be used at all: not SQLite, unreadable, locked away.
pub(crate) fn unreachable(path: &Path, error: impl std::fmt::Display) -> StoreError {
    StoreError::Unreachable {
        location: path.display().to_string(),
        detail: error.to_string(),
    }
}

/// Maps an error met while opening: a file that is not a database becomes `Unreachable` with
/// advice, anything else keeps its context.
pub(crate) fn opening(path: &Path, context: &str, error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => unreachable(
            path,
            "the file is not a SQLite database (or it is encrypted or damaged); point kith at a kith \
             database file, or move this file away to let kith create a new one",
        ),
        Some(
            rusqlite::ErrorCode::CannotOpen
            | rusqlite::ErrorCode::PermissionDenied
            | rusqlite::ErrorCode::ReadOnly,
        ) => unreachable(
            path,
            format!("{error} (while {context}); check that the folder exists and is writable"),
        ),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            unreachable(
                path,
                format!(
                    "{error} (while {context}); another program holds the database locked, try again when it is done"
                ),
            )
        }
        _ => StoreError::backend(format!("{context} ({})", path.display()), error),
    }
}

/// A poisoned lock means a thread panicked mid-write; the transaction was rolled back by SQLite.
pub(crate) fn poisoned(what: &str) -> StoreError {
    StoreError::backend(
        format!("locking the {what}"),
        "a thread panicked while holding it",
    )
}
