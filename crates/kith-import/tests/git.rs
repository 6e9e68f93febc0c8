//! The `git` importer: a small repository made by the test (trailers, a .mailmap, a bot, a
//! merge) against its golden output, source names, usage errors, and the export writer's round
//! trip through `git fast-import`.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kith_import::{ImportError, ReadContext};
use kith_model::{Activity, Kind};
use support::{Collect, golden, render_activities, round_trip};

const FORMAT: &kith_import::git::Git = &kith_import::git::Git;

fn read(paths: &[PathBuf], ctx: &ReadContext) -> Result<Collect, ImportError> {
    support::read(FORMAT, paths, ctx)
}

/// `git ARGS` in `dir` for what is not a commit (init, config, commit-graph): Jane, a fixed date.
fn git_in(dir: &Path, args: &[&str]) {
    run(dir, args, JANE, JANE, "2024-03-01T10:00:00Z");
}

/// True when the machine has the cores the parallel read needs; says so when it has not.
fn two_cores() -> bool {
    let ok = std::thread::available_parallelism().map_or(1, usize::from) >= 2;
    if !ok {
        eprintln!("skipped: the parallel read needs two cores");
    }
    ok
}

/// Runs git in `dir` with a fixed identity and clock and no user or system configuration.
fn run(dir: &Path, args: &[&str], author: (&str, &str), committer: (&str, &str), date: &str) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", author.0)
        .env("GIT_AUTHOR_EMAIL", author.1)
        .env("GIT_COMMITTER_NAME", committer.0)
        .env("GIT_COMMITTER_EMAIL", committer.1)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const JANE_OLD: (&str, &str) = ("jane", "jane@old.example");
const JANE: (&str, &str) = ("Jane Doe", "jane@example.org");
const BOB: (&str, &str) = ("Bob Maintainer", "bob@example.org");
const DEPENDABOT: (&str, &str) = (
    "dependabot[bot]",
    "49699333+dependabot[bot]@users.noreply.github.com",
);

/// A repository with a .mailmap, credit trailers, a committer who is not the author, a bot
/// commit and a merge.
fn make_repository(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    run(
        dir,
        &["init", "-q", "-b", "main"],
        JANE,
        JANE,
        "2024-03-01T10:00:00+01:00",
    );
    std::fs::write(dir.join("README"), "widgets\n").unwrap();
    std::fs::write(
        dir.join(".mailmap"),
        "Jane Doe <jane@example.org> <jane@old.example>\n",
    )
    .unwrap();
    run(
        dir,
        &["add", "."],
        JANE_OLD,
        JANE_OLD,
        "2024-03-01T10:00:00+01:00",
    );
    run(
        dir,
        &["commit", "-q", "-m", "Add README"],
        JANE_OLD,
        JANE_OLD,
        "2024-03-01T10:00:00+01:00",
    );
    std::fs::write(dir.join("lib.txt"), "code\n").unwrap();
    run(dir, &["add", "."], JANE, BOB, "2024-03-02T11:00:00+01:00");
    let message = "Add the widget parser\n\nParses widgets.\n\nCo-authored-by: Carol <carol@example.org>\nReviewed-by: Bob Maintainer <bob@example.org>\nTested-by: Dave <123+dave@users.noreply.github.com>\nSigned-off-by: Jane Doe <jane@example.org>\nCo-authored-by: Carol <carol@example.org>";
    run(
        dir,
        &["commit", "-q", "-m", message],
        JANE,
        BOB,
        "2024-03-02T11:00:00+01:00",
    );
    run(
        dir,
        &["checkout", "-q", "-b", "deps"],
        BOB,
        BOB,
        "2024-03-03T09:00:00Z",
    );
    std::fs::write(dir.join("deps.txt"), "foo 1.2\n").unwrap();
    run(
        dir,
        &["add", "."],
        DEPENDABOT,
        DEPENDABOT,
        "2024-03-03T09:00:00Z",
    );
    run(
        dir,
        &["commit", "-q", "-m", "Bump foo from 1.1 to 1.2"],
        DEPENDABOT,
        DEPENDABOT,
        "2024-03-03T09:00:00Z",
    );
    run(
        dir,
        &["checkout", "-q", "main"],
        BOB,
        BOB,
        "2024-03-03T09:00:00Z",
    );
    run(
        dir,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge branch 'deps'",
            "deps",
        ],
        BOB,
        BOB,
        "2024-03-04T12:00:00-05:00",
    );
}

