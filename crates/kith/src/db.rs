//! Opening the database a URL names: `sqlite:PATH`, a bare PATH, or `postgres://...`.

use std::path::{Path, PathBuf};

use kith_store::Store;
use kith_store_postgres::PgStore;
use kith_store_sqlite::SqliteStore;

use crate::failure::Failure;

/// Where a database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(url: &str) -> Result<Location, Failure> {
        // A URL, or a libpq key=value connection string (`host=/run/pg port=5432 dbname=kith`).
        let conninfo = url
            .split_whitespace()
            .any(|kv| kv.starts_with("dbname=") || kv.starts_with("host="));
        if url.starts_with("postgres://") || url.starts_with("postgresql://") || conninfo {
            return Ok(Location::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(Failure::Usage(
                "the database URL is empty: give `sqlite:PATH`, a path, or `postgres://...`".into(),
            ));
        }
        if let Some((scheme, _)) = url.split_once("://")
            && scheme != "sqlite"
        {
            return Err(Failure::Usage(format!(
                "database URL `{url}`: unknown scheme `{scheme}` (use sqlite:PATH, a path, or postgres://...)"
            )));
        }
        Ok(Location::Sqlite(PathBuf::from(path)))
    }

    /// Opens (creating or migrating as needed). SQLite files are backed up before a migration.
    pub fn open(&self) -> Result<Box<dyn Store>, Failure> {
        Ok(match self {
            Location::Sqlite(path) => Box::new(SqliteStore::open(path)?),
            Location::Postgres(url) => Box::new(PgStore::connect(url)?),
        })
    }

    /// Replaces the database with a backup taken by `kith backup`.
    pub fn restore(&self, backup: &Path) -> Result<(), Failure> {
        if !backup.exists() {
            return Err(Failure::Usage(format!(
                "{}: no such backup file",
                backup.display()
            )));
        }
        match self {
            Location::Sqlite(path) => kith_store_sqlite::restore(backup, path)?,
            Location::Postgres(url) => kith_store_postgres::restore(url, backup)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(
            Location::parse("kith.db").unwrap(),
            Location::Sqlite("kith.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:data/k.db").unwrap(),
            Location::Sqlite("data/k.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:///abs/k.db").unwrap(),
            Location::Sqlite("/abs/k.db".into())
        );
        assert!(matches!(
            Location::parse("postgres://u@h/db").unwrap(),
            Location::Postgres(_)
        ));
        assert!(matches!(
            Location::parse("host=/tmp/pg port=5432 user=postgres dbname=k").unwrap(),
            Location::Postgres(_)
        ));
        assert!(matches!(
            Location::parse("mysql://h/db"),
            Err(Failure::Usage(_))
        ));
        assert!(matches!(Location::parse("sqlite:"), Err(Failure::Usage(_))));
    }
}
