//! Online backup and restore through SQLite's backup API.
//!
//! A copy is always written to a temporary file beside its destination and renamed into place,
//! so a destination is either the old file or the complete new one, never half of each.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kith_store::{StoreError, StoreResult};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::error::{Context, opening, unreachable};
use crate::schema;

/// How long a copy waits for a busy source before giving up.
const COPY_PATIENCE: Duration = Duration::from_secs(30);

/// Copies the database behind `src` (its main schema, one consistent snapshot) to `dest`.
pub(crate) fn copy_database(src: &Connection, dest: &Path) -> StoreResult<()> {
    let tmp = temp_beside(dest);
    let result = copy_to(src, &tmp).and_then(|()| replace(&tmp, dest));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn copy_to(src: &Connection, tmp: &Path) -> StoreResult<()> {
    remove_if_exists(tmp)?;
    let mut out =
        Connection::open(tmp).with_ctx(|| format!("creating the copy {}", tmp.display()))?;
    {
        let backup = Backup::new(src, &mut out)
            .with_ctx(|| format!("starting a backup into {}", tmp.display()))?;
        let started = Instant::now();
        loop {
            // -1 copies every page in one step: one read snapshot of the source, so the copy
            // is consistent even while writers keep committing (WAL).
            match backup
                .step(-1)
                .with_ctx(|| format!("copying the database into {}", tmp.display()))?
            {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked if started.elapsed() < COPY_PATIENCE => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                StepResult::Busy | StepResult::Locked | _ => {
                    return Err(StoreError::backend(
                        format!("copying the database into {}", tmp.display()),
                        "the database stayed locked; try again later",
                    ));
                }
            }
        }
    }
    out.close()
        .map_err(|(_, e)| StoreError::backend(format!("closing the copy {}", tmp.display()), e))
}

/// Renames `tmp` onto `dest`, removing `dest`'s stale WAL files first: SQLite would otherwise
/// replay an old write-ahead log onto the new file.
fn replace(tmp: &Path, dest: &Path) -> StoreResult<()> {
    for suffix in ["-wal", "-shm"] {
        remove_if_exists(&with_suffix(dest, suffix))?;
    }
    std::fs::rename(tmp, dest).map_err(|source| StoreError::Io {
        path: dest.to_path_buf(),
        source,
    })
}

/// Restores `backup` (a file written by `Store::backup`) onto `dest`, replacing it atomically.
/// Nothing may have `dest` open meanwhile (stop `kith serve` first).
pub fn restore(backup: &Path, dest: &Path) -> StoreResult<()> {
    if !backup.is_file() {
        return Err(unreachable(backup, "no such backup file"));
    }
    if same_file(backup, dest) {
        return Err(StoreError::Invalid(format!(
            "cannot restore {} onto itself; name another destination",
            backup.display()
        )));
    }
    let src = Connection::open_with_flags(
        backup,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| opening(backup, "opening the backup", e))?;
    match schema::stored_version(&src, backup)? {
        None => return Err(unreachable(backup, "the file is empty, not a kith backup")),
        Some(found) if found > kith_store::SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema {
                location: backup.display().to_string(),
                found,
                supported: kith_store::SCHEMA_VERSION,
            });
        }
        Some(_) => {}
    }
    let check: String = src
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| opening(backup, "checking the backup", e))?;
    if check != "ok" {
        return Err(unreachable(
            backup,
            format!("the backup is damaged ({check}); use another backup"),
        ));
    }
    copy_database(&src, dest)
}

/// True when both paths name the same file (either may not exist yet).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (normalise(a), normalise(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The absolute path, resolving symlinks of the parts that exist.
pub(crate) fn normalise(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.canonicalize().ok()?,
        _ => std::env::current_dir().ok()?,
    };
    Some(parent.join(path.file_name()?))
}

pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

fn temp_beside(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kith".into());
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    dest.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

fn remove_if_exists(path: &Path) -> StoreResult<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}
