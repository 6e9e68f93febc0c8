//! `slack-export`: the fixture export against its golden output, bad input, the real
//! houstondatavis sample's known facts, and a writer round trip.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use kith_import::slack::SlackExport;
use kith_import::{ImportError, ReadContext};
use kith_model::Kind;
use proptest::prelude::*;
use support::*;

const EXPORT: &str = "Acme Slack export Jan 1 2024 - Jan 31 2024";

fn ctx() -> ReadContext {
    ReadContext {
        base_url: Some("https://acme.slack.com".into()),
        ..ReadContext::default()
    }
}

#[test]
fn fixture_export_matches_its_golden_output() {
    let dir = fixture("slack-export");
    let got = read(&SlackExport, &[dir.join(EXPORT)], &ctx()).unwrap();
    golden("slack-export", &render(&got, &dir.join(EXPORT)));
}

#[test]
fn every_case_of_the_fixture_is_mapped() {
    let dir = fixture("slack-export").join(EXPORT);
    let got = read(&SlackExport, &[dir], &ctx()).unwrap();
    let by_id: HashMap<&str, &kith_model::Activity> =
        got.activities.iter().map(|a| (a.id.as_str(), a)).collect();
    // Source from the export's name; keys from channel ids.
    assert!(got.activities.iter().all(|a| a.source == "Acme"));
    assert_eq!(by_id["C01GEN:1704189600.000100"].kind, Kind::Join);
    // Reactions: one per user and emoji, derived key.
    let r = by_id["C01GEN:1704190000.000400:reaction:wave:U03CAT"];
    assert_eq!(
        (r.kind, r.reply_to.as_deref()),
        (Kind::Reaction, Some("C01GEN:1704190000.000400"))
    );
    assert_eq!(r.to, ["U01ANN"]);
    // Inferred conversation: bob answers ann within 15 minutes.
    let bob = by_id["C01GEN:1704190300.000500"];
    assert_eq!(
        (bob.kind, bob.reply_to.as_deref(), bob.thread.as_deref()),
        (
            Kind::Reply,
            Some("C01GEN:1704190000.000400"),
            Some("C01GEN:1704190000.000400")
        )
    );
    assert!(bob.attrs.contains_key("edited"));
    // A mention reaches back past the window.
    let m = by_id["C01GEN:1704200300.000900"];
    assert_eq!(m.reply_to.as_deref(), Some("C01GEN:1704190500.000700"));
    // Bots: bot_message and users.json is_bot.
    assert_eq!(
        by_id["C01GEN:1704200400.001000"]
            .author
            .as_ref()
            .unwrap()
            .bot,
        Some(true)
    );
    assert_eq!(
        by_id["C01GEN:1704200450.001100"]
            .author
            .as_ref()
            .unwrap()
            .bot,
        Some(true)
    );
    // Author-less content.
    assert!(by_id["C01GEN:1704276000.000100"].author.is_none());
    // Native threads.
    let reply = by_id["C02HELP:1704189200.000300"];
    assert_eq!(
        (reply.kind, reply.thread.as_deref(), reply.to.as_slice()),
        (
            Kind::Reply,
            Some("C02HELP:1704189000.000100"),
            &[] as &[String]
        )
    );
    assert_eq!(by_id["C02HELP:1704189100.000200"].to, ["U01ANN"]);
    // Files, leaves, pins.
    assert_eq!(
        by_id["C01GEN:1704200500.001200"].attrs["files"][0]["id"],
        "F01"
    );
    assert_eq!(by_id["C01GEN:1704276300.000400"].kind, Kind::Leave);
    assert_eq!(by_id["C01GEN:1704290000.000500"].attrs["pinned"], true);
    assert_eq!(
        by_id["C01GEN:1704190000.000400"].url.as_deref(),
        Some("https://acme.slack.com/archives/C01GEN/p1704190000000400")
    );
    // Skips, with their lines.
    let reasons: Vec<(&str, u64)> = got
        .problems
        .iter()
        .map(|p| (p.reason.as_str(), p.line))
        .collect();
    assert!(reasons.contains(&("system message", 4)), "{reasons:?}");
    assert!(reasons.contains(&("invalid record", 2)), "{reasons:?}");
    assert!(reasons.contains(&("unknown subtype", 5)), "{reasons:?}");
}

