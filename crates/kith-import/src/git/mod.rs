//! `git`: a Git repository's history (`docs/formats/git.md`). Every commit reachable from any
//! ref is a `contribution` by its author; credit trailers (`Co-authored-by`, `Reviewed-by`,
//! ...) are contributions of the people they name. Streams the raw commits that
//! `git rev-list --header` prints (never holding all commits), or with a commit-graph those
//! that `git cat-file --batch` processes inflate on every core (`batch.rs`), and does the rest
//! itself: `.mailmap` (`mailmap.rs`), trailers (`trailers.rs`), identities and bots (here).

mod batch;
mod log;
mod mailmap;
mod trailers;
mod writer;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::Problem;
use serde_json::{Map, Value};

use crate::{Format, ImportError, InputFile, ReadContext, RecordSink};
use mailmap::Mailmap;
pub use writer::GitWriter;

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
    let mailmap = read_mailmap(dir);
    if let Some(workers) = batch::workers(dir, &|args| git_output(dir, args)) {
        return read_in_parallel(dir, display, workers, &mailmap, &source, ctx, sink);
    }
    let mut child = git(dir)
        // Git flushes after every commit when its output is a pipe: one write and one wake-up
        // of this reader per commit. Fully buffered output cuts git's system time by 80 %.
        .env("GIT_FLUSH", "0")
        .arg("rev-list")
        .args(WALK)
        .arg("--header")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ImportError::io(dir, e))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ImportError::io(
            dir,
            std::io::Error::other("git's output could not be read"),
        ));
    };
    // Git writes its output 4 KiB at a time, and with the default 64 KiB pipe it blocks, and
    // the reader wakes, every few dozen commits; 1 MiB lets both run longer between switches
    // (on two cores they share them with the writer). Best effort: the limit may be lower.
    #[cfg(target_os = "linux")]
    let _ = rustix::pipe::fcntl_setpipe_size(&stdout, 1 << 20);
    let errors = batch::drain(Some(stderr));
    let mut reader = BufReader::with_capacity(1 << 20, stdout);
    let result = read_history(&mut reader, &mailmap, &source, display, ctx, sink);
    // Whatever happened, let git finish (it may be blocked writing) before waiting for it.
    drop(reader);
    let status = child.wait().map_err(|e| ImportError::io(dir, e))?;
    let stderr = errors.join().unwrap_or_default();
    if !status.success() {
        // A repository git cannot walk (a corrupt or missing object) is bad input, like a
        // malformed file: nothing is imported, and git's own words say what is wrong.
        return Err(malformed(display, walk_failure(status, &stderr)));
    }
    result.map(drop)
}

/// What to say when `git rev-list` failed: its exit status and its own words.
fn walk_failure(status: std::process::ExitStatus, stderr: &str) -> String {
    format!(
        "`git rev-list` could not read the history ({status}): {}",
        stderr.trim()
    )
}

/// A history that is not what Git should give (kith's or Git's words in `message`), in the
/// repository shown as `display`.
fn malformed(display: &str, message: String) -> ImportError {
    ImportError::Malformed {
        file: display.to_owned(),
        line: 0,
        column: 0,
        message,
    }
}

/// What turns the parsed commits of one repository into activities: [`commit`] with the
/// repository's mailmap, source, base URL and the people met so far.
fn commit_writer<'a>(
    mailmap: &'a Mailmap,
    source: &'a str,
    display: &'a str,
    ctx: &ReadContext,
    sink: &'a mut dyn RecordSink,
) -> impl FnMut(&log::Commit<'_>) + 'a {
    let base = ctx
        .base_url
        .as_deref()
        .map(|b| b.trim_end_matches('/').to_owned());
    let mut people = People::default();
    move |c| {
        commit(
            c,
            mailmap,
            &mut people,
            source,
            display,
            base.as_deref(),
            sink,
        )
    }
}

/// Whether the history at `dir` is read on several cores (it has a commit-graph and the
/// machine several cores; `batch.rs`). For tests and benchmarks.
#[doc(hidden)]
pub fn reads_in_parallel(dir: &Path) -> bool {
    batch::workers(dir, &|args| git_output(dir, args)).is_some()
}

/// The commits read: every one reachable from a ref, except stashes and notes.
const WALK: [&str; 3] = ["--exclude=refs/stash", "--exclude=refs/notes/*", "--all"];

/// [`read_repository`] on several cores (`batch.rs`): the same commits in the same order.
fn read_in_parallel(
    dir: &Path,
    display: &str,
    workers: usize,
    mailmap: &Mailmap,
    source: &str,
    ctx: &ReadContext,
    sink: &mut dyn RecordSink,
) -> Result<(), ImportError> {
    let command = || git(dir);
    let mut run =
        batch::Batch::start(&command, &WALK, workers).map_err(|e| ImportError::io(dir, e))?;
    let mut write = commit_writer(mailmap, source, display, ctx, sink);
    let mut each = |object: batch::Object| {
        let text = match std::str::from_utf8(&object.text) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(&object.text),
        };
        let again = log::foreign_encoding(&object.text)
            .then(|| batch::reencoded(&command, &object.sha))
            .flatten();
        let c = match &again {
            Some(record) if log::starts_commit(record.as_bytes()) => log::parse(record),
            _ => batch::parse(&object.sha, &text),
        };
        write(&c);
    };
    let read = run.read(&mut each);
    let failed = run.finish().map_err(|e| ImportError::io(dir, e))?;
    // A history git cannot walk is bad input, as in the serial read: nothing is imported.
    if let Some(message) = failed {
        return Err(malformed(display, message));
    }
    match read {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(message)) => Err(malformed(display, message)),
        Err(e) => Err(ImportError::io(Path::new(display), e)),
    }
}

