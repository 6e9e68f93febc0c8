//! The `git` export writer: generated `contribution` activities as a repository, one empty
//! commit each, streamed into `git fast-import` (for benchmarks and round-trip tests).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use kith_model::{Activity, Kind};

use super::git;
use crate::{ExportWriter, ImportError};

/// Writes `contribution` activities as a Git repository, one empty commit each, through
/// `git fast-import` (streaming). Other kinds have no form in Git and are left out.
pub struct GitWriter;

impl ExportWriter for GitWriter {
    fn name(&self) -> &'static str {
        "git"
    }

    fn write(
        &self,
        activities: &mut dyn Iterator<Item = Activity>,
        dir: &Path,
    ) -> Result<PathBuf, ImportError> {
        std::fs::create_dir_all(dir).map_err(|e| ImportError::io(dir, e))?;
        let init = git(dir)
            .args(["init", "-q", "-b", "main"])
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| ImportError::io(dir, e))?;
        if !init.status.success() {
            return Err(ImportError::io(
                dir,
                std::io::Error::other(format!(
                    "`git init` failed: {}",
                    String::from_utf8_lossy(&init.stderr).trim()
                )),
            ));
        }
        let mut child = git(dir)
            .args(["fast-import", "--quiet"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| ImportError::io(dir, e))?;
        let Some(stdin) = child.stdin.take() else {
            return Err(ImportError::io(
                dir,
                std::io::Error::other("git fast-import's input could not be opened"),
            ));
        };
        let mut out = BufWriter::with_capacity(1 << 20, stdin);
        let mut written = false;
        let mut result = Ok(());
        for a in activities.filter(|a| a.kind == Kind::Contribution) {
            if let Err(e) = fast_import_commit(&mut out, &a) {
                result = Err(e);
                break;
            }
            written = true;
        }
        let flushed = out
            .flush()
            .and_then(|()| out.into_inner().map(drop).map_err(|e| e.into_error()));
        let done = child
            .wait_with_output()
            .map_err(|e| ImportError::io(dir, e))?;
        result.and(flushed).map_err(|e| ImportError::io(dir, e))?;
        if !done.status.success() {
            return Err(ImportError::io(
                dir,
                std::io::Error::other(format!(
                    "`git fast-import` failed: {}",
                    String::from_utf8_lossy(&done.stderr).trim()
                )),
            ));
        }
        if written {
            let _ = git(dir)
                .args(["symbolic-ref", "HEAD", "refs/heads/main"])
                .output();
        }
        Ok(dir.to_owned())
    }
}

fn fast_import_commit(out: &mut impl Write, a: &Activity) -> std::io::Result<()> {
    let (name, email) = match &a.author {
        Some(au) => (
            au.name.clone().unwrap_or_else(|| au.id.clone()),
            au.email.clone().unwrap_or_else(|| {
                format!(
                    "{}@example.invalid",
                    au.id
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                        .collect::<String>()
                )
            }),
        ),
        None => ("unknown".to_owned(), "unknown@example.invalid".to_owned()),
    };
    let clean = |s: &str| {
        s.chars()
            .filter(|c| !matches!(c, '<' | '>' | '\n' | '\0'))
            .collect::<String>()
    };
    let m = i32::from(a.ts.offset_min);
    let zone = format!(
        "{}{:02}{:02}",
        if m < 0 { '-' } else { '+' },
        m.abs() / 60,
        m.abs() % 60
    );
    let text = a
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map_or_else(|| format!("Contribution {}", a.id), str::to_owned);
    let message = format!("{text}\n\nKith-Activity: {}\n", a.id.replace('\n', " "));
    writeln!(out, "commit refs/heads/main")?;
    writeln!(
        out,
        "author {} <{}> {} {zone}",
        clean(&name),
        clean(&email),
        a.ts.secs
    )?;
    writeln!(
        out,
        "committer {} <{}> {} {zone}",
        clean(&name),
        clean(&email),
        a.ts.secs
    )?;
    writeln!(out, "data {}", message.len())?;
    out.write_all(message.as_bytes())?;
    writeln!(out)
}