#[test]
fn hand_made_repository_matches_golden_output() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("widgets");
    make_repository(&repo);
    let out = read(std::slice::from_ref(&repo), &ReadContext::default()).unwrap();
    assert!(out.problems.is_empty());
    golden("git", &render_activities(&out.activities));
    let a = &out.activities;
    assert!(
        a.iter()
            .all(|a| a.kind == Kind::Contribution && a.source == "widgets")
    );
    assert_eq!(
        a.len(),
        4 + 3,
        "four commits and three credit trailers (Signed-off-by and a repeated trailer do not count)"
    );
    // .mailmap: the old address is Jane's.
    let readme = a
        .iter()
        .find(|x| x.text.as_deref() == Some("Add README"))
        .unwrap();
    assert_eq!(readme.author.as_ref().unwrap().id, "jane@example.org");
    // Committer differs from author: kept in attrs; trailers credit the people they name.
    let parser = a
        .iter()
        .find(|x| {
            x.text
                .as_deref()
                .is_some_and(|t| t.starts_with("Add the widget parser"))
        })
        .unwrap();
    assert_eq!(parser.attrs["committer"]["email"], "bob@example.org");
    let credits: Vec<_> = a
        .iter()
        .filter(|x| x.reply_to.as_deref() == Some(parser.id.as_str()))
        .map(|x| {
            (
                x.attrs["role"].as_str().unwrap(),
                x.author.as_ref().unwrap().id.as_str(),
                x.id.clone(),
            )
        })
        .collect();
    assert_eq!(
        credits,
        [
            (
                "Co-authored-by",
                "carol@example.org",
                format!("{}:co-authored-by:carol@example.org", parser.id)
            ),
            (
                "Reviewed-by",
                "bob@example.org",
                format!("{}:reviewed-by:bob@example.org", parser.id)
            ),
            (
                "Tested-by",
                "123+dave@users.noreply.github.com",
                format!("{}:tested-by:123+dave@users.noreply.github.com", parser.id)
            ),
        ]
    );
    let dave = a
        .iter()
        .find(|x| x.attrs.get("role").is_some_and(|r| r == "Tested-by"))
        .unwrap();
    assert_eq!(
        dave.author.as_ref().unwrap().handle.as_deref(),
        Some("dave")
    );
    // Bots and merges.
    let bump = a
        .iter()
        .find(|x| x.text.as_deref() == Some("Bump foo from 1.1 to 1.2"))
        .unwrap();
    assert_eq!(bump.author.as_ref().unwrap().bot, Some(true));
    assert_eq!(
        bump.author.as_ref().unwrap().handle.as_deref(),
        Some("dependabot[bot]")
    );
    let merge = a.iter().find(|x| x.attrs.get("merge").is_some()).unwrap();
    assert_eq!(merge.ts.to_rfc3339(), "2024-03-04T12:00:00-05:00");
    // The .git folder reads the same.
    let again = read(&[repo.join(".git")], &ReadContext::default()).unwrap();
    assert_eq!(again.activities, out.activities);
}

