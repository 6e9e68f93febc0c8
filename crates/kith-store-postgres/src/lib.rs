//! kith's PostgreSQL backend: the [`Store`] for server deployments where several kith processes
//! share one database.
//!
//! ```no_run
//! use kith_store::Store;
//! let store = kith_store_postgres::PgStore::connect("postgres://kith@db.example.org/kith")?;
//! println!("{} activities", store.counts()?.activities);
//! # Ok::<(), kith_store::StoreError>(())
//! ```
//!
//! The schema is the canonical one of `docs/data-model.md`, with the same table and column
//! names as the SQLite backend (epoch seconds as `BIGINT`, booleans as `SMALLINT` 0/1), so that
//! reference SQL runs unchanged on either. It is created or migrated by [`PgStore::connect`].
//!
//! Architecture invariants:
//! - **Blocking only.** The `postgres` crate drives each connection with a private tokio runtime;
//!   calling a `PgStore` from inside an async task panics. Async callers go through
//!   `tokio::task::spawn_blocking`.
//! - **Change sequence with several writers.** Every written row carries `seq`, the writing
//!   transaction's id (`pg_current_xact_id()`). Transactions commit out of id order, so
//!   [`Store::read_changes`] only delivers rows below the oldest transaction still running in
//!   its snapshot (`pg_snapshot_xmin`) and returns that as the watermark: a transaction that
//!   commits late is delivered on the next read instead of being skipped.
//! - **Ingest is set-based.** A batch is `COPY`ed (binary) into a temporary staging table and
//!   merged with one `INSERT ... ON CONFLICT DO UPDATE`; identities, channels and threads are
//!   created with `INSERT ... ON CONFLICT` so that concurrent imports cannot duplicate them.
//! - **No credentials in messages.** Errors and [`Store::describe`] show the connection string
//!   without its password.

mod backup;
mod changes;
mod export;
mod ingest;
mod members;
mod pool;
mod schema;
mod sources;
mod store;
pub mod testing;
mod text;
mod workspace;

use std::time::{SystemTime, UNIX_EPOCH};

use kith_store::{StoreError, StoreResult};
use postgres::types::FromSql;
use postgres::{GenericClient, IsolationLevel, Row, Transaction};

pub use backup::restore;
pub use pool::redact;

use pool::Pool;

/// A kith database on a PostgreSQL server. `Send + Sync`: share one behind an `Arc`; each call
/// borrows a pooled connection.
pub struct PgStore {
    pool: Pool,
    schema_version: u32,
}

impl PgStore {
    /// Connects to `url` (a `postgres://` URL or a libpq `key=value` string), then creates or
    /// migrates the schema. An unreachable server is [`StoreError::Unreachable`]; a database
    /// written by a newer kith is [`StoreError::NewerSchema`].
    pub fn connect(url: &str) -> StoreResult<PgStore> {
        let pool = Pool::new(url)?;
        let schema_version = {
            let mut conn = pool.get()?;
            schema::migrate(&mut conn, &pool.location)?
        };
        Ok(PgStore {
            pool,
            schema_version,
        })
    }

    /// The connection string without credentials.
    pub fn location(&self) -> &str {
        &self.pool.location
    }

    /// Runs `f` in one read-only REPEATABLE READ transaction (one consistent snapshot).
    pub(crate) fn read<T>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| db_err(format!("starting a transaction for {what}"), e))?;
        let out = f(&mut tx)?;
        tx.commit()
            .map_err(|e| db_err(format!("finishing {what}"), e))?;
        Ok(out)
    }

    /// Runs `f` in one read-write transaction, with its id (the `seq` of what it writes).
    pub(crate) fn write<T>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Transaction<'_>, i64) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .transaction()
            .map_err(|e| db_err(format!("starting a transaction for {what}"), e))?;
        let xid = current_xid(&mut tx)?;
        let out = f(&mut tx, xid)?;
        tx.commit()
            .map_err(|e| db_err(format!("committing {what}"), e))?;
        Ok(out)
    }
}

/// A driver error with what kith was doing.
pub(crate) fn db_err(context: impl Into<String>, e: postgres::Error) -> StoreError {
    StoreError::backend(context, e)
}

/// A column of a row, with the column named in the error.
pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, name: &str) -> StoreResult<T> {
    row.try_get(name)
        .map_err(|e| StoreError::backend(format!("reading column `{name}`"), e))
}

/// The id of the current transaction (assigning one): the `seq` of every row it writes.
pub(crate) fn current_xid(client: &mut impl GenericClient) -> StoreResult<i64> {
    let row = client
        .query_one("SELECT pg_current_xact_id()::text::bigint AS xid", &[])
        .map_err(|e| db_err("reading the transaction id", e))?;
    col(&row, "xid")
}

/// Epoch seconds now.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Converts a count or id to the unsigned form the interface uses (rows never hold negatives).
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A bool from a 0/1 column.
pub(crate) fn flag(row: &Row, name: &str) -> StoreResult<bool> {
    let v: i16 = col(row, name)?;
    Ok(v != 0)
}
