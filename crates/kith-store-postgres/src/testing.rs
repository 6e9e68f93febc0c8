//! Throwaway databases for tests and benchmarks that need a real server.
//!
//! `KITH_TEST_POSTGRES_URL` names a server where the tests may create and drop databases
//! (`cargo xtask test` starts one and sets it). When it is unset, [`TestServer::from_env`]
//! prints a skip line and tests return early, so that a plain `cargo test` passes without
//! PostgreSQL.
//!
//! The tests of one test binary that use a `TestServer` run one at a time (the server holds a
//! process-wide lock while it lives). The change feed's horizon leaves out transactions of
//! other databases only while `pg_stat_activity` still shows them; a neighbouring test's
//! `CREATE DATABASE` that ends in between holds one read back (safe, and documented in
//! `changes.rs`), which would make a test that reads once and expects everything flaky.

use std::sync::PoisonError;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

use postgres::{Client, NoTls};

use crate::PgStore;

/// The environment variable naming the test server.
pub const URL_VAR: &str = "KITH_TEST_POSTGRES_URL";

/// A server on which each test gets fresh databases, dropped again with the `TestServer`.
pub struct TestServer {
    url: String,
    created: Mutex<Vec<String>>,
    _alone: MutexGuard<'static, ()>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Held by each live [`TestServer`]: one test of a binary on the server at a time.
static ALONE: Mutex<()> = Mutex::new(());

impl TestServer {
    /// The server from `KITH_TEST_POSTGRES_URL`, or `None` after printing why `test` is skipped.
    pub fn from_env(test: &str) -> Option<TestServer> {
        match std::env::var(URL_VAR) {
            Ok(url) if !url.trim().is_empty() => Some(TestServer {
                url,
                created: Mutex::new(Vec::new()),
                // A test that panicked poisons the lock; the next one may still run.
                _alone: ALONE.lock().unwrap_or_else(PoisonError::into_inner),
            }),
            _ => {
                println!("{test}: skipped: {URL_VAR} not set (run cargo xtask test)");
                None
            }
        }
    }

    /// The server's own connection string (its maintenance database).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates an empty database and returns its connection string.
    pub fn fresh_database(&self) -> String {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_micros());
        let name = format!(
            "kith_t_{}_{}_{nonce}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin = self.admin();
        if let Err(e) = admin.batch_execute(&format!("CREATE DATABASE {name}")) {
            panic!(
                "cannot create test database {name} on {}: {e}",
                crate::redact(&self.url)
            );
        }
        self.created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(name.clone());
        with_dbname(&self.url, &name)
    }

    /// A store on a fresh database.
    pub fn fresh_store(&self) -> PgStore {
        let url = self.fresh_database();
        match PgStore::connect(&url) {
            Ok(store) => store,
            Err(e) => panic!("cannot open the test database {}: {e}", crate::redact(&url)),
        }
    }

    fn admin(&self) -> Client {
        match Client::connect(&self.url, NoTls) {
            Ok(c) => c,
            Err(e) => panic!(
                "cannot reach the test server {} ({URL_VAR}): {e}",
                crate::redact(&self.url)
            ),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let names =
            std::mem::take(&mut *self.created.lock().unwrap_or_else(PoisonError::into_inner));
        if names.is_empty() {
            return;
        }
        let Ok(mut admin) = Client::connect(&self.url, NoTls) else {
            return;
        };
        for name in names {
            // Leftovers are harmless: the throwaway cluster of `cargo xtask test` vanishes anyway.
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The same connection string with another database name.
pub fn with_dbname(url: &str, dbname: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (before_query, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        let authority = before_query
            .split_once('/')
            .map_or(before_query, |(a, _)| a);
        match query {
            Some(q) => format!("{scheme}://{authority}/{dbname}?{q}"),
            None => format!("{scheme}://{authority}/{dbname}"),
        }
    } else {
        // In keyword/value strings the last setting of a keyword wins.
        format!("{url} dbname={dbname}")
    }
}

#[cfg(test)]
mod tests {
    use super::with_dbname;

    #[test]
    fn the_database_name_is_replaced_in_both_forms() {
        assert_eq!(
            with_dbname("postgres://u@h:5/postgres", "x"),
            "postgres://u@h:5/x"
        );
        assert_eq!(
            with_dbname("postgres://u@h?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            with_dbname("host=/tmp user=postgres dbname=postgres", "x"),
            "host=/tmp user=postgres dbname=postgres dbname=x"
        );
    }
}