#[test]
fn the_origin_remote_names_the_source_and_base_url_makes_links() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("checkout");
    make_repository(&repo);
    run(
        &repo,
        &[
            "remote",
            "add",
            "origin",
            "git@github.com:example/gadgets.git",
        ],
        BOB,
        BOB,
        "2024-03-05T00:00:00Z",
    );
    let ctx = ReadContext {
        base_url: Some("https://github.com/example/gadgets/".into()),
        ..ReadContext::default()
    };
    let out = read(&[repo], &ctx).unwrap();
    assert!(out.activities.iter().all(|a| a.source == "gadgets"));
    let first = &out.activities[0];
    assert_eq!(
        first.url.as_deref(),
        Some(format!("https://github.com/example/gadgets/commit/{}", first.id).as_str())
    );
}

#[test]
fn a_folder_that_is_not_a_repository_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let e = read(&[tmp.path().to_owned()], &ReadContext::default()).unwrap_err();
    assert!(matches!(e, ImportError::Usage(_)), "{e}");
    assert!(e.to_string().contains("not a Git repository"), "{e}");
    let file = tmp.path().join("file.txt");
    std::fs::write(&file, "x").unwrap();
    assert!(matches!(
        read(&[file], &ReadContext::default()),
        Err(ImportError::Usage(_))
    ));
}

#[test]
fn an_empty_repository_has_no_activities() {
    let tmp = tempfile::tempdir().unwrap();
    git_in(tmp.path(), &["init", "-q"]);
    let out = read(&[tmp.path().to_owned()], &ReadContext::default()).unwrap();
    assert!(out.activities.is_empty());
}

#[test]
fn generated_contributions_round_trip_through_fast_import() {
    let (activities, out) = round_trip(&kith_import::git::GitWriter, FORMAT, 20_000, 7, "demo");
    let contributions: Vec<&Activity> = activities
        .iter()
        .filter(|a| a.kind == Kind::Contribution)
        .collect();
    assert!(!contributions.is_empty());
    assert!(out.problems.is_empty());
    let commits: Vec<&Activity> = out
        .activities
        .iter()
        .filter(|a| a.attrs.get("role").is_none())
        .collect();
    assert_eq!(commits.len(), contributions.len());
    // Each commit says which activity it was; time and author survive.
    let by_activity: HashMap<&str, &Activity> = commits
        .iter()
        .map(|c| {
            (
                c.text
                    .as_deref()
                    .unwrap()
                    .rsplit("Kith-Activity: ")
                    .next()
                    .unwrap(),
                *c,
            )
        })
        .collect();
    for c in &contributions {
        let r = by_activity[c.id.as_str()];
        assert_eq!(r.ts, c.ts);
        assert_eq!(r.ts.offset_min, c.ts.offset_min);
        assert_eq!(
            r.author.as_ref().unwrap().name,
            c.author
                .as_ref()
                .unwrap()
                .name
                .clone()
                .or_else(|| Some(c.author.as_ref().unwrap().id.clone()))
        );
    }
}

