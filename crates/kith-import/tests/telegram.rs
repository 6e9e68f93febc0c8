//! `telegram` (Telegram Desktop result.json): a single chat and a whole-account export against
//! golden output, bad input, and a writer round trip.

mod support;

use std::collections::HashMap;

use kith_import::telegram::Telegram;
use kith_import::{ImportError, ReadContext};
use kith_model::Kind;
use proptest::prelude::*;
use support::*;

fn ctx() -> ReadContext {
    ReadContext {
        base_url: Some("https://t.me/acmechat".into()),
        ..ReadContext::default()
    }
}

#[test]
fn fixture_exports_match_their_golden_output() {
    let dir = fixture("telegram");
    let got = read(&Telegram, std::slice::from_ref(&dir), &ctx()).unwrap();
    golden("telegram", &render(&got, &dir));
}

#[test]
fn every_case_of_the_single_chat_is_mapped() {
    let got = read(&Telegram, &[fixture("telegram/single")], &ctx()).unwrap();
    let by_id: HashMap<&str, &kith_model::Activity> =
        got.activities.iter().map(|a| (a.id.as_str(), a)).collect();
    assert!(got.activities.iter().all(|a| a.source == "Acme Chat"));
    assert_eq!(by_id["1700000001:2"].kind, Kind::Join);
    assert_eq!(by_id["1700000001:3"].kind, Kind::Join);
    assert_eq!(by_id["1700000001:14"].kind, Kind::Leave);
    let q = by_id["1700000001:4"];
    assert_eq!(
        (q.kind, q.url.as_deref()),
        (Kind::Post, Some("https://t.me/acmechat/4"))
    );
    let r = by_id["1700000001:4:reaction:👍:user13"];
    assert_eq!(
        (r.kind, r.reply_to.as_deref(), r.ts.secs),
        (Kind::Reaction, Some("1700000001:4"), 1704190020)
    );
    let b = by_id["1700000001:5"];
    assert_eq!(
        (b.kind, b.text.as_deref(), b.reply_to.as_deref()),
        (
            Kind::Reply,
            Some("Try https://d3js.org for maps"),
            Some("1700000001:4")
        )
    );
    assert!(b.attrs.contains_key("edited"));
    let native = by_id["1700000001:6"];
    assert_eq!(
        (
            native.kind,
            native.reply_to.as_deref(),
            native.thread.as_deref()
        ),
        (Kind::Reply, Some("1700000001:4"), Some("1700000001:4"))
    );
    let mention = by_id["1700000001:7"];
    assert_eq!(
        (mention.reply_to.as_deref(), mention.to.as_slice()),
        (Some("1700000001:5"), &["user12".to_string()][..])
    );
    assert_eq!(by_id["1700000001:10"].ts.secs, 1704207600);
    assert!(by_id["1700000001:15"].author.is_none());
    let reasons: Vec<&str> = got.problems.iter().map(|p| p.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "system message",
            "invalid record",
            "system message",
            "unknown subtype",
            "invalid record"
        ]
    );
    assert_eq!(got.problems[1].line, 17);
}

#[test]
fn an_account_export_reads_every_chat_under_its_own_name() {
    let got = read(
        &Telegram,
        &[fixture("telegram/account")],
        &ReadContext::default(),
    )
    .unwrap();
    let sources: Vec<(&str, &str)> = got
        .activities
        .iter()
        .map(|a| (a.source.as_str(), a.id.as_str()))
        .collect();
    assert_eq!(
        sources,
        [
            ("Dev Group", "1700000010:1"),
            ("Dev Group", "1700000010:2"),
            ("Other Group", "1700000011:1"),
            ("Old Group", "1700000012:5")
        ]
    );
    assert_eq!(got.activities[1].reply_to.as_deref(), Some("1700000010:1"));
}

#[test]
fn a_file_cut_mid_message_is_malformed() {
    let text = std::fs::read_to_string(fixture("telegram/single/result.json")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("result.json");
    std::fs::write(&path, &text[..text.find("me too").unwrap()]).unwrap();
    match read(&Telegram, &[path], &ReadContext::default())
        .err()
        .unwrap()
    {
        ImportError::Malformed { line, message, .. } => {
            assert_eq!(line, 12);
            assert!(
                message.contains("expected a Telegram Desktop result.json"),
                "{message}"
            );
        }
        other => panic!("{other}"),
    }
}

#[test]
fn written_exports_read_back_with_the_same_counts() {
    let (activities, got) = round_trip(&Telegram, &Telegram, 5_000, 5, "");
    let count = |v: &[kith_model::Activity], f: &dyn Fn(&kith_model::Activity) -> bool| {
        v.iter().filter(|a| f(a)).count()
    };
    let not_reaction = |a: &kith_model::Activity| a.kind != Kind::Reaction;
    assert_eq!(
        count(&got.activities, &not_reaction),
        count(&activities, &not_reaction)
    );
    let joins = |a: &kith_model::Activity| a.kind == Kind::Join;
    assert_eq!(count(&got.activities, &joins), count(&activities, &joins));
    assert!(count(&got.activities, &|a| a.kind == Kind::Reaction) > 0);
    assert!(got.problems.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..500)) {
        let (_tmp, path) = temp_file("result.json", &bytes);
        let _ = read(&Telegram, &[path], &ReadContext::default());
    }

    #[test]
    fn truncated_or_mutated_fixtures_never_panic(which in 0usize..2, cut in 0.0f64..1.0, flips in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 0..6)) {
        let name = ["telegram/single/result.json", "telegram/account/result.json"][which];
        let mut bytes = std::fs::read(fixture(name)).unwrap();
        bytes.truncate(at_fraction(bytes.len(), cut));
        flip_at_fractions(&mut bytes, &flips);
        let (_tmp, path) = temp_file("result.json", &bytes);
        let _ = read(&Telegram, &[path], &ReadContext::default());
    }
}
