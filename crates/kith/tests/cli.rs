//! The `kith` program end to end: commands, exit codes, configuration precedence, round trips.
//! Each test works in its own temporary folder on real SQLite files; the PostgreSQL variants
//! run when `KITH_TEST_POSTGRES_URL` names a server (as `cargo xtask test` arranges).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const EXAMPLE: &str = include_str!("../../../docs/formats/example.jsonl");

struct Kith {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Kith {
    fn new() -> Kith {
        Kith {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kith"));
        c.args(args)
            .current_dir(self.dir.path())
            .env_remove("KITH_DATABASE")
            .env_remove("KITH_CONFIG")
            .env_remove("KITH_BIND");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Runs and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kith {args:?} failed ({:?}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let text = self.ok(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("kith {args:?} --json printed non-JSON ({e}):\n{text}"))
    }

    /// Runs and expects failure with `code`; returns stderr.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "kith {args:?}: expected exit {code}, got {:?}\nstderr: {stderr}",
            out.status
        );
        stderr
    }
}

#[test]
fn version_names_program_and_schema() {
    let k = Kith::new();
    let v = k.ok(&["--version"]);
    assert!(v.starts_with("kith "), "{v}");
    assert!(
        v.contains(&format!("database schema {}", kith_store::SCHEMA_VERSION)),
        "{v}"
    );
}

#[test]
fn help_is_complete_for_every_command() {
    let k = Kith::new();
    for cmd in [
        "init", "demo", "import", "sources", "export", "backup", "restore", "serve",
    ] {
        let h = k.ok(&[cmd, "--help"]);
        assert!(h.contains("Usage: kith"), "{cmd}: {h}");
        assert!(
            h.contains("--database"),
            "{cmd} --help must list the global options"
        );
    }
}

#[test]
fn init_creates_the_database_and_sets_the_community() {
    let k = Kith::new();
    let v = k.json(&["init", "--name", "Rustaceans", "--tz", "Europe/Berlin"]);
    assert_eq!(v["community"]["name"], "Rustaceans");
    assert_eq!(v["community"]["time_zone"], "Europe/Berlin");
    assert!(
        k.path("kith.db").exists(),
        "the default database is ./kith.db"
    );
    // Running again keeps what was set.
    let v = k.json(&["init"]);
    assert_eq!(v["community"]["time_zone"], "Europe/Berlin");
    let e = k.fails(&["init", "--tz", "Mars/Olympus"], 2);
    assert!(e.contains("Mars/Olympus"), "{e}");
}

#[test]
fn configuration_precedence_is_flag_then_environment_then_file() {
    let mut k = Kith::new();
    k.write("kith.toml", "database = \"from-file.db\"\n");
    k.ok(&["init"]);
    assert!(k.path("from-file.db").exists());
    k.env.push(("KITH_DATABASE".into(), "from-env.db".into()));
    k.ok(&["init"]);
    assert!(k.path("from-env.db").exists());
    k.ok(&["--database", "from-flag.db", "init"]);
    assert!(k.path("from-flag.db").exists());
    assert!(
        !k.path("kith.db").exists(),
        "the default is used only when nothing else says"
    );

    k.write("bad.toml", "[server]\nbnd = 1\n");
    let e = k.fails(&["--config", "bad.toml", "init"], 2);
    assert!(e.contains("bnd"), "{e}");
}

#[test]
fn import_prints_the_audit_and_reimport_adds_nothing() {
    let k = Kith::new();
    let file = k.write("example.jsonl", EXAMPLE);
    let file = file.to_str().unwrap();
    let first = k.json(&["import", "jsonl", file]);
    assert_eq!(first["status"], "committed");
    assert_eq!(first["read"], 8);
    assert_eq!(first["imported"], 8);
    assert_eq!(first["sources"], serde_json::json!(["forum"]));
    assert_eq!(first["first_ts"], 1_709_539_200);

    let again = k.json(&["import", "jsonl", file]);
    assert_eq!(again["imported"], 0);
    assert_eq!(again["updated"], 0);
    assert_eq!(again["skipped"]["duplicate"], 8);

    // The edit line changed p-3's text; the deletion-free example keeps 8 activities.
    let export = k.ok(&["export"]);
    assert_eq!(export.lines().count(), 8);
    let p3: Value = export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["id"] == "p-3")
        .unwrap();
    assert_eq!(p3["text"], "Thanks, that worked! (edited)");