/// Writes a commit object as given (`git hash-object --literally`, which lets a test make the
/// broken commits real repositories sometimes hold) and points `refs/heads/<branch>` at it.
fn raw_commit(dir: &Path, body: &[u8], branch: &str) -> String {
    use std::io::Write;
    let git = |args: &[&str], input: &[u8]| {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let tree = git(&["hash-object", "-t", "tree", "-w", "--stdin"], b"");
    let mut object = format!("tree {tree}\n").into_bytes();
    object.extend_from_slice(body);
    let sha = git(
        &[
            "hash-object",
            "-t",
            "commit",
            "--literally",
            "-w",
            "--stdin",
        ],
        &object,
    );
    git(&["update-ref", &format!("refs/heads/{branch}"), &sha], b"");
    sha
}

#[test]
fn a_commit_with_an_unreadable_author_date_is_skipped_and_listed_with_its_sha() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("odd");
    make_repository(&repo);
    let bad = raw_commit(
        &repo,
        b"author Jane Doe <jane@example.org> yesterday +0000\ncommitter Jane Doe <jane@example.org> 1709287200 +0000\n\nA commit with a broken date\n",
        "broken-date",
    );
    // Git itself stops a message at a NUL byte; so does the import (the rest is not read).
    let nul = raw_commit(
        &repo,
        b"author Jane Doe <jane@example.org> 1709287200 +0000\ncommitter Jane Doe <jane@example.org> 1709287200 +0000\n\nBefore\0after\n",
        "nul",
    );
    let out = read(&[repo], &ReadContext::default()).unwrap();
    // The four commits of the hand-made repository and their three credits, plus the NUL one.
    assert_eq!(out.activities.len(), 4 + 3 + 1);
    assert!(out.activities.iter().all(|a| a.id != bad));
    let n = out.activities.iter().find(|a| a.id == nul).unwrap();
    assert_eq!(n.text.as_deref(), Some("Before"));
    assert_eq!(out.problems.len(), 1);
    let p = &out.problems[0];
    assert_eq!(p.reason, "bad date");
    assert_eq!(p.location.as_deref(), Some(bad.as_str()));
    assert!(p.message.contains("`yesterday +0000`"), "{}", p.message);
    assert!(p.file.ends_with("odd"), "{}", p.file);
}

#[test]
fn credited_people_go_through_mailmap_and_a_bare_clone_reads_its_committed_mailmap() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("mapped");
    std::fs::create_dir_all(&repo).unwrap();
    git_in(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(
        repo.join(".mailmap"),
        "Carol Jones <carol@example.org> <cj@old.example>\n\
         Jane Doe <jane@example.org> jane <jane@old.example>\n",
    )
    .unwrap();
    git_in(&repo, &["add", "."]);
    run(
        &repo,
        &[
            "commit",
            "-q",
            "-m",
            "Map people\n\nCo-authored-by: cj <cj@old.example>\nReviewed-by: jane <jane@old.example>",
        ],
        JANE_OLD,
        JANE_OLD,
        "2024-03-01T10:00:00Z",
    );
    let out = read(std::slice::from_ref(&repo), &ReadContext::default()).unwrap();
    let people: Vec<(&str, Option<&str>, &str)> = out
        .activities
        .iter()
        .map(|a| {
            let au = a.author.as_ref().unwrap();
            (
                au.id.as_str(),
                au.name.as_deref(),
                a.attrs
                    .get("role")
                    .and_then(|r| r.as_str())
                    .unwrap_or("commit"),
            )
        })
        .collect();
    // The author `jane <jane@old.example>` and both credited people are mapped: by address
    // alone (cj) and by name and address (jane).
    assert_eq!(
        people,
        [
            ("jane@example.org", Some("Jane Doe"), "commit"),
            ("carol@example.org", Some("Carol Jones"), "Co-authored-by"),
            ("jane@example.org", Some("Jane Doe"), "Reviewed-by"),
        ]
    );
    // A bare clone has no work tree: HEAD:.mailmap applies.
    let bare = tmp.path().join("mapped-bare.git");
    let status = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(&repo)
        .arg(&bare)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap();
    assert!(status.success());
    let again = read(&[bare], &ReadContext::default()).unwrap();
    let key = |c: &Collect| -> Vec<(String, Option<kith_model::Author>)> {
        c.activities
            .iter()
            .map(|a| (a.id.clone(), a.author.clone()))
            .collect()
    };
    assert_eq!(key(&again), key(&out));
}

/// A `git rev-list --header` record, for the no-panic properties below: a merge with a
/// signature and credit trailers (one folded over two lines), and a `.mailmap` for its people.
const RECORD: &str = "0123456789abcdef0123456789abcdef01234567\ntree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 0123456789abcdef0123456789abcdef01234567\nparent 0123456789abcdef0123456789abcdef01234567\nauthor jane <jane@old.example> 1709287200 +0100\ncommitter Bob <bob@example.org> 1709290800 -0500\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\n    Merge the parser\n    \n    Body.\n    \n    Co-authored-by: Carol\n     Jones <carol@example.org>\n    Reviewed-by: bob@example.org\n    Signed-off-by: Jane <jane@example.org>\n\0";
const MAILMAP: &str = "Jane Doe <jane@example.org> <jane@old.example>\nCarol J <c@x> Carol Jones <carol@example.org>\n";

