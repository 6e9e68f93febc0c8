//! `kith users` end to end on a real SQLite file: accounts created, listed, promoted, given a new
//! password and removed from the command line, with passwords only ever read from standard
//! input (or the terminal), never from the arguments, and never leaving the database without an
//! owner.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use kith_store::{Accounts, Role};
use serde_json::Value;

fn kith(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kith"));
    c.arg("--database")
        .arg(dir.join("k.db"))
        .args(args)
        .current_dir(dir)
        .env_remove("KITH_DATABASE")
        .env_remove("KITH_CONFIG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn ok(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = kith(dir, args, stdin);
    assert!(
        out.status.success(),
        "kith {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Exit code 2 (usage) with `needle` in the message.
fn refused(dir: &Path, args: &[&str], stdin: Option<&str>, needle: &str) {
    let out = kith(dir, args, stdin);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "kith {args:?}: {err}");
    assert!(err.contains(needle), "kith {args:?} says {needle:?}: {err}");
}

fn store(dir: &Path) -> kith_store_sqlite::SqliteStore {
    kith_store_sqlite::SqliteStore::open(&dir.join("k.db")).unwrap()
}

fn accounts(dir: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_str(&ok(dir, &["--json", "users", "list"], None)).unwrap();
    v.as_array().unwrap().clone()
}

#[test]
fn accounts_are_added_listed_and_promoted_with_passwords_from_standard_input_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(ok(d, &["users", "list"], None).contains("no accounts yet"));
    assert!(accounts(d).is_empty());
    // No way to put a password on the command line.
    let out = kith(
        d,
        &["users", "add", "ada", "--password", "long enough pw"],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "clap refuses --password");
    refused(
        d,
        &["users", "add", "ada", "--password-stdin"],
        Some("short\n"),
        "at least 10 characters",
    );
    refused(
        d,
        &["users", "add", "ada", "--password-stdin"],
        Some(""),
        "standard input is empty",
    );
    refused(
        d,
        &[
            "users",
            "add",
            "ada",
            "--role",
            "emperor",
            "--password-stdin",
        ],
        Some("long enough pw\n"),
        "unknown role `emperor`",
    );
    assert!(
        accounts(d).is_empty(),
        "nothing was created by the refusals"
    );
    let created: Value = serde_json::from_str(&ok(
        d,
        &[
            "--json",
            "users",
            "add",
            "ada",
            "--role",
            "owner",
            "--password-stdin",
        ],
        Some("correct horse battery\r\n"),
    ))
    .unwrap();
    assert_eq!(created["name"], "ada");
    assert_eq!(created["role"], "owner");
    // The stored hash is argon2 of the line without its line ending.
    let (_, hash) = store(d).user_credentials("ada").unwrap().unwrap();
    assert!(kith_web::auth::verify_password(
        "correct horse battery",
        &hash
    ));
    refused(
        d,
        &["users", "add", "ada", "--password-stdin"],
        Some("another long one\n"),
        "exists already",
    );
    ok(
        d,
        &["users", "add", "bob", "--password-stdin"],
        Some("bob's long password\n"),
    );
    let list = accounts(d);
    assert_eq!(list.len(), 2);
    let bob = list.iter().find(|a| a["name"] == "bob").unwrap();
    assert_eq!(
        (&bob["role"], &bob["disabled"], &bob["active_tokens"]),
        (&Value::from("viewer"), &Value::from(false), &Value::from(0)),
        "a new account is an enabled viewer by default"
    );
    let text = ok(d, &["users", "list"], None);
    assert!(text.contains("ada") && text.contains("owner") && text.contains("active"));
    // The only owner cannot be demoted or removed: nobody could manage owners again.
    refused(
        d,
        &["users", "set-role", "ada", "admin"],
        None,
        "only enabled owner",
    );
    refused(d, &["users", "remove", "ada"], None, "only enabled owner");
    ok(d, &["users", "set-role", "bob", "owner"], None);
    ok(d, &["users", "set-role", "ada", "admin"], None);
    let roles: Vec<(String, String)> = accounts(d)
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("ada".into(), "admin".into()),
            ("bob".into(), "owner".into())
        ]
    );
    refused(
        d,
        &["users", "set-role", "carol", "admin"],
        None,
        "no account is named `carol`",
    );
}

#[test]
fn a_reset_password_ends_the_sessions_and_a_removed_account_loses_its_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "users",
            "add",
            "root",
            "--role",
            "owner",
            "--password-stdin",
        ],
        Some("the owner's password\n"),
    );
    ok(
        d,
        &["users", "add", "eve", "--role", "admin", "--password-stdin"],
        Some("eve's first password\n"),
    );
    let s = store(d);
    let eve = s.user_credentials("eve").unwrap().unwrap().0;
    s.create_session("session-hash", eve.id, "csrf", i64::MAX / 2)
        .unwrap();
    s.create_token(eve.id, "nightly", "token-hash", &["read".into()])
        .unwrap();
    s.create_token(eve.id, "old", "old-hash", &["read".into()])
        .unwrap();
    let old = s.tokens(Some(eve.id)).unwrap();
    s.revoke_token(old.iter().find(|t| t.name == "old").unwrap().id)
        .unwrap();
    drop(s);
    assert_eq!(
        accounts(d).iter().find(|a| a["name"] == "eve").unwrap()["active_tokens"],
        1
    );
    let reset: Value = serde_json::from_str(&ok(
        d,
        &[
            "--json",
            "users",
            "reset-password",
            "eve",
            "--password-stdin",
        ],
        Some("eve's second password\n"),
    ))
    .unwrap();
    assert_eq!(reset["sessions_ended"], true);
    let s = store(d);
    let (_, hash) = s.user_credentials("eve").unwrap().unwrap();
    assert!(kith_web::auth::verify_password(
        "eve's second password",
        &hash
    ));
    assert!(!kith_web::auth::verify_password(
        "eve's first password",
        &hash
    ));
    assert!(
        s.session("session-hash", 0).unwrap().is_none(),
        "the old session ended"
    );
    drop(s);
    let removed: Value =
        serde_json::from_str(&ok(d, &["--json", "users", "remove", "eve"], None)).unwrap();
    assert_eq!(removed["tokens_revoked"], 1, "the one active token");
    let s = store(d);
    assert!(
        s.token("token-hash").unwrap().is_none(),
        "the token stopped working"
    );
    let eve = s.user_credentials("eve").unwrap().unwrap().0;
    assert!(eve.disabled);
    assert_eq!(
        s.users()
            .unwrap()
            .iter()
            .filter(|u| u.role == Role::Owner && !u.disabled)
            .count(),
        1,
        "the owner is untouched"
    );
}
