//! `git`: a Git repository's history (`docs/formats/git.md`). Every commit reachable from any
//! ref is a `contribution` by its author; credit trailers (`Co-authored-by`, `Reviewed-by`,
//! ...) are contributions of the people they name. Reads by streaming the output of
//! `git log` (never holding all commits); authors and committers go through `.mailmap`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::Problem;
use serde_json::{Map, Value};

use crate::{ExportWriter, Format, ImportError, InputFile, ReadContext, RecordSink};

pub struct Git;

/// The trailers that credit someone, as written in docs and kept in `attrs.role`.
const CREDIT_TRAILERS: [&str; 8] = [
    "Co-authored-by",
    "Reviewed-by",
    "Helped-by",
    "Reported-by",
    "Suggested-by",
    "Mentored-by",
    "Acked-by",
    "Tested-by",
];

/// Fields of one commit in `git log` output, each ended by a NUL byte.
const FORMAT: &str = "--format=tformat:%H%x00%P%x00%aN%x00%aE%x00%aI%x00%cN%x00%cE%x00%cI%x00%B%x00%(trailers:only,unfold)%x00";
const FIELDS: usize = 10;

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null());
    cmd
}

fn git_output(dir: &Path, args: &[&str]) -> Option<String> {
    let out = git(dir).args(args).stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Format for Git {
    fn name(&self) -> &'static str {
        "git"
    }

    fn summary(&self) -> &'static str {
        "a local Git repository (work tree or .git folder): commits and credit trailers as contributions"
    }

    fn accepts(&self, _relative: &str) -> bool {
        false
    }

    /// Each path is one repository, read whole.
    fn inputs(&self, paths: &[PathBuf]) -> Result<Vec<InputFile>, ImportError> {
        let mut out = Vec::new();
        for path in paths {
            if !path.is_dir() {
                return Err(ImportError::Usage(format!(
                    "{}: not a folder; `kith import git` takes the path of a Git repository (its work tree or its .git folder)",
                    path.display()
                )));
            }
            if git_output(path, &["rev-parse", "--git-dir"]).is_none() {
                return Err(ImportError::Usage(format!(
                    "{}: not a Git repository (or `git` is not installed); give the folder of a clone or its .git folder",
                    path.display()
                )));
            }
            out.push(InputFile::single(path)?);
        }
        if out.is_empty() {
            return Err(ImportError::Usage("no repository given".into()));
        }
        Ok(out)
    }

    fn read(
        &self,
        inputs: &[InputFile],
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        for input in inputs {
            read_repository(&input.path, &input.display(), ctx, sink)?;
        }
        Ok(())
    }
}

/// `--source`, else the origin remote's repository name, else the folder's name (without
/// `.git`; the parent's name for a `.git` folder).
fn source_name(dir: &Path, ctx: &ReadContext) -> String {
    if let Some(s) = &ctx.source {
        return s.clone();
    }
    let from_url = git_output(dir, &["config", "--get", "remote.origin.url"]).and_then(|url| {
        let last = url
            .trim_end_matches('/')
            .rsplit(['/', ':'])
            .next()?
            .trim_end_matches(".git")
            .to_owned();
        (!last.is_empty()).then_some(last)
    });
    from_url.unwrap_or_else(|| {
        let abs = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
        let name = abs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = if name == ".git" {
            abs.parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            name
        };
        let name = name.trim_end_matches(".git").to_owned();
        if name.is_empty() {
            "git".to_owned()
        } else {
            name
        }
    })
}