#[test]
fn raw_history_bytes_read_like_a_repository() {
    let mut sink = Collect::default();
    let n = kith_import::git::read_history_bytes(RECORD.as_bytes(), MAILMAP.as_bytes(), &mut sink)
        .unwrap();
    assert_eq!(n, 1);
    let people: Vec<(&str, &str)> = sink
        .activities
        .iter()
        .map(|a| {
            let au = a.author.as_ref().unwrap();
            (
                au.id.as_str(),
                a.attrs
                    .get("role")
                    .and_then(|r| r.as_str())
                    .unwrap_or("commit"),
            )
        })
        .collect();
    // The author and the co-author through the mailmap; the reviewer by a bare address.
    assert_eq!(
        people,
        [
            ("jane@example.org", "commit"),
            ("c@x", "Co-authored-by"),
            ("bob@example.org", "Reviewed-by"),
        ]
    );
    assert_eq!(sink.activities[0].attrs["merge"], true);
    assert_eq!(
        sink.activities[0].attrs["committer"]["date"],
        "2024-03-01T06:00:00-05:00"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

    #[test]
    fn any_bytes_as_history_and_mailmap_never_panic(
        log in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024),
        mailmap in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
    ) {
        let _ = kith_import::git::read_history_bytes(&log, &mailmap, &mut Collect::default());
    }

    #[test]
    fn cut_and_mutated_records_never_panic(
        cut in 0usize..2000,
        flips in proptest::collection::vec((0usize..2000, proptest::prelude::any::<u8>()), 0..12),
        map_flips in proptest::collection::vec((0usize..200, proptest::prelude::any::<u8>()), 0..6),
    ) {
        let mut log = RECORD.repeat(2).into_bytes();
        for (at, b) in flips {
            support::flip_wrapping(&mut log, at, b);
        }
        log.truncate(cut % (log.len() + 1));
        let mut mailmap = MAILMAP.as_bytes().to_vec();
        for (at, b) in map_flips {
            support::flip_wrapping(&mut mailmap, at, b);
        }
        let _ = kith_import::git::read_history_bytes(&log, &mailmap, &mut Collect::default());
    }
}

