//! The `jsonl` importer (kith's canonical format): lines that are JSON but no activity are
//! skipped with their line, lines of another source than `--source` are skipped, a line that
//! is not JSON stops the import at its line; no input panics.

mod support;

use std::path::PathBuf;

use kith_import::{ImportError, ReadContext};
use support::{Collect, temp_file};

const FORMAT: &kith_import::jsonl::Jsonl = &kith_import::jsonl::Jsonl;

fn example() -> String {
    std::fs::read_to_string(support::crate_dir().join("../../docs/formats/example.jsonl")).unwrap()
}

fn read(path: PathBuf, source: Option<&str>) -> Result<Collect, ImportError> {
    let ctx = ReadContext {
        source: source.map(str::to_owned),
        ..ReadContext::default()
    };
    support::read(FORMAT, &[path], &ctx)
}

#[test]
fn the_documented_example_reads_whole() {
    let text = example();
    let (_dir, path) = temp_file("example.jsonl", text.as_bytes());
    let out = read(path, None).unwrap();
    assert_eq!(out.activities.len(), text.lines().count());
    assert!(out.problems.is_empty(), "{:?}", out.problems);
}

#[test]
fn invalid_records_and_other_sources_are_skipped_with_their_lines() {
    let first = example().lines().next().unwrap().to_owned();
    let text = format!(
        "{first}\n{{\"v\":1,\"source\":\"forum\",\"id\":\"x\"}}\n{}\n",
        first.replace("\"source\":\"forum\"", "\"source\":\"elsewhere\"")
    );
    let (_dir, path) = temp_file("mixed.jsonl", text.as_bytes());
    let out = read(path, Some("forum")).unwrap();
    assert_eq!(out.activities.len(), 1);
    let skipped: Vec<(u64, &str)> = out
        .problems
        .iter()
        .map(|p| (p.line, p.reason.as_str()))
        .collect();
    assert_eq!(skipped, [(2, "invalid record"), (3, "source mismatch")]);
    assert!(out.problems.iter().all(|p| p.file.ends_with("mixed.jsonl")));
}

#[test]
fn a_line_that_is_not_json_is_malformed_at_its_line() {
    let first = example().lines().next().unwrap().to_owned();
    let (_dir, path) = temp_file(
        "cut.jsonl",
        format!("{first}\n{first}\n{{\"v\":1,").as_bytes(),
    );
    match read(path, None) {
        Err(ImportError::Malformed { line, file, .. }) => {
            assert_eq!(line, 3);
            assert!(file.ends_with("cut.jsonl"));
        }
        other => panic!("expected malformed, got {other:?}"),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
        let (_dir, path) = temp_file("random.jsonl", &bytes);
        let _ = read(path, None);
    }

    #[test]
    fn mutated_examples_never_panic(
        cut in 0usize..4000,
        flips in proptest::collection::vec((0usize..4000, proptest::prelude::any::<u8>()), 0..16),
    ) {
        let mut bytes = example().into_bytes();
        for (at, b) in flips {
            support::flip_wrapping(&mut bytes, at, b);
        }
        bytes.truncate(cut % (bytes.len() + 1));
        let (_dir, path) = temp_file("mutated.jsonl", &bytes);
        let _ = read(path, Some("forum"));
    }
}