    let sources = k.json(&["sources"]);
    assert_eq!(sources[0]["name"], "forum");
    assert_eq!(sources[0]["activities"], 8);
    assert_eq!(sources[0]["last_audit"]["skipped"]["duplicate"], 8);
}

#[test]
fn dry_run_stores_nothing() {
    let k = Kith::new();
    let file = k.write("example.jsonl", EXAMPLE);
    let audit = k.json(&["import", "jsonl", file.to_str().unwrap(), "--dry-run"]);
    assert_eq!(audit["status"], "dry-run");
    assert_eq!(audit["imported"], 8);
    assert_eq!(k.ok(&["export"]).lines().count(), 0);
    assert_eq!(k.json(&["sources"]).as_array().unwrap().len(), 0);
}

#[test]
fn bad_records_are_skipped_with_file_and_line() {
    let k = Kith::new();
    let text = format!(
        "{}{}\n{}\n",
        EXAMPLE,
        r#"{"v":1,"source":"forum","id":"x","kind":"comment","ts":"2024-01-01T00:00:00Z","author":null}"#,
        r#"{"v":1,"source":"forum","id":"y","kind":"post","author":null}"#
    );
    let file = k.write("mixed.jsonl", &text);
    let audit = k.json(&["import", "jsonl", file.to_str().unwrap()]);
    assert_eq!(audit["read"], 10);
    assert_eq!(audit["imported"], 8);
    assert_eq!(audit["skipped"]["invalid record"], 2);
    let problems = audit["problems"].as_array().unwrap();
    assert_eq!(problems[0]["line"], 9);
    assert!(problems[0]["message"].as_str().unwrap().contains("comment"));
    assert_eq!(problems[1]["line"], 10);
    assert!(
        problems[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("mixed.jsonl")
    );
}

#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    // `kith import --json ... | head`: the audit of an import with thousands of skipped lines is
    // far larger than a pipe holds, and the reader closes it after the first bytes.
    let k = Kith::new();
    let line = r#"{"v":1,"source":"forum","id":"y","kind":"post","author":null}"#;
    let file = k.write("bad.jsonl", &format!("{line}\n").repeat(5_000));
    let mut child = k
        .command(&["import", "jsonl", "--json", file.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is dropped here, as `head` does once it has what it wants.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "kith panicked:\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
}

#[test]
fn malformed_file_exits_3_and_changes_nothing() {
    let k = Kith::new();
    let good = k.write("example.jsonl", EXAMPLE);
    k.ok(&["import", "jsonl", good.to_str().unwrap()]);
    let before = k.ok(&["export"]);
    let sources_before = k.json(&["sources"]);

    // New records first, then a line cut in the middle: the new records must not be stored.
    let bad = k.write(
        "cut.jsonl",
        "{\"v\":1,\"source\":\"forum\",\"id\":\"new-1\",\"kind\":\"post\",\"ts\":\"2024-04-01T00:00:00Z\",\"author\":{\"id\":\"u9\"}}\n{\"v\":1,\"source\":\"forum\",\"id\":\"new-2\",\"ki",
    );
    let e = k.fails(&["import", "jsonl", bad.to_str().unwrap()], 3);
    assert!(
        e.contains("cut.jsonl") && e.contains("line 2"),
        "the error names file and line: {e}"
    );
    assert!(e.contains("nothing was imported"), "{e}");
    assert_eq!(k.ok(&["export"]), before);
    assert_eq!(k.json(&["sources"]), sources_before);
}

#[test]
fn usage_errors_exit_2_and_say_what_to_do() {
    let k = Kith::new();
    let e = k.fails(&["import", "tiktok", "x.json"], 2);
    assert!(
        e.contains("unknown import format `tiktok`") && e.contains("jsonl"),
        "{e}"
    );
    let e = k.fails(&["import", "jsonl", "missing.jsonl"], 2);
    assert!(e.contains("missing.jsonl"), "{e}");
    let e = k.fails(&["import", "jsonl", "x.jsonl", "--source", " bad "], 2);
    assert!(!e.is_empty());
    k.fails(&["frobnicate"], 2);
    let e = k.fails(&["--database", "mysql://h/db", "init"], 2);
    assert!(e.contains("mysql"), "{e}");
}

#[test]
fn unreachable_or_newer_databases_exit_4() {
    let k = Kith::new();
    let e = k.fails(
        &[
            "--database",
            "postgres://kith@127.0.0.1:1/nothing",
            "sources",
        ],
        4,
    );
    assert!(e.contains("cannot reach"), "{e}");

    k.ok(&["init"]);
    let file = k.write("example.jsonl", EXAMPLE);
    k.ok(&["import", "jsonl", file.to_str().unwrap()]);
    let before = std::fs::read(k.path("kith.db")).unwrap().len();
    {
        let conn = rusqlite::Connection::open(k.path("kith.db")).unwrap();
        conn.execute(
            "UPDATE kith_meta SET value = '999' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    }
    let e = k.fails(&["sources"], 4);
    assert!(e.contains("999") && e.contains("newer"), "{e}");
    // Nothing was changed: putting the version back gives the same data.
    {
        let conn = rusqlite::Connection::open(k.path("kith.db")).unwrap();
        conn.execute(
            "UPDATE kith_meta SET value = ?1 WHERE key = 'schema_version'",
            [kith_store::SCHEMA_VERSION.to_string()],
        )
        .unwrap();
    }
    assert_eq!(k.ok(&["export"]).lines().count(), 8);
    assert!(std::fs::read(k.path("kith.db")).unwrap().len() >= before);

    std::fs::write(
        k.path("garbage.db"),
        b"this is not a database at all, just text",
    )
    .unwrap();
    let e = k.fails(&["--database", "garbage.db", "sources"], 4);
    assert!(e.contains("garbage.db"), "{e}");
}

/// Export → import into an empty database → export gives the same lines, except kith's member
/// ids, which must map one-to-one.
fn assert_round_trip(k: &Kith, first_db: &str, second_db: &str) {
    let first = k.ok(&["--database", first_db, "export"]);
    let file = k.write("round.jsonl", &first);
    k.ok(&[
        "--database",
        second_db,
        "import",
        "jsonl",
        file.to_str().unwrap(),
    ]);
    let second = k.ok(&["--database", second_db, "export"]);
    let (a, b): (Vec<&str>, Vec<&str>) = (first.lines().collect(), second.lines().collect());
    assert_eq!(a.len(), b.len());
    let mut forward: HashMap<String, Value> = HashMap::new();
    let mut backward: HashMap<String, Value> = HashMap::new();
    for (x, y) in a.iter().zip(&b) {
        let mut x: Value = serde_json::from_str(x).unwrap();
        let mut y: Value = serde_json::from_str(y).unwrap();
        let (mx, my) = (x["member"].take(), y["member"].take());
        assert_eq!(x, y, "lines differ beyond member ids");
        assert_eq!(
            forward.entry(mx.to_string()).or_insert_with(|| my.clone()),
            &my,
            "member {mx} maps to two members"
        );
        assert_eq!(
            backward.entry(my.to_string()).or_insert_with(|| mx.clone()),
            &mx,
            "member {my} comes from two members"
        );
    }
}

#[test]
fn export_import_export_round_trips() {
    let k = Kith::new();
    let file = k.write("example.jsonl", EXAMPLE);
    k.ok(&[
        "--database",
        "one.db",
        "import",
        "jsonl",
        file.to_str().unwrap(),
    ]);
    assert_round_trip(&k, "one.db", "two.db");
}

#[test]
fn demo_generates_into_its_own_database_and_round_trips() {
    let mut k = Kith::new();
    k.env.push(("KITH_DATABASE".into(), "users-own.db".into()));
    k.write("kith.toml", "database = \"also-users.db\"\n");
    let v = k.json(&[
        "demo",
        "--activities",
        "3000",
        "--seed",
        "3",
        "--no-serve",
        "--write-export",
        "jsonl",
        "exp",
    ]);
    assert!(
        !k.path("users-own.db").exists(),
        "demo must ignore KITH_DATABASE"
    );
    assert!(
        !k.path("also-users.db").exists(),
        "demo must ignore the configuration file's database"
    );
    assert!(k.path("kith-demo.db").exists());
    assert_eq!(v["counts"]["activities"], 3000);
    assert!(v["counts"]["members"].as_u64().unwrap() > 20);
    let exported = std::fs::read_to_string(k.path("exp/activities.jsonl")).unwrap();
    assert_eq!(exported.lines().count(), 3000);

    // The written export imports with the same counts, and a second demo run replaces the file.
    k.ok(&[
        "--database",
        "from-export.db",
        "import",
        "jsonl",
        "exp/activities.jsonl",
    ]);
    assert_eq!(
        k.ok(&["--database", "from-export.db", "export"])
            .lines()
            .count(),
        3000
    );
    let again = k.json(&["demo", "--activities", "3000", "--seed", "3", "--no-serve"]);
    assert_eq!(
        again["counts"]["activities"], 3000,
        "the demo database is replaced, not appended to"
    );
    assert_round_trip(&k, "kith-demo.db", "copy.db");
}

#[test]
fn sqlite_backup_and_restore_round_trip() {
    let k = Kith::new();
    let file = k.write("example.jsonl", EXAMPLE);
    k.ok(&["import", "jsonl", file.to_str().unwrap()]);
    let before = k.ok(&["export"]);
    let v = k.json(&["backup", "snap.db"]);
    assert!(v["bytes"].as_u64().unwrap() > 0);

    k.ok(&["sources", "delete", "forum"]);
    assert_eq!(k.ok(&["export"]).lines().count(), 0);
    k.ok(&["restore", "snap.db"]);
    assert_eq!(k.ok(&["export"]), before);

    let e = k.fails(&["restore", "no-such-backup.db"], 2);
    assert!(e.contains("no-such-backup.db"), "{e}");
    let bogus = k.write("bogus.db", "not a database");
    k.run(&["restore", bogus.to_str().unwrap()]);
    assert_eq!(
        k.ok(&["export"]),
        before,
        "a bad backup must not replace the database"
    );
}

#[test]
fn serve_leads_a_new_install_to_setup_and_picks_up_new_imports() {
    let k = Kith::new();
    k.ok(&["init", "--name", "Served"]);
    let mut child = k
        .command(&["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line}"))
        .to_owned();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    let get = |path: &str| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    };
    // No account yet: every page leads to the first-run setup.
    let page = get("/");
    assert!(
        page.contains(" 303 ") && page.contains("location: /setup"),
        "{page}"
    );
    assert!(get("/setup").contains("Create the owner account"));
    assert!(get("/healthz").contains("ok"));
    assert!(get("/metrics").contains("kith_snapshot_activities 0"));

    let file = k.write("example.jsonl", EXAMPLE);
    k.ok(&["import", "jsonl", file.to_str().unwrap()]);
    // The snapshot follows the database in the background (every 2 s): no restart needed.
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = get("/metrics");
        if metrics.contains("kith_snapshot_activities 8") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        metrics.contains("kith_snapshot_activities 8"),
        "new data shows without a restart: {metrics}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

fn postgres_url() -> Option<String> {
    match std::env::var("KITH_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("skipped: KITH_TEST_POSTGRES_URL not set (run cargo xtask test)");
            None
        }
    }
}

/// A fresh database on the test server, as a URL kith accepts.
fn fresh_postgres_database(base: &str, name: &str) -> String {
    let mut client = postgres::Client::connect(base, postgres::NoTls).unwrap();
    // One statement per call: DROP/CREATE DATABASE cannot run inside a transaction block.
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    with_dbname(base, name)
}

/// Replaces the database name in a URL (`postgres://.../db?..`) or key=value string.
fn with_dbname(base: &str, name: &str) -> String {
    if base.starts_with("postgres://") || base.starts_with("postgresql://") {
        let (head, query) = base
            .split_once('?')
            .map_or((base, None), |(h, q)| (h, Some(q)));
        let scheme_end = head.find("://").unwrap() + 3;
        let host_part = &head[scheme_end..];
        let host = host_part.split_once('/').map_or(host_part, |(h, _)| h);
        let mut url = format!("{}{host}/{name}", &head[..scheme_end]);
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        url
    } else {
        let kept: Vec<&str> = base
            .split_whitespace()
            .filter(|kv| !kv.starts_with("dbname="))
            .collect();
        format!("{} dbname={name}", kept.join(" "))
    }
}

#[test]
fn postgres_import_backup_restore_and_round_trip() {
    let Some(base) = postgres_url() else { return };
    let db = fresh_postgres_database(&base, "kith_cli_one");
    let other = fresh_postgres_database(&base, "kith_cli_two");
    let k = Kith::new();
    let file = k.write("example.jsonl", EXAMPLE);
    let audit = k.json(&["--database", &db, "import", "jsonl", file.to_str().unwrap()]);
    assert_eq!(audit["imported"], 8);
    let before = k.ok(&["--database", &db, "export"]);
    k.ok(&["--database", &db, "backup", "pg.dump"]);
    k.ok(&["--database", &db, "sources", "delete", "forum"]);
    assert_eq!(k.ok(&["--database", &db, "export"]).lines().count(), 0);
    k.ok(&["--database", &db, "restore", "pg.dump"]);
    assert_eq!(k.ok(&["--database", &db, "export"]), before);
    assert_round_trip(&k, &db, &other);
}

#[test]
fn an_import_resolves_identities_only_when_one_was_added_or_changed() {
    let k = Kith::new();
    let line = |source: &str, id: &str, author: &str| {
        format!(
            r#"{{"v":1,"source":"{source}","id":"{id}","kind":"post","ts":"2024-01-01T10:00:00Z","author":{author}}}"#
        ) + "\n"
    };
    let import = |name: &str, text: String| {
        let path = k.write(name, &text);
        let out = k.run(&["import", "jsonl", "-v", "--json", path.to_str().unwrap()]);
        assert!(out.status.success(), "{out:?}");
        let audit: Value = serde_json::from_slice(&out.stdout).unwrap();
        (audit, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let ada = r#"{"id":"U1","name":"Ada Lovelace"}"#;
    let (_, log) = import("chat.jsonl", line("chat", "m1", ada));
    assert!(
        log.contains("identity resolution: 0 merged"),
        "a new member: {log}"
    );
    let (_, log) = import(
        "forum.jsonl",
        line(
            "forum",
            "p1",
            r#"{"id":"7","name":"A. L.","email":"ada@example.org"}"#,
        ),
    );
    assert!(log.contains("identity resolution: 0 merged"), "{log}");
    // More of a known member, the same details: nothing to resolve.
    let (audit, log) = import("chat2.jsonl", line("chat", "m2", ada));
    assert_eq!(audit["imported"], 1);
    assert!(log.contains("nothing to resolve"), "{log}");
    // A known member whose details changed (an e-mail now, that of the forum's member): no
    // member is new, but an identity changed, so resolution runs and merges them.
    let (audit, log) = import(
        "chat3.jsonl",
        line(
            "chat",
            "m3",
            r#"{"id":"U1","name":"Ada Lovelace","email":"ADA@example.org"}"#,
        ),
    );
    assert_eq!(audit["members_created"], 0);
    assert_eq!(audit["members_merged"], 1, "{log}");
}

#[test]
fn identity_resolution_merges_certain_pairs_and_queues_the_rest() {
    let k = Kith::new();
    let chat = concat!(
        r#"{"v":1,"source":"chat","id":"m1","kind":"post","ts":"2024-01-01T10:00:00Z","author":{"id":"U1","name":"Ada Lovelace","email":"ada@example.org"}}"#,
        "\n",
        r#"{"v":1,"source":"chat","id":"m2","kind":"post","ts":"2024-01-01T11:00:00Z","author":{"id":"U2","name":"Grace Hopper","handle":"grace"}}"#,
        "\n"
    );
    let forum = concat!(
        r#"{"v":1,"source":"forum","id":"p1","kind":"post","ts":"2024-01-02T10:00:00Z","author":{"id":"7","name":"Ada L.","email":"ADA@example.org"}}"#,
        "\n",
        r#"{"v":1,"source":"forum","id":"p2","kind":"post","ts":"2024-01-02T11:00:00Z","author":{"id":"8","name":"Grace Hopper","handle":"Grace"}}"#,
        "\n"
    );
    k.json(&[
        "import",
        "jsonl",
        k.write("chat.jsonl", chat).to_str().unwrap(),
    ]);
    let audit = k.json(&[
        "import",
        "jsonl",
        k.write("forum.jsonl", forum).to_str().unwrap(),
    ]);
    assert_eq!(
        audit["members_merged"], 1,
        "the same e-mail on two sources is merged automatically"
    );
    assert_eq!(
        k.json(&["sources", "audits", "forum"])[0]["members_merged"],
        1,
        "and the stored audit says so"
    );

    // Handle + name (0.8) waits for review.
    let review = k.json(&["members", "candidates"]);
    assert_eq!(review.as_array().unwrap().len(), 1, "{review}");
    assert_eq!(review[0]["score"], 0.8);
    let (into, from) = (
        review[0]["into"].as_i64().unwrap(),
        review[0]["from"].as_i64().unwrap(),
    );

    let merged = k.json(&["members", "merge", &into.to_string(), &from.to_string()]);
    let merge_id = merged["id"].as_i64().unwrap();
    assert_eq!(
        k.json(&["members", "candidates"]).as_array().unwrap().len(),
        0
    );
    let shown = k.json(&["members", "show", &into.to_string()]);
    assert_eq!(shown["identities"].as_array().unwrap().len(), 2);
    // The list as text: ids right-aligned under their heading, no trailing spaces.
    let list = k.ok(&["members", "list"]);
    let mut lines = list.lines();
    assert!(
        lines.next().unwrap().starts_with("      id  name"),
        "{list}"
    );
    for line in lines {
        let (id, _) = line.split_at(8);
        assert!(
            id.trim_start().parse::<i64>().is_ok() && !line.ends_with(' '),
            "{list}"
        );
    }

    // Undo: the pair comes back as a candidate, and automatic resolution leaves it alone.
    k.json(&["members", "unmerge", &merge_id.to_string()]);
    assert_eq!(
        k.json(&["members", "show", &into.to_string()])["identities"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = k.json(&["members", "resolve", "--threshold", "0.5"]);
    assert_eq!(
        r["applied"].as_array().unwrap().len(),
        0,
        "a pair a person separated is not merged again: {r}"
    );
    assert!(
        r["review"][0]["blocked"]
            .as_str()
            .unwrap()
            .contains("undid")
    );
    let log = k.json(&["members", "merges"]);
    assert_eq!(log.as_array().unwrap().len(), 2);
    assert_eq!(log[0]["evidence"]["actor"], "auto");

    k.fails(&["members", "show", "999999"], 2);
    k.fails(
        &["members", "merge", &into.to_string(), &into.to_string()],
        2,
    );
}

#[test]
fn an_import_killed_part_way_reruns_to_the_counts_of_an_uninterrupted_one() {
    let k = Kith::new();
    k.ok(&[
        "--database",
        "gen.db",
        "demo",
        "--activities",
        "60000",
        "--seed",
        "5",
        "--no-serve",
        "--write-export",
        "jsonl",
        "exp",
    ]);
    let file = "exp/activities.jsonl";

    // Uninterrupted reference, timed so that the kill below lands inside the import.
    let started = std::time::Instant::now();
    let reference = k.json(&["--database", "clean.db", "import", "jsonl", file]);
    let took = started.elapsed();
    assert_eq!(reference["imported"], 60_000);

    // Kill -9 part-way through (40 % of an uninterrupted run), then run again.
    let mut child = k
        .command(&[
            "--database",
            "killed.db",
            "import",
            "jsonl",
            file,
            "--quiet",
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(took.mul_f64(0.4));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // Whatever the killed run committed stays; the re-run adds exactly the rest. (The import is
    // one transaction, so that is all or nothing; on a loaded machine the kill may land after
    // the commit, during identity resolution, and then the re-run adds nothing.)
    let kept = if k.dir.path().join("killed.db").exists() {
        k.ok(&["--database", "killed.db", "export"]).lines().count()
    } else {
        0
    };
    assert!(
        kept == 0 || kept == 60_000,
        "an import commits all or nothing, not {kept} of 60,000 activities"
    );
    let rerun = k.json(&["--database", "killed.db", "import", "jsonl", file]);
    assert_eq!(
        rerun["imported"].as_u64().unwrap() as usize,
        60_000 - kept,
        "the re-run stores exactly what the killed run did not commit: {rerun}"
    );
    assert_eq!(
        k.ok(&["--database", "killed.db", "export"]),
        k.ok(&["--database", "clean.db", "export"]),
        "the re-run gives exactly the data of an uninterrupted import"
    );
    let again = k.json(&["--database", "killed.db", "import", "jsonl", file]);
    assert_eq!(again["imported"], 0);
}

#[test]
fn report_lists_explains_and_renders_every_format() {
    let k = Kith::new();
    let list = k.json(&["report", "--list"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"first_response") && names.contains(&"active_members"),
        "{names:?}"
    );
    let explained = k.ok(&["report", "--explain", "first_response"]);
    assert!(
        explained.contains("Reference SQL") && explained.contains("SELECT"),
        "{explained}"
    );
    // A metric SQL cannot express says so, and how it is verified instead.
    let explained = k.ok(&["report", "--explain", "network"]);
    assert!(
        explained.contains("No reference SQL") && explained.contains("slow model"),
        "{explained}"
    );
    let explained = k.json(&["report", "--explain", "engagement_levels"]);
    assert!(explained["reference_sql"].is_null(), "{explained}");
    assert!(
        explained["verified_by"]
            .as_str()
            .is_some_and(|v| v.contains("slow model")),
        "{explained}"
    );
    let e = k.fails(&["report", "--explain", "vibes"], 2);
    assert!(
        e.contains("unknown metric `vibes`") && e.contains("first_response"),
        "{e}"
    );

    let file = k.write("example.jsonl", EXAMPLE);
    k.ok(&["import", "jsonl", file.to_str().unwrap()]);
    let json = k.json(&["report", "--as-of", "2024-03-31", "--period", "week"]);
    assert_eq!(json["report"]["period"], "week");
    assert_eq!(
        json["metrics"].as_array().unwrap().len(),
        names.len(),
        "every metric is in the report"
    );
    let text = k.ok(&["report", "--as-of", "2024-03-31"]);
    assert!(
        text.contains("Time to first response") && text.contains("kith report --explain"),
        "{text}"
    );
    // Text reads as people read: Ada's last participation (11:02 UTC) in the report's zone,
    // the median first response (5,310 s) in minutes, members by name and id; JSON keeps the
    // numbers; --anonymise leaves the names out.
    let inactive = json["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "recently_inactive")
        .unwrap()["tables"][0]["rows"][0]
        .clone();
    assert_eq!(
        inactive[1], 1_709_550_120,
        "JSON keeps epoch seconds: {inactive}"
    );
    let ada = format!("Ada Lovelace (#{})", inactive[0]);
    let berlin = k.ok(&["report", "--as-of", "2024-03-31", "--tz", "Europe/Berlin"]);
    // The needs-reply queue names the waiting post by the start of its text.
    for shown in [
        ada.as_str(),
        "2024-03-04 12:02",
        "89 min",
        "as of 2024-03-31 23:59:59 CEST",
        "“Posted by a since-deleted account.” (#",
    ] {
        assert!(berlin.contains(shown), "`{shown}` in {berlin}");
    }
    assert!(!berlin.contains("1709550120"), "{berlin}");
    let anonymous = k.ok(&["report", "--as-of", "2024-03-31", "--anonymise"]);
    assert!(
        !anonymous.contains("Ada")
            && !anonymous.contains("Grace")
            && !anonymous.contains("Posted by"),
        "{anonymous}"
    );
    assert!(
        anonymous.contains(&format!("#{}", inactive[0])),
        "{anonymous}"
    );
    let csv = k.ok(&["report", "--format", "csv", "--as-of", "2024-03-31"]);
    assert!(csv.starts_with("metric,table,row,column,value\n"));
    k.ok(&[
        "report",
        "--format",
        "html",
        "--output",
        "report.html",
        "--as-of",
        "2024-03-31",
    ]);
    let html = std::fs::read_to_string(k.path("report.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("Reference SQL"),
        "the HTML report has charts and definitions"
    );
    assert!(
        html.contains(&format!("<td class=\"l\">{ada}</td>"))
            && html.contains("<td>2024-03-04 11:02</td>"),
        "members by name, instants in the community's zone (UTC)"
    );
    k.ok(&[
        "report",
        "--format",
        "html",
        "--anonymise",
        "--output",
        "anonymous.html",
        "--as-of",
        "2024-03-31",
    ]);
    let anonymous = std::fs::read_to_string(k.path("anonymous.html")).unwrap();
    assert!(
        !anonymous.contains("Ada")
            && anonymous.contains(&format!("<td class=\"l\">#{}</td>", inactive[0])),
        "an anonymised report names no one"
    );
    let without_svg_namespace = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !without_svg_namespace.contains("http://") && !without_svg_namespace.contains("https://"),
        "no external assets"
    );
    assert!(
        !html.contains("<script") && !html.contains("<link"),
        "self-contained"
    );

    let e = k.fails(&["report", "--from", "2024-13-01"], 2);
    assert!(e.contains("2024-13-01"), "{e}");
}

fn shared_data() -> Option<PathBuf> {
    match std::env::var_os("KITH_SHARED_DATA") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "KITH_SHARED_DATA must be set in CI"
            );
            eprintln!("skipped: KITH_SHARED_DATA not set");
            None
        }
    }
}

/// The known facts of the Stack Exchange sample (shared data README), through the product:
/// import, then `kith report` with the as-of the README names.
#[test]
fn stackexchange_sample_gives_its_known_response_facts() {
    let Some(root) = shared_data() else { return };
    let k = Kith::new();
    let dump = root.join("stackexchange-history-meta");
    k.ok(&[
        "import",
        "stackexchange",
        dump.to_str().unwrap(),
        "--source",
        "history.meta",
    ]);
    // The Community user (id -1) is a bot on Stack Exchange; the README counts its 6 questions.
    let report = k.json(&[
        "report",
        "--as-of",
        "2018-10-01T00:00:00Z",
        "--from",
        "2008-01-01",
        "--to",
        "2018-09-30",
        "--include-bots",
    ]);
    let fr = report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "first_response")
        .unwrap();
    let table = &fr["tables"][0];
    let columns: Vec<&str> = table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let all = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0] == "all")
        .unwrap();
    let get = |name: &str| all[columns.iter().position(|c| *c == name).unwrap()].clone();
    assert_eq!(get("threads"), 556);
    assert_eq!(get("responded"), 545);
    assert_eq!(get("unanswered"), 11);
    assert!((get("unanswered_share").as_f64().unwrap() - 0.0198).abs() < 0.00005);
    let median_h = get("median_s").as_f64().unwrap() / 3600.0;
    assert!((median_h - 2.07).abs() < 0.005, "median {median_h} h");
    assert!((get("within_24h_share").as_f64().unwrap() - 0.874).abs() < 0.0005);
}

#[test]
fn imports_score_their_messages_after_the_audit_and_rescore_recomputes() {
    // The example's messages with text: the post p-1, the replies p-2 and p-3 (edited), and
    // the author-less post p-4; the join, the reaction, the solution and the edit itself are
    // not messages.
    let k = Kith::new();
    let file = k.write("example.jsonl", EXAMPLE);
    let file = file.to_str().unwrap();
    let audit = k.json(&["import", "jsonl", file]);
    assert_eq!(
        audit["imported"], 8,
        "--json prints the audit alone, the scoring note goes to stderr"
    );
    let current = k.json(&["rescore"]);
    assert_eq!(current["scored"], 0, "the import scored everything already");
    let all = k.json(&["rescore", "--all", "--threads", "1"]);
    assert_eq!(all["scored"], 4, "--all recomputes every message");
    assert_eq!(all["threads"], 1);

    let k = Kith::new();
    let file = k.write("example.jsonl", EXAMPLE);
    k.json(&["import", "jsonl", file.to_str().unwrap(), "--no-score"]);
    let later = k.json(&["rescore"]);
    assert_eq!(
        later["scored"], 4,
        "--no-score leaves the scoring to rescore"
    );
    assert!(later["messages_per_core_sec"].as_f64().unwrap() > 0.0);
    let text = k.ok(&["rescore"]);
    assert!(text.contains("already has a current score"), "{text}");
}

#[test]
fn an_import_scores_what_it_added_or_changed_not_the_whole_database() {
    let k = Kith::new();
    let post = |id: &str, text: &str| {
        format!(
            r#"{{"v":1,"source":"forum","id":"{id}","kind":"post","ts":"2024-01-01T10:00:00Z","author":{{"id":"u1"}},"text":"{text}"}}"#
        ) + "\n"
    };
    let first = k.write(
        "first.jsonl",
        &(post("p1", "How do I start?")
            + &post("p2", "Thanks, that worked")
            + &post("p3", "Great tool")),
    );
    k.json(&["import", "jsonl", first.to_str().unwrap(), "--no-score"]);
    // A new message, and an edit of p2 (an older id than any new one): the pass starts at the
    // lowest message the import changed, p2, and scores whatever needs a score from there (p3,
    // left unscored by --no-score, too); p1, before it, is not this import's: rescore's.
    let second = k.write(
        "second.jsonl",
        &(post("p2", "Thanks, that worked perfectly") + &post("p4", "Is there a guide?")),
    );
    let out = k.run(&["import", "jsonl", second.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(note.contains("scored 3 messages"), "p2, p3 and p4: {note}");
    assert_eq!(k.json(&["rescore"])["scored"], 1, "p1 was left to rescore");
    // An import that brought no message (a reaction) has nothing to score.
    let reaction = k.write(
        "reaction.jsonl",
        r#"{"v":1,"source":"forum","id":"r1","kind":"reaction","ts":"2024-01-01T11:00:00Z","author":{"id":"u2"},"reply_to":"p4"}"#,
    );
    let out = k.run(&["import", "jsonl", reaction.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(note.contains("no message to score"), "{note}");
}
