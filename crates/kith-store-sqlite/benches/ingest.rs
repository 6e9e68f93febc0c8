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
    let mut writing_cpu = Duration::ZERO;
    let mut session = store.ingest().expect("start a session");
    session
        .ensure_source("bench", "jsonl")
        .expect("ensure the source");
    let mut audit = ImportAudit::new("jsonl", vec!["synthetic".into()], 0);
    let mut batch = Vec::with_capacity(BATCH);
    let mut synthetic = Synthetic {
        posts: Default::default(),
    };
    let mut i = 0;
    while i < n {
        batch.clear();
        let end = (i + BATCH).min(n);
        batch.extend((i..end).map(|k| synthetic.activity(k)));
        i = end;
        let (t, c) = (Instant::now(), cpu_time());
        let outcome = session.write(&batch).expect("write a batch");
        writing += t.elapsed();
        writing_cpu += cpu_time().saturating_sub(c);
        audit.add(&outcome);
    }
    let (t, c) = (Instant::now(), cpu_time());
    session.commit(&audit).expect("commit");
    writing += t.elapsed();
    writing_cpu += cpu_time().saturating_sub(c);
    let total = started.elapsed();

    let counts = store.counts().expect("counts");
    assert_eq!(counts.activities as usize, n, "every activity stored");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "ingest: {n} activities, {} identities, {} threads",
        counts.identities, counts.threads
    );
    println!(
        "ingest: write path per CPU second {:.0} activities/s ({:.2} s of CPU)",
        n as f64 / writing_cpu.as_secs_f64().max(0.01),
        writing_cpu.as_secs_f64()
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

/// A deterministic stream of activities: one in five opens a thread, the rest answer one of
/// the last 1,000 posts (in its thread, addressing its author).
struct Synthetic {
    posts: std::collections::VecDeque<(usize, u64)>,
}

impl Synthetic {
    fn activity(&mut self, i: usize) -> Activity {
        let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let author_n = (h >> 20) % AUTHORS;
        let mut author = Author::new(format!("u{author_n}"));
        author.name = Some(format!("Member {author_n}"));
        author.handle = Some(format!("member{author_n}"));
        let kind = match h % 10 {
            _ if self.posts.is_empty() => Kind::Post,
            0 | 1 => Kind::Post,
            2..=7 => Kind::Reply,
            8 => Kind::Reaction,
            _ => Kind::Answer,
        };
        let ts = Timestamp {
            secs: 1_600_000_000 + i as i64 * 7,
            micros: (i as u32 % 1000) * 1000,
            offset_min: 0,
        };
        let mut a = Activity::new("bench", format!("m{i}"), kind, ts, Some(author));
        a.channel = Some(format!("c{}", (h >> 8) % 20));
        if kind == Kind::Post {
            a.thread = Some(format!("t{i}"));
            if self.posts.len() == 1000 {
                self.posts.pop_front();
            }
            self.posts.push_back((i, author_n));
        } else {
            let (target, target_author) = self.posts[(h >> 32) as usize % self.posts.len()];
            a.reply_to = Some(format!("m{target}"));
            a.thread = Some(format!("t{target}"));
            a.to = vec![format!("u{target_author}")];
        }
        if kind != Kind::Reaction {
            a.text = Some(format!(
                "Message {i}: has anyone tried the new release with the plugin enabled? It fails on startup {h:x}."
            ));
        }
        a
    }
}

/// CPU time (user + system) of this process so far, from /proc/self/stat (clock ticks of
/// 1/100 s): on a shared machine, wall time says more about the neighbours than about kith.
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
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
