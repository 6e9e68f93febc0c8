//! A throwaway PostgreSQL cluster: installed if missing (Debian), created in a temporary folder,
//! reachable only through a Unix socket, stopped and removed when dropped.
//!
//! PostgreSQL refuses to run as root, so when xtask runs as root (CI) the server runs as the
//! `postgres` user through `runuser`; otherwise it runs as the current user.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::{run_checked, signals, step};

/// A running cluster. Dropping it stops the server and removes its folder.
pub struct Cluster {
    bin: PathBuf,
    base: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    /// A libpq keyword/value connection string (also accepted by the `postgres` crate).
    pub url: String,
}

impl Cluster {
    /// Installs PostgreSQL if needed and starts a fresh cluster.
    pub fn start() -> Result<Cluster> {
        let bin = ensure_installed()?;
        let as_postgres = is_root();
        let nonce = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let base = std::env::temp_dir().join(format!("kith-pg-{}-{nonce:x}", std::process::id()));
        let data = base.join("data");
        let sock = base.join("sock");
        std::fs::create_dir_all(&sock)
            .with_context(|| format!("cannot create {}", sock.display()))?;
        let mut cluster = Cluster {
            bin,
            base,
            data,
            as_postgres,
            url: String::new(),
        };
        if as_postgres {
            run_checked(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&cluster.base),
            )
            .context(
                "cannot give the cluster folder to the `postgres` user (does that user exist?)",
            )?;
        }

        let mut initdb = cluster.command("initdb");
        run_quiet(
            initdb
                .args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "-D",
                ])
                .arg(&cluster.data),
        )
        .context("initdb failed")?;

        let port = free_port()?;
        let options = format!(
            "-k {} -p {port} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            sock.display()
        );
        let log = cluster.base.join("server.log");
        let mut pg_ctl = cluster.command("pg_ctl");
        pg_ctl
            .args(["-w", "-t", "60", "-D"])
            .arg(&cluster.data)
            .arg("-l")
            .arg(&log)
            .args(["-o", &options, "start"]);
        if let Err(e) = run_quiet(&mut pg_ctl) {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            bail!(
                "{e:#}: PostgreSQL did not start; its log ({}) says:\n{tail}",
                log.display()
            );
        }
        cluster.url = format!(
            "host={} port={port} user=postgres dbname=postgres",
            sock.display()
        );
        Ok(cluster)
    }

    /// A command for one of the server binaries, run as the user that owns the cluster.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        // The postgres user cannot enter root's working directory.
        cmd.current_dir(&self.base);
        cmd
    }

    fn stop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            let mut pg_ctl = self.command("pg_ctl");
            pg_ctl
                .args(["-w", "-D"])
                .arg(&self.data)
                .args(["-m", "fast", "stop"]);
            if let Err(e) = run_quiet(&mut pg_ctl) {
                eprintln!(
                    "xtask: stopping the PostgreSQL cluster at {}: {e:#}",
                    self.data.display()
                );
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.base) {
            eprintln!("xtask: cannot remove {}: {e}", self.base.display());
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `cargo xtask pg`: a cluster for development, until Ctrl-C.
pub fn run_dev(_args: &[String]) -> Result<ExitCode> {
    signals::catch_interrupts();
    step("starting a throwaway PostgreSQL cluster");
    let cluster = Cluster::start()?;
    println!("export KITH_TEST_POSTGRES_URL='{}'", cluster.url);
    eprintln!("PostgreSQL is running; press Ctrl-C to stop it and remove its files.");
    while !signals::interrupted() {
        std::thread::sleep(Duration::from_millis(200));
    }
    step("stopping the cluster");
    drop(cluster);
    Ok(ExitCode::SUCCESS)
}

/// The folder with `initdb` and `pg_ctl`, installing the Debian `postgresql` package when it is
/// missing.
pub fn ensure_installed() -> Result<PathBuf> {
    if let Some(bin) = find_bin_dir() {
        return Ok(bin);
    }
    step("PostgreSQL server binaries not found: installing the `postgresql` package");
    if !is_root() {
        bail!(
            "PostgreSQL is not installed and xtask is not root: run `sudo apt-get install -y postgresql` (or your system's equivalent) and retry"
        );
    }
    let apt = |args: &[&str]| -> Result<()> {
        run_checked(
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    apt(&["update"]).context("apt-get update failed")?;
    apt(&["install", "-y", "--no-install-recommends", "postgresql"])
        .context("installing PostgreSQL with apt-get failed; install the `postgresql` package by hand and retry")?;
    find_bin_dir().context(
        "the `postgresql` package is installed but no /usr/lib/postgresql/*/bin/initdb exists",
    )
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
fn find_bin_dir() -> Option<PathBuf> {
    let entries = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(v, _)| *v)
        .map(|(_, bin)| bin)
}

pub fn is_root() -> bool {
    // `id -u` rather than libc: xtask stays dependency-free.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16> {
    // The server listens on no TCP address; the port only names its socket file. Asking the OS
    // for a free one still keeps it from clashing with a real server's socket name.
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Runs a command, showing its output only when it fails.
fn run_quiet(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
