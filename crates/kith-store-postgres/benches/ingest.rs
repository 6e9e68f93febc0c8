//! COPY ingest throughput: 1,000,000 synthetic activities (posts, replies, reactions by 20,000
//! authors in 20 channels) written in batches of 10,000 in one session, into a fresh database.
//!
//! ```text
//! cargo xtask pg                    # in another terminal; prints the URL
//! KITH_TEST_POSTGRES_URL=... cargo bench -p kith-store-postgres --bench ingest
//! ```
//!
//! Prints activities/s for the first import and for a re-import of the same data (all
//! unchanged). Generation time is excluded. `KITH_BENCH_ACTIVITIES` changes the count.

use std::time::{Duration, Instant};

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::{ImportAudit, Store};
use kith_store_postgres::testing::TestServer;

const BATCH: usize = 10_000;
const AUTHORS: u64 = 20_000;

fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` passes --bench.
    if !std::env::args().any(|a| a == "--bench") {
        println!("ingest bench: skipped (run with cargo bench)");
        return;
    }
    let Some(server) = TestServer::from_env("ingest bench") else {
        return;
    };
    let n: usize = std::env::var("KITH_BENCH_ACTIVITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let store = server.fresh_store();
    for pass in ["first import", "re-import (unchanged)"] {
        let (elapsed, outcome) = import(&store, n);
        println!(
            "postgres COPY ingest, {pass}: {n} activities in {:.1} s = {:.0} activities/s ({} inserted, {} updated, {} unchanged)",
            elapsed.as_secs_f64(),
            n as f64 / elapsed.as_secs_f64(),
            outcome.inserted,
            outcome.updated,
            outcome.unchanged
        );
    }
    let counts = store.counts().expect("counts");
    println!(
        "stored: {} activities, {} identities, {} threads",
        counts.activities, counts.identities, counts.threads
    );
}

fn import(store: &dyn Store, n: usize) -> (Duration, kith_store::BatchOutcome) {
    let mut session = store.ingest().expect("ingest session");
    session.ensure_source("bench", "jsonl").expect("source");
    let mut total = kith_store::BatchOutcome::default();
    let mut elapsed = Duration::ZERO;
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for start in (0..n).step_by(BATCH) {
        let batch: Vec<Activity> = (start..(start + BATCH).min(n))
            .map(|i| synthetic(i, &mut rng))
            .collect();
        let t = Instant::now();
        total += session.write(&batch).expect("write");
        elapsed += t.elapsed();
    }
    let t = Instant::now();
    session
        .commit(&ImportAudit::new("jsonl", vec![], 0))
        .expect("commit");
    elapsed += t.elapsed();
    (elapsed, total)
}

fn synthetic(i: usize, rng: &mut u64) -> Activity {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let r = *rng;
    let author_n = r % AUTHORS;
    let author = Author {
        id: format!("u{author_n}"),
        name: Some(format!("User {author_n}")),
        handle: Some(format!("user{author_n}")),
        ..Author::default()
    };
    let kind = match (r >> 20) % 10 {
        0..=1 => Kind::Post,
        2..=7 => Kind::Reply,
        _ => Kind::Reaction,
    };
    let kind = if i < 10 { Kind::Post } else { kind };
    let mut a = Activity::new(
        "bench",
        format!("a{i}"),
        kind,
        Timestamp::from_secs(1_600_000_000 + i as i64 * 13),
        Some(author),
    );
    a.channel = Some(format!("c{}", (r >> 32) % 20));
    if kind == Kind::Post {
        a.thread = Some(format!("t{i}"));
        a.text = Some(format!(
            "Post {i}: how do I configure the frobnicator with {} widgets?",
            r % 1000
        ));
    } else {
        // Replies go to a recent post-ish activity (it may not exist: then it stays unresolved).
        let target = i.saturating_sub(1 + (r >> 40) as usize % 200);
        a.reply_to = Some(format!("a{target}"));
        a.thread = Some(format!("t{}", target - target % 50));
        if kind == Kind::Reply {
            a.text = Some(format!("Reply {i}: set mode to {} and restart.", r % 97));
        }
    }
    a
}
