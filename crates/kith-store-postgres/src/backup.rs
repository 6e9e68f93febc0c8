//! Online backup and restore through PostgreSQL's own tools: `pg_dump --format=custom` takes a
//! consistent snapshot while the database stays in use; `pg_restore` puts it back.
//!
//! The tools are looked up in `/usr/lib/postgresql/<newest>/bin` (Debian keeps them there) and
//! then on `PATH`. The connection goes to them through `PG*` environment variables, so that a
//! password never appears on a command line.

use std::path::{Path, PathBuf};
use std::process::Command;

use kith_store::{StoreError, StoreResult};
use postgres::Config;
use postgres::config::Host;

use crate::PgStore;

impl PgStore {
    pub(crate) fn dump(&self, dest: &Path) -> StoreResult<()> {
        let mut cmd = tool("pg_dump");
        connection_env(&mut cmd, self.pool.config());
        cmd.args(["--format=custom", "--no-password", "--file"])
            .arg(dest);
        run(
            cmd,
            "pg_dump",
            &format!("backing up {} to {}", self.pool.location, dest.display()),
        )
    }
}

/// Restores a `pg_dump` custom-format archive (as written by [`kith_store::Store::backup`]) into
/// the database at `url`, replacing the kith tables there. Restore into an empty database, or
/// one no kith process is using.
///
/// The restored rows keep their change sequence numbers; numbers that lie beyond the target
/// cluster's transaction ids (a restore into another cluster) are brought down to the restoring
/// transaction's, so that change readers starting from `Watermark::ZERO` see everything.
pub fn restore(url: &str, file: &Path) -> StoreResult<()> {
    if !file.is_file() {
        return Err(StoreError::Io {
            path: file.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such backup file"),
        });
    }
    let location = crate::redact(url);
    let config: Config = url.parse().map_err(|e| {
        StoreError::Invalid(format!(
            "`{location}` is not a PostgreSQL connection string: {e}"
        ))
    })?;
    let mut cmd = tool("pg_restore");
    connection_env(&mut cmd, &config);
    cmd.args([
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-password",
        "--single-transaction",
        "--dbname",
    ])
    .arg(
        config
            .get_dbname()
            .or(config.get_user())
            .unwrap_or("postgres"),
    )
    .arg(file);
    run(
        cmd,
        "pg_restore",
        &format!("restoring {} into {location}", file.display()),
    )?;

    // Opening migrates an older archive to this kith's schema.
    let store = PgStore::connect(url)?;
    store.write("renumbering restored changes", |tx, xid| {
        for table in [
            "sources",
            "channels",
            "threads",
            "members",
            "identities",
            "activities",
            "tombstones",
        ] {
            tx.execute(
                &format!("UPDATE {table} SET seq = $1 WHERE seq > $1"),
                &[&xid],
            )
            .map_err(|e| crate::db_err(format!("renumbering the change sequence of {table}"), e))?;
        }
        Ok(())
    })
}

/// A PostgreSQL client tool: the newest server installation's copy, else the one on `PATH`
/// (a client older than the server refuses to dump it).
fn tool(name: &str) -> Command {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let version: u32 = e.file_name().to_str()?.parse().ok()?;
                    let path = e.path().join("bin").join(name);
                    path.is_file().then_some((version, path))
                })
                .max_by_key(|(v, _)| *v)
                .map(|(_, p)| p)
        });
    Command::new(newest.unwrap_or_else(|| PathBuf::from(name)))
}

fn connection_env(cmd: &mut Command, config: &Config) {
    for var in ["PGSERVICE", "PGHOSTADDR", "PGPASSFILE", "PGOPTIONS"] {
        cmd.env_remove(var);
    }
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    if !hosts.is_empty() {
        cmd.env("PGHOST", hosts.join(","));
    }
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    if !ports.is_empty() {
        cmd.env("PGPORT", ports.join(","));
    }
    if let Some(user) = config.get_user() {
        cmd.env("PGUSER", user);
    }
    if let Some(password) = config.get_password() {
        cmd.env("PGPASSWORD", String::from_utf8_lossy(password).into_owned());
    }
    if let Some(db) = config.get_dbname() {
        cmd.env("PGDATABASE", db);
    }
}

fn run(mut cmd: Command, program: &str, what: &str) -> StoreResult<()> {
    let out = cmd.output().map_err(|e| StoreError::Io {
        path: PathBuf::from(program),
        source: std::io::Error::new(
            e.kind(),
            format!("cannot run {program} while {what} (install the PostgreSQL client tools): {e}"),
        ),
    })?;
    if !out.status.success() {
        return Err(StoreError::backend(
            what,
            format!(
                "{program} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(())
}