/// A history of `n` commits in one branch through `git fast-import`, their messages cycling
/// through the shapes Git prints differently from how it stores them.
fn odd_history(dir: &Path, n: usize) {
    use std::io::Write;
    const MESSAGES: [&[u8]; 10] = [
        b"Plain title\n\nBody.\n\nCo-authored-by: Ann <ann@example.org>\n",
        b"\n\n  \nLeading blank lines\n",
        b"Trailing white space   \t\nline two\r\n\r\nReviewed-by: Bob <bob@example.org>  \n",
        b"No newline at the end",
        b"",
        b"Tabs\tinside\n\n\tindented body\n    four spaces\n",
        b"Before a NUL\0after it\n",
        b"\xc3\xa9t\xc3\xa9 in UTF-8\n",
        b"Ends with blank lines\n\n\n\n",
        b"Signed-off-by: Only <only@example.org>\n",
    ];
    std::fs::create_dir_all(dir).unwrap();
    git_in(dir, &["init", "-q", "-b", "main"]);
    let mut stream = Vec::new();
    for i in 0..n {
        let message = MESSAGES[i % MESSAGES.len()];
        write!(
            stream,
            "commit refs/heads/main\nmark :{}\nauthor Person {} <p{}@example.org> {} +0100\ncommitter Jane Doe <jane@example.org> {} +0000\ndata {}\n",
            i + 1,
            i % 7,
            i % 7,
            1_700_000_000 + i * 60,
            1_700_000_000 + i * 61,
            message.len()
        )
        .unwrap();
        stream.extend_from_slice(message);
        stream.push(b'\n');
        if i > 0 {
            writeln!(stream, "from :{i}").unwrap();
        }
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fast-import", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    assert!(child.wait().unwrap().success());
}

fn commit_graph(dir: &Path, write: bool) {
    let path = dir.join(".git/objects/info/commit-graph");
    if write {
        git_in(dir, &["commit-graph", "write", "--reachable"]);
        assert!(path.is_file());
    } else {
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn a_history_read_on_several_cores_is_the_serial_read_commit_for_commit() {
    if !two_cores() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("odd");
    // Several blocks per `cat-file` process and a short last one.
    odd_history(&repo, 1_537);
    // A commit in Latin-1 that says so (Git re-encodes it when it prints it), a branch, and
    // one more commit whose message is only white space.
    let latin = raw_commit(
        &repo,
        b"author Ren\xe9 <rene@example.org> 1709287200 +0000\ncommitter Ren\xe9 <rene@example.org> 1709287200 +0000\nencoding ISO-8859-1\n\nCaf\xe9 cr\xe8me\n\nCo-authored-by: Zo\xe9 <zoe@example.org>\n",
        "latin",
    );
    raw_commit(
        &repo,
        b"author Jane Doe <jane@example.org> 1709287300 +0000\ncommitter Jane Doe <jane@example.org> 1709287300 +0000\n\n \t\n\n",
        "blank",
    );
    let ctx = ReadContext::default();

    commit_graph(&repo, false);
    assert!(!kith_import::git::reads_in_parallel(&repo));
    let serial = read(std::slice::from_ref(&repo), &ctx).unwrap();
    commit_graph(&repo, true);
    assert!(kith_import::git::reads_in_parallel(&repo));
    let parallel = read(std::slice::from_ref(&repo), &ctx).unwrap();

    assert_eq!(
        serial
            .activities
            .iter()
            .filter(|a| a.attrs.get("role").is_none())
            .count(),
        1_537 + 2
    );
    assert_eq!(serial.problems.len(), parallel.problems.len());
    let (s, p) = (
        render_activities(&serial.activities),
        render_activities(&parallel.activities),
    );
    for (i, (a, b)) in s.lines().zip(p.lines()).enumerate() {
        assert_eq!(a, b, "activity {i} differs");
    }
    assert_eq!(s, p);
    // The Latin-1 commit reads as Git prints it: in UTF-8.
    let cafe = parallel.activities.iter().find(|a| a.id == latin).unwrap();
    assert!(cafe.text.as_deref().unwrap().starts_with("Café crème"));
    assert_eq!(cafe.author.as_ref().unwrap().name.as_deref(), Some("René"));
    // `core.commitGraph=false` turns the graph, and the parallel read, off.
    git_in(&repo, &["config", "core.commitGraph", "false"]);
    assert!(!kith_import::git::reads_in_parallel(&repo));
}

#[test]
fn a_broken_history_read_on_several_cores_is_an_error_naming_the_repository() {
    if !two_cores() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("broken");
    odd_history(&repo, 600);
    commit_graph(&repo, true);
    // A ref to a commit that is not there: the walk fails, and nothing is imported.
    std::fs::write(
        repo.join(".git/refs/heads/gone"),
        "0123456789abcdef0123456789abcdef01234567\n",
    )
    .unwrap();
    assert!(kith_import::git::reads_in_parallel(&repo));
    let Err(ImportError::Malformed { file, message, .. }) =
        read(std::slice::from_ref(&repo), &ReadContext::default())
    else {
        panic!("a broken history must be refused");
    };
    assert!(file.ends_with("broken"), "{file}");
    assert!(message.contains("git rev-list"), "{message}");
}
