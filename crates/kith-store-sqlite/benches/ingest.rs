//! Ingest throughput of the SQLite write path: 1,000,000 synthetic canonical activities
//! (about 100 characters of text each, 50,000 authors, threads, replies, addressees) in
//! batches of 10,000, one session, into a fresh database file.
//!
//! Run with `cargo bench -p kith-store-sqlite`. Set `KITH_BENCH_N` for another size. Prints
//! the write rate (generation excluded), the end-to-end rate, and peak RSS (VmHWM).

use std::time::{Duration, Instant};

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::{ImportAudit, Store};
use kith_store_sqlite::SqliteStore;

const BATCH: usize = 10_000;
const AUTHORS: u64 = 50_000;

fn main() {
    let n: usize = std::env::var("KITH_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("bench.db");
    let store = SqliteStore::open(&path).expect("open the bench database");

    let started = Instant::now();
    let mut writing = Duration::ZERO;
    let mut session = store.ingest().expect("start a session");
    session
        .ensure_source("bench", "jsonl")
        .expect("ensure the source");
    let mut audit = ImportAudit::new("jsonl", vec!["synthetic".into()], 0);
    let mut batch = Vec::with_capacity(BATCH);
    let mut i = 0;
    while i < n {
        batch.clear();
        let end = (i + BATCH).min(n);
        batch.extend((i..end).map(synthetic));
        i = end;
        let t = Instant::now();
        let outcome = session.write(&batch).expect("write a batch");
        writing += t.elapsed();
        audit.add(&outcome);
    }
    let t = Instant::now();
    session.commit(&audit).expect("commit");
    writing += t.elapsed();
    let total = started.elapsed();

    let counts = store.counts().expect("counts");
    assert_eq!(counts.activities as usize, n, "every activity stored");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "ingest: {n} activities, {} identities, {} threads",
        counts.identities, counts.threads
    );
    println!(
        "ingest: write path {:.0} activities/s ({:.2} s); end to end with generation {:.0} activities/s ({:.2} s)",
        n as f64 / writing.as_secs_f64(),
        writing.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        total.as_secs_f64()
    );
    println!(
        "ingest: database {:.0} MiB, peak RSS {}",
        size as f64 / 1048576.0,
        peak_rss()
    );
}

/// Activity `i`: one in five opens a thread, the rest answer a recent post.
fn synthetic(i: usize) -> Activity {
    let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let author_n = (h >> 20) % AUTHORS;
    let mut author = Author::new(format!("u{author_n}"));
    author.name = Some(format!("Member {author_n}"));
    author.handle = Some(format!("member{author_n}"));
    let kind = match h % 10 {
        0 | 1 => Kind::Post,
        2..=7 => Kind::Reply,
        8 => Kind::Reaction,
        _ => Kind::Answer,
    };
    let kind = if i < 10 { Kind::Post } else { kind };
    let ts = Timestamp {
        secs: 1_600_000_000 + i as i64 * 7,
        micros: (i as u32 % 1000) * 1000,
        offset_min: 0,
    };
    let mut a = Activity::new("bench", format!("m{i}"), kind, ts, Some(author));
    a.channel = Some(format!("c{}", (h >> 8) % 20));
    if kind == Kind::Post {
        a.thread = Some(format!("t{i}"));
    } else {
        // A recent activity id; its thread is approximated by the same rule.
        let target = i - 1 - ((h >> 32) as usize % i.min(1000));
        a.reply_to = Some(format!("m{target}"));
        a.thread = Some(format!("t{}", target - target % 5));
        a.to = vec![format!(
            "u{}",
            ((target as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) % AUTHORS
        )];
    }
    if kind != Kind::Reaction {
        a.text = Some(format!(
            "Message {i}: has anyone tried the new release with the plugin enabled? It fails on startup for me {h:x}."
        ));
    }
    a
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