#[test]
fn source_option_overrides_the_derived_name() {
    let dir = fixture("slack-export").join(EXPORT);
    let c = ReadContext {
        source: Some("acme-slack".into()),
        ..ReadContext::default()
    };
    let got = read(&SlackExport, &[dir], &c).unwrap();
    assert!(
        got.activities
            .iter()
            .all(|a| a.source == "acme-slack" && a.url.is_none())
    );
}

#[test]
fn keys_do_not_change_when_the_export_folder_is_moved() {
    let tmp = tempfile::tempdir().unwrap();
    let moved = tmp.path().join("somewhere else");
    copy_dir(&fixture("slack-export").join(EXPORT), &moved);
    let c = ReadContext {
        source: Some("acme".into()),
        ..ReadContext::default()
    };
    let a = read(&SlackExport, &[fixture("slack-export").join(EXPORT)], &c).unwrap();
    let b = read(&SlackExport, &[moved], &c).unwrap();
    assert_eq!(a.activities, b.activities);
}

#[test]
fn a_day_file_cut_mid_record_is_malformed_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("x Slack export");
    std::fs::create_dir_all(root.join("general")).unwrap();
    std::fs::write(
        root.join("channels.json"),
        r#"[{"id":"C1","name":"general"}]"#,
    )
    .unwrap();
    std::fs::write(
        root.join("general/2024-01-01.json"),
        "[\n {\"ts\": \"1.000001\", \"user\": \"U1\", \"text\": \"ok\"},\n {\"ts\": \"2.0\", \"te",
    )
    .unwrap();
    let err = read(&SlackExport, &[root], &ReadContext::default())
        .err()
        .unwrap();
    match err {
        ImportError::Malformed {
            file,
            line,
            message,
            ..
        } => {
            assert!(file.ends_with("general/2024-01-01.json"), "{file}");
            assert_eq!(line, 3);
            assert!(message.contains("expected a Slack day file"), "{message}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_zip_archive_reads_like_its_folder() {
    use std::io::Write;
    let dir = fixture("slack-export").join(EXPORT);
    let tmp = tempfile::tempdir().unwrap();
    let zip_path = tmp.path().join(format!("{EXPORT}.zip"));
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    for rel in [
        "users.json",
        "channels.json",
        "general/2024-01-02.json",
        "general/2024-01-03.json",
        "help/2024-01-02.json",
        "random/2024-01-05.json",
    ] {
        w.start_file(rel, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(&std::fs::read(dir.join(rel)).unwrap()).unwrap();
    }
    w.finish().unwrap();
    let a = read(&SlackExport, &[dir], &ctx()).unwrap();
    let b = read(&SlackExport, &[zip_path], &ctx()).unwrap();
    assert_eq!(a.activities, b.activities);
}

#[test]
fn real_houstondatavis_export_has_its_known_facts() {
    let Some(dir) = shared_data("slack-export-houstondatavis") else {
        return;
    };
    let got = read(&SlackExport, &[dir], &ReadContext::default()).unwrap();
    let plain: Vec<_> = got
        .activities
        .iter()
        .filter(|a| matches!(a.kind, Kind::Post | Kind::Reply) && !a.attrs.contains_key("subtype"))
        .collect();
    let files: Vec<_> = got
        .activities
        .iter()
        .filter(|a| a.attrs.get("subtype").and_then(|s| s.as_str()) == Some("file_share"))
        .collect();
    assert_eq!(plain.len(), 964);
    assert_eq!(
        got.activities
            .iter()
            .filter(|a| a.kind == Kind::Join)
            .count(),
        320
    );
    assert_eq!(files.len(), 61);
    let mut per_author: HashMap<&str, usize> = HashMap::new();
    for a in &plain {
        *per_author
            .entry(a.author.as_ref().map_or("", |x| x.id.as_str()))
            .or_default() += 1;
    }
    assert_eq!(per_author.len(), 31);
    assert_eq!(per_author.values().max(), Some(&308));
    for a in &files {
        *per_author
            .entry(a.author.as_ref().map_or("", |x| x.id.as_str()))
            .or_default() += 1;
    }
    assert_eq!(per_author.len(), 32);
    assert_eq!(per_author.values().max(), Some(&312));
    let reacted: HashSet<&str> = got
        .activities
        .iter()
        .filter(|a| a.kind == Kind::Reaction)
        .filter_map(|a| a.reply_to.as_deref())
        .collect();
    assert_eq!(reacted.len(), 89);
    // No native threads: every thread is inferred and reported as such.
    let inferred: HashSet<&str> = got
        .inferred
        .iter()
        .flat_map(|(_, ids)| ids.iter().map(String::as_str))
        .collect();
    let threads: HashSet<&str> = got
        .activities
        .iter()
        .filter(|a| matches!(a.kind, Kind::Post | Kind::Reply))
        .filter(|a| a.author.as_ref().is_none_or(|x| x.bot != Some(true)))
        .filter_map(|a| a.thread.as_deref())
        .collect();
    assert_eq!(threads, inferred);
    assert!(got.activities.iter().any(|a| a.kind == Kind::Reply));
    assert_eq!(got.activities[0].source, "houstondatavis");
    // System notices skipped with their reason: purpose 13, archive 9, name 2, topic 2, bot_add 1, pinned_item 1.
    assert_eq!(
        got.problems
            .iter()
            .filter(|p| p.reason == "system message")
            .count(),
        28
    );
    assert_eq!(got.problems.len(), 28);
}

#[test]
fn written_exports_read_back_with_the_same_counts() {
    let (activities, got) = round_trip(&SlackExport, &SlackExport, 5_000, 7, "");
    let messages = activities
        .iter()
        .filter(|a| a.kind != Kind::Reaction)
        .count();
    let back = got
        .activities
        .iter()
        .filter(|a| a.kind != Kind::Reaction)
        .count();
    assert_eq!(
        back,
        messages,
        "{:?} vs {:?}",
        kinds(&got.activities),
        kinds(&activities)
    );
    assert!(got.problems.is_empty(), "{:?}", &got.problems[..1]);
    let joins = |v: &[kith_model::Activity]| v.iter().filter(|a| a.kind == Kind::Join).count();
    assert_eq!(joins(&got.activities), joins(&activities));
    assert!(got.activities.iter().any(|a| a.kind == Kind::Reaction));
    assert_eq!(got.activities[0].source, "kith-demo");
}

fn fixture_files() -> Vec<(String, Vec<u8>)> {
    let dir = fixture("slack-export").join(EXPORT);
    [
        "users.json",
        "channels.json",
        "general/2024-01-02.json",
        "help/2024-01-02.json",
    ]
    .iter()
    .map(|r| (r.to_string(), std::fs::read(dir.join(r)).unwrap()))
    .collect()
}

fn read_mutated(files: &[(String, Vec<u8>)]) {
    let tmp = tempfile::tempdir().unwrap();
    for (rel, bytes) in files {
        let path: PathBuf = tmp.path().join("t Slack export").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    // Never a panic: records, skips or an error.
    let _ = read(
        &SlackExport,
        &[tmp.path().join("t Slack export")],
        &ReadContext::default(),
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(day in proptest::collection::vec(any::<u8>(), 0..400), users in proptest::collection::vec(any::<u8>(), 0..200)) {
        read_mutated(&[("users.json".into(), users), ("general/2024-01-01.json".into(), day)]);
    }

    #[test]
    fn truncated_or_mutated_fixtures_never_panic(which in 0usize..4, cut in 0.0f64..1.0, flips in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 0..6)) {
        let mut files = fixture_files();
        let bytes = &mut files[which].1;
        bytes.truncate(at_fraction(bytes.len(), cut).max(1));
        flip_at_fractions(bytes, &flips);
        read_mutated(&files);
    }
}