/// The mailmap Git would use for the repository at `dir`: the work tree's `.mailmap` (not
/// through a symbolic link), then the blob `mailmap.blob` names (default `HEAD:.mailmap`, so
/// that a `.git` folder or a bare repository reads like its work tree), then the file
/// `mailmap.file` names.
fn read_mailmap(dir: &Path) -> Mailmap {
    let mut mailmap = Mailmap::default();
    if let Some(top) = git_output(dir, &["rev-parse", "--show-toplevel"]) {
        let path = Path::new(&top).join(".mailmap");
        let is_file = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
        if is_file && let Ok(text) = std::fs::read(&path) {
            mailmap.add(&text);
        }
    }
    let blob = git_output(dir, &["config", "--get", "mailmap.blob"])
        .unwrap_or_else(|| "HEAD:.mailmap".to_owned());
    if let Ok(out) = git(dir)
        .args(["cat-file", "blob", &blob])
        .stderr(Stdio::null())
        .output()
        && out.status.success()
    {
        mailmap.add(&out.stdout);
    }
    if let Some(file) = git_output(dir, &["config", "--path", "--get", "mailmap.file"])
        && let Ok(text) = std::fs::read(dir.join(file))
    {
        mailmap.add(&text);
    }
    mailmap
}

/// Reads `git rev-list --header` output into activities; returns the number of commits.
/// A stream that is not such output (it does not start with a commit, or ends inside one) is
/// malformed; a commit without a readable author or author date is skipped and reported.
fn read_history(
    log: &mut dyn BufRead,
    mailmap: &Mailmap,
    source: &str,
    display: &str,
    ctx: &ReadContext,
    sink: &mut dyn RecordSink,
) -> Result<u64, ImportError> {
    let mut write = commit_writer(mailmap, source, display, ctx, sink);
    let mut each = |record: &str| write(&log::parse(record));
    match log::records(log, &mut each) {
        Ok(Ok(n)) => Ok(n),
        Ok(Err(message)) => Err(malformed(display, message)),
        Err(e) => Err(ImportError::io(Path::new(display), e)),
    }
}

/// The fuzz target's entry (`fuzz/`): `git rev-list --header` output and a `.mailmap` given
/// as bytes, read as a repository's history would be.
#[doc(hidden)]
pub fn read_history_bytes(
    log: &[u8],
    mailmap: &[u8],
    sink: &mut dyn RecordSink,
) -> Result<u64, ImportError> {
    let mut map = Mailmap::default();
    map.add(mailmap);
    let mut log = log;
    read_history(
        &mut log,
        &map,
        "repository",
        "repository",
        &ReadContext::default(),
        sink,
    )
}

/// Git's `%aI`: the date in its own offset, `+00:00` for UTC.
fn iso_date(secs: i64, offset_min: i16) -> String {
    let ts = Timestamp {
        secs,
        micros: 0,
        offset_min,
    };
    let text = ts.to_rfc3339();
    match text.strip_suffix('Z') {
        Some(t) => format!("{t}+00:00"),
        None => text,
    }
}

