//! `discord` (DiscordChatExporter JSON): fixtures against golden output, bad input, streaming
//! of a large file, and a writer round trip.

mod support;

use std::collections::HashMap;

use kith_import::discord::Discord;
use kith_import::{ImportError, ReadContext};
use kith_model::Kind;
use proptest::prelude::*;
use support::*;

fn ctx() -> ReadContext {
    ReadContext {
        base_url: Some("https://discord.com".into()),
        ..ReadContext::default()
    }
}

#[test]
fn fixture_export_matches_its_golden_output() {
    let dir = fixture("discord");
    let got = read(&Discord, std::slice::from_ref(&dir), &ctx()).unwrap();
    golden("discord", &render(&got, &dir));
}

#[test]
fn every_case_of_the_fixture_is_mapped() {
    let got = read(&Discord, &[fixture("discord")], &ctx()).unwrap();
    let by_id: HashMap<&str, &kith_model::Activity> =
        got.activities.iter().map(|a| (a.id.as_str(), a)).collect();
    assert!(got.activities.iter().all(|a| a.source == "Acme Guild"));
    assert_eq!(by_id["1001"].kind, Kind::Join);
    let q = by_id["1002"];
    assert_eq!((q.kind, q.thread.as_deref()), (Kind::Post, Some("1002")));
    assert_eq!(
        q.url.as_deref(),
        Some("https://discord.com/channels/100/300/1002")
    );
    assert!(q.attrs.contains_key("edited") && q.attrs.contains_key("files"));
    let r = by_id["1002:reaction:555:12"];
    assert_eq!(
        (r.kind, r.reply_to.as_deref(), r.to.as_slice()),
        (Kind::Reaction, Some("1002"), &["11".to_string()][..])
    );
    assert!(by_id.contains_key("1002:reaction:👍:13"));
    assert_eq!(by_id["1003"].attrs["reaction_counts"]["❤️"], 4);
    assert_eq!(by_id["1003"].attrs["pinned"], true);
    assert_eq!(
        (by_id["1003"].kind, by_id["1003"].reply_to.as_deref()),
        (Kind::Reply, Some("1002"))
    );
    assert_eq!(by_id["1005"].author.as_ref().unwrap().bot, Some(true));
    assert!(by_id["1006"].author.is_none());
    let native = by_id["1007"];
    assert_eq!(
        (
            native.kind,
            native.reply_to.as_deref(),
            native.thread.as_deref(),
            native.to.as_slice()
        ),
        (
            Kind::Reply,
            Some("1002"),
            Some("1002"),
            &["11".to_string()][..]
        )
    );
    // A mention reaches bob's last message.
    assert_eq!(by_id["1008"].reply_to.as_deref(), Some("1003"));
    // Thread files: the parent channel's name, the thread's id.
    let t = by_id["2002"];
    assert_eq!(
        (
            t.kind,
            t.thread.as_deref(),
            t.reply_to.as_deref(),
            t.channel.as_deref()
        ),
        (Kind::Reply, Some("1012"), Some("2001"), Some("general"))
    );
    let reasons: Vec<&str> = got.problems.iter().map(|p| p.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "system message",
            "invalid record",
            "invalid record",
            "unknown subtype",
            "invalid record",
            "system message"
        ]
    );
    assert!(got.problems.iter().all(|p| p.line > 5));
}

#[test]
fn a_file_cut_mid_message_is_malformed_with_its_line() {
    let text = std::fs::read_to_string(
        fixture("discord").join("Acme Guild - general - Map help [1012].json"),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("cut.json");
    std::fs::write(&path, &text[..text.find("\"sure\"").unwrap()]).unwrap();
    match read(&Discord, &[path], &ReadContext::default())
        .err()
        .unwrap()
    {
        ImportError::Malformed { line, message, .. } => {
            assert_eq!(line, 6);
            assert!(
                message.contains("expected a DiscordChatExporter JSON file"),
                "{message}"
            );
        }
        other => panic!("{other}"),
    }
    std::fs::write(tmp.path().join("cut.json"), "[1, 2]").unwrap();
    assert!(matches!(
        read(
            &Discord,
            &[tmp.path().join("cut.json")],
            &ReadContext::default()
        ),
        Err(ImportError::Malformed { .. })
    ));
}

#[test]
fn written_exports_read_back_with_the_same_counts() {
    let (activities, got) = round_trip(&Discord, &Discord, 5_000, 3, "");
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
    let reactions = count(&got.activities, &|a| a.kind == Kind::Reaction);
    assert!(reactions > 0 && reactions <= count(&activities, &|a| a.kind == Kind::Reaction));
    assert!(got.problems.is_empty());
    assert_eq!(got.activities[0].source, "kith-demo");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..500)) {
        let (_tmp, path) = temp_file("x.json", &bytes);
        let _ = read(&Discord, &[path], &ReadContext::default());
    }

    #[test]
    fn truncated_or_mutated_fixtures_never_panic(cut in 0.0f64..1.0, flips in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 0..6)) {
        let mut bytes = std::fs::read(fixture("discord").join("Acme Guild - Text Channels - general [300].json")).unwrap();
        bytes.truncate(at_fraction(bytes.len(), cut));
        flip_at_fractions(&mut bytes, &flips);
        let (_tmp, path) = temp_file("x.json", &bytes);
        let _ = read(&Discord, &[path], &ReadContext::default());
    }
}
