//! Throughput of the baseline text models (language + sentiment + hostility + intents) on one
//! core: the labelled set repeated to at least 200,000 messages. SPEC §9 bar: ≥ 50,000/s.
//!
//! `cargo bench -p kith-text --bench score`

use std::hint::black_box;
use std::time::Instant;

fn main() {
    let set = kith_text::eval::parse_labelled(kith_text::eval::MESSAGES_TSV)
        .unwrap_or_else(|e| panic!("labelled set: {e}"));
    let texts: Vec<&str> = set.iter().map(|m| m.text.as_str()).collect();
    let repeats = 200_000usize.div_ceil(texts.len());
    let total = repeats * texts.len();
    let bytes: usize = texts.iter().map(|t| t.len()).sum::<usize>() * repeats;
    // Warm-up: lexicons are built on first use.
    for t in &texts {
        black_box(kith_text::analyze(t));
    }
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let mut hostile = 0usize;
        for _ in 0..repeats {
            for t in &texts {
                let a = kith_text::analyze(black_box(t));
                hostile += usize::from(a.hostility.is_hostile());
            }
        }
        black_box(hostile);
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "kith-text analyze: {total} messages ({:.1} MB) in {best:.3} s on one thread = {:.0} messages/s (target >= 50,000)",
        bytes as f64 / 1e6,
        total as f64 / best
    );
}