fn read_repository(
    dir: &Path,
    display: &str,
    ctx: &ReadContext,
    sink: &mut dyn RecordSink,
) -> Result<(), ImportError> {
    let source = source_name(dir, ctx);
    let mut child = git(dir)
        // `mailmap.blob`: a `.git` folder or bare repository has no work tree `.mailmap`; the
        // committed one applies then too.
        .args([
            "-c",
            "log.showSignature=false",
            "-c",
            "mailmap.blob=HEAD:.mailmap",
            "log",
            "--no-color",
            "--exclude=refs/stash",
            "--exclude=refs/notes/*",
            "--all",
            FORMAT,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ImportError::io(dir, e))?;
    let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ImportError::io(
            dir,
            std::io::Error::other("git's output could not be read"),
        ));
    };
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut fields: Vec<String> = Vec::with_capacity(FIELDS);
    let mut buf = Vec::with_capacity(4096);
    let mut commits = 0u64;
    let result = loop {
        buf.clear();
        match reader.read_until(0, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(_) => {}
            Err(e) => break Err(ImportError::io(dir, e)),
        }
        if buf.last() == Some(&0) {
            buf.pop();
        }
        let mut field = String::from_utf8_lossy(&buf).into_owned();
        if fields.is_empty() {
            // tformat ends each commit with a newline, which starts the next commit's first field.
            field = field.trim_start_matches('\n').to_owned();
        }
        fields.push(field);
        if fields.len() == FIELDS {
            commits += 1;
            commit(&fields, &source, display, ctx, sink);
            fields.clear();
        }
    };
    let status = child.wait().map_err(|e| ImportError::io(dir, e))?;
    let stderr = errors.join().unwrap_or_default();
    result?;
    if !status.success() {
        return Err(ImportError::io(
            dir,
            std::io::Error::other(format!("`git log` failed ({status}): {}", stderr.trim())),
        ));
    }
    if fields.len() > 1 || fields.first().is_some_and(|f| !f.trim().is_empty()) {
        return Err(ImportError::Malformed {
            file: display.to_owned(),
            line: 0,
            column: 0,
            message: format!(
                "`git log` output ended inside commit {} (after {commits} commits)",
                fields[0]
            ),
        });
    }
    Ok(())
}

fn commit(f: &[String], source: &str, file: &str, ctx: &ReadContext, sink: &mut dyn RecordSink) {
    let [
        sha,
        parents,
        a_name,
        a_email,
        a_date,
        c_name,
        c_email,
        c_date,
        message,
        trailers,
    ] = f
    else {
        return;
    };
    let Ok(ts) = Timestamp::parse_rfc3339(a_date) else {
        sink.skip(Problem {
            file: file.to_owned(),
            line: 0,
            location: Some(sha.clone()),
            reason: "bad date".into(),
            message: format!("commit {sha} has an unreadable author date `{a_date}`"),
        });
        return;
    };
    let parents = parents.split_whitespace().count();
    let mut attrs = Map::new();
    attrs.insert("commit".into(), Value::String(sha.clone()));
    if parents > 1 {
        attrs.insert("merge".into(), Value::Bool(true));
    }
    if !c_email.eq_ignore_ascii_case(a_email) || c_name != a_name {
        let mut committer = Map::new();
        committer.insert("name".into(), Value::String(c_name.clone()));
        committer.insert("email".into(), Value::String(c_email.clone()));
        if c_date != a_date {
            committer.insert("date".into(), Value::String(c_date.clone()));
        }
        attrs.insert("committer".into(), Value::Object(committer));
    }
    let url = ctx
        .base_url
        .as_ref()
        .map(|b| format!("{}/commit/{sha}", b.trim_end_matches('/')));
    let mut activity = Activity::new(
        source,
        sha.clone(),
        Kind::Contribution,
        ts,
        Some(person(a_name, a_email)),
    );
    activity.text = Some(message.trim().to_owned()).filter(|t| !t.is_empty());
    activity.url = url.clone();
    activity.attrs = attrs;
    let author_id = activity
        .author
        .as_ref()
        .map(|a| a.id.clone())
        .unwrap_or_default();
    sink.activity(activity);

    let mut credited = BTreeSet::new();
    for line in trailers.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let Some(role) = CREDIT_TRAILERS
            .iter()
            .find(|t| t.eq_ignore_ascii_case(key.trim()))
        else {
            continue;
        };
        let (name, email) = split_person(value.trim());
        if name.is_empty() && email.is_empty() {
            continue;
        }
        let who = person(&name, &email);
        let key = format!(
            "{sha}:{}:{}",
            role.to_ascii_lowercase(),
            if email.is_empty() {
                who.id.clone()
            } else {
                email.to_lowercase()
            }
        );
        if !credited.insert(key.clone()) {
            continue;
        }
        let mut a = Activity::new(source, key, Kind::Contribution, ts, Some(who));
        a.reply_to = Some(sha.clone());
        a.to = vec![author_id.clone()];
        a.url = url.clone();
        a.attrs
            .insert("role".into(), Value::String((*role).to_owned()));
        a.attrs.insert("commit".into(), Value::String(sha.clone()));
        sink.activity(a);
    }
}