fn commit(
    c: &log::Commit<'_>,
    mailmap: &Mailmap,
    people: &mut People,
    source: &str,
    file: &str,
    base_url: Option<&str>,
    sink: &mut dyn RecordSink,
) {
    let sha = c.sha;
    let skip = |sink: &mut dyn RecordSink, reason: &str, message: String| {
        sink.skip(Problem {
            file: file.to_owned(),
            line: 0,
            location: Some(sha.to_owned()),
            reason: reason.into(),
            message,
        });
    };
    let Some(author) = &c.author else {
        skip(sink, "bad commit", format!("commit {sha} has no author"));
        return;
    };
    let Some((secs, offset_min)) = author.date else {
        skip(
            sink,
            "bad date",
            format!(
                "commit {sha} has an unreadable author date `{}`",
                author.date_text
            ),
        );
        return;
    };
    let ts = Timestamp {
        secs,
        micros: 0,
        offset_min,
    };
    let (a_name, a_email) = mailmap.map(author.name, author.email);
    let mut attrs = Map::new();
    attrs.insert("commit".into(), Value::String(sha.to_owned()));
    if c.parents > 1 {
        attrs.insert("merge".into(), Value::Bool(true));
    }
    if let Some(committer) = &c.committer {
        let (c_name, c_email) = mailmap.map(committer.name, committer.email);
        if !c_email.eq_ignore_ascii_case(a_email) || c_name != a_name {
            let mut who = Map::new();
            who.insert("name".into(), Value::String(c_name.to_owned()));
            who.insert("email".into(), Value::String(c_email.to_owned()));
            if committer.date != author.date
                && let Some((s, o)) = committer.date
            {
                who.insert("date".into(), Value::String(iso_date(s, o)));
            }
            attrs.insert("committer".into(), Value::Object(who));
        }
    }
    let url = base_url.map(|b| format!("{b}/commit/{sha}"));
    let mut activity = Activity::new(
        source,
        sha.to_owned(),
        Kind::Contribution,
        ts,
        Some(people.get(a_name, a_email)),
    );
    let text = c.message.trim();
    activity.text = (!text.is_empty()).then(|| text.to_owned());
    activity.url = url.clone();
    activity.attrs = attrs;
    let author_id = activity
        .author
        .as_ref()
        .map(|a| a.id.clone())
        .unwrap_or_default();
    sink.activity(activity);

    if !may_credit(&c.message) {
        return;
    }
    let mut credited = BTreeSet::new();
    for trailer in trailers::trailers(&c.message) {
        let Some(role) = CREDIT_TRAILERS
            .iter()
            .find(|t| t.eq_ignore_ascii_case(trailer.token))
        else {
            continue;
        };
        let (name, email) = split_person(&trailer.value);
        if name.is_empty() && email.is_empty() {
            continue;
        }
        let (name, email) = mailmap.map(&name, &email);
        let who = person(name, email);
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
        a.reply_to = Some(sha.to_owned());
        a.to = vec![author_id.clone()];
        a.url = url.clone();
        a.attrs
            .insert("role".into(), Value::String((*role).to_owned()));
        a.attrs
            .insert("commit".into(), Value::String(sha.to_owned()));
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
    let name = name.trim();
    let local = email.split('@').next().unwrap_or("");
    // `b` itself, `b[...]` (GitHub apps: `dependabot[bot]`), `123+b` (noreply addresses).
    let named = |b: &str| {
        name.eq_ignore_ascii_case(b)
            || starts_with_ignore_case(name, b) && name.as_bytes().get(b.len()) == Some(&b'[')
            || local == b
            || local
                .strip_suffix(b)
                .is_some_and(|before| before.ends_with('+'))
            || local
                .match_indices(b)
                .any(|(i, _)| local.as_bytes().get(i + b.len()) == Some(&b'['))
    };
    ends_with_ignore_case(name, "[bot]")
        || local.ends_with("[bot]")
        || ends_with_ignore_case(name, "-bot")
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

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// Whether `message` has `-by` in any case: every credit trailer ends so, and most messages
/// have none, so the trailer block is not looked for.
fn may_credit(message: &str) -> bool {
    message
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == b'-' && w[1] | 0x20 == b'b' && w[2] | 0x20 == b'y')
}

/// Authors already made, by name and address as the commit has them (after `.mailmap`): a
/// history has far fewer people than commits. Bounded: cleared when full.
#[derive(Default)]
struct People {
    known: HashMap<u64, (String, String, Author)>,
}

const PEOPLE: usize = 1 << 16;

impl People {
    fn get(&mut self, name: &str, email: &str) -> Author {
        let key = xxhash_rust::xxh3::xxh3_64_with_seed(name.as_bytes(), email.len() as u64)
            ^ xxhash_rust::xxh3::xxh3_64(email.as_bytes());
        if let Some((n, e, author)) = self.known.get(&key)
            && n == name
            && e == email
        {
            return author.clone();
        }
        let author = person(name, email);
        if self.known.len() >= PEOPLE {
            self.known.clear();
        }
        self.known
            .insert(key, (name.to_owned(), email.to_owned(), author.clone()));
        author
    }
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