/// `Jane Doe <jane@example.org>` → name and address; a bare address or a bare name also work.
fn split_person(value: &str) -> (String, String) {
    match (value.find('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => (
            value[..a].trim().trim_matches('"').to_owned(),
            value[a + 1..b].trim().to_owned(),
        ),
        _ if value.contains('@') && !value.contains(' ') => (String::new(), value.to_owned()),
        _ => (value.to_owned(), String::new()),
    }
}

/// A Git identity: the id is the e-mail address in lower case (the name when there is none);
/// GitHub noreply addresses give the login as handle; bots are recognised by name and address.
fn person(name: &str, email: &str) -> Author {
    let email_lower = email.trim().to_lowercase();
    let id = if email_lower.is_empty() {
        format!("name:{}", name.trim().to_lowercase())
    } else {
        email_lower.clone()
    };
    let mut author = Author::new(id);
    author.name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
    author.email = Some(email.trim().to_owned()).filter(|e| !e.is_empty());
    author.handle = github_login(&email_lower);
    if is_bot(name, &email_lower) {
        author.bot = Some(true);
    }
    author
}

/// `123+login@users.noreply.github.com` or `login@users.noreply.github.com` → `login`.
fn github_login(email: &str) -> Option<String> {
    let local = email.strip_suffix("@users.noreply.github.com")?;
    let login = local.split_once('+').map_or(local, |(_, l)| l);
    (!login.is_empty()).then(|| login.to_owned())
}

const BOT_NAMES: [&str; 14] = [
    "dependabot",
    "renovate",
    "github-actions",
    "bors",
    "greenkeeper",
    "snyk-bot",
    "pre-commit-ci",
    "mergify",
    "imgbot",
    "allcontributors",
    "codecov",
    "semantic-release-bot",
    "weblate",
    "web-flow",
];

fn is_bot(name: &str, email: &str) -> bool {
    let name = name.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or("");
    let named = |b: &str| {
        name == b
            || name.starts_with(&format!("{b}["))
            || local == b
            || local.ends_with(&format!("+{b}"))
            || local.contains(&format!("{b}["))
    };
    name.ends_with("[bot]")
        || local.ends_with("[bot]")
        || name.ends_with("-bot")
        || local.ends_with("-bot")
        || BOT_NAMES.iter().any(|b| named(b))
        || matches!(
            email,
            "action@github.com"
                | "actions@github.com"
                | "noreply@github.com"
                | "bot@renovateapp.com"
        )
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bots_and_github_logins_are_recognised() {
        assert!(is_bot(
            "dependabot[bot]",
            "49699333+dependabot[bot]@users.noreply.github.com"
        ));
        assert!(is_bot(
            "renovate[bot]",
            "29139614+renovate[bot]@users.noreply.github.com"
        ));
        assert!(is_bot("github-actions", "action@github.com"));
        assert!(is_bot("bors", "bors@rust-lang.org"));
        assert!(!is_bot("Jane Doe", "jane@example.org"));
        assert!(!is_bot("Borsalino Smith", "borsalino@example.org"));
        assert!(!is_bot("Renovate Smith", "rsmith@example.org"));
        assert_eq!(
            github_login("123+jane-doe@users.noreply.github.com").as_deref(),
            Some("jane-doe")
        );
        assert_eq!(
            github_login("jane@users.noreply.github.com").as_deref(),
            Some("jane")
        );
        assert_eq!(github_login("jane@example.org"), None);
    }

    #[test]
    fn trailer_values_split_into_name_and_address() {
        assert_eq!(
            split_person("Jane Doe <jane@example.org>"),
            ("Jane Doe".into(), "jane@example.org".into())
        );
        assert_eq!(
            split_person("jane@example.org"),
            (String::new(), "jane@example.org".into())
        );
        assert_eq!(split_person("Jane Doe"), ("Jane Doe".into(), String::new()));
    }
}
