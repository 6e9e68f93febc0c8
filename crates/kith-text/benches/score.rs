//! Throughput of the baseline text models (language + sentiment + hostility + intents) on one
//! core. SPEC §9 bar: ≥ 50,000 messages/s.
//!
//! First the labelled set repeated to at least 200,000 messages (short, chat-length messages
//! written for the purpose). Then, when `KITH_SHARED_DATA` names the shared data, the texts of
//! three real communities read by kith's own importers (a mailing list, a Q&A site and a Slack
//! workspace), each analysed in its role as the scoring pass does: how fast kith reads what
//! members really write, whose length the rate in messages per second depends on.
//!
//! `cargo bench -p kith-text --bench score`

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use kith_model::{Activity, Kind};
use kith_text::Role;

/// The `kith` binary's allocator: the rates are those of the scoring `kith` runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let set = kith_text::eval::parse_labelled(kith_text::eval::MESSAGES_TSV)
        .unwrap_or_else(|e| panic!("labelled set: {e}"));
    let texts: Vec<(&str, Role)> = set
        .iter()
        .map(|m| (m.text.as_str(), Role::Unknown))
        .collect();
    let repeats = 200_000usize.div_ceil(texts.len());
    let (rate, _) = measure(&texts, repeats);
    let total = repeats * texts.len();
    let bytes = bytes_of(&texts) * repeats;
    println!(
        "kith-text analyze: {total} messages ({:.1} MB) in {:.3} s on one thread = {:.0} messages/s (target >= 50,000)",
        bytes as f64 / 1e6,
        total as f64 / rate,
        rate
    );

    let Some(shared) = std::env::var_os("KITH_SHARED_DATA") else {
        println!("real communities: skipped (KITH_SHARED_DATA is not set)");
        return;
    };
    let shared = Path::new(&shared);
    for (format, dir) in [
        ("mbox", "mbox-r-package-devel"),
        ("stackexchange", "stackexchange-history-meta"),
        ("slack-export", "slack-export-houstondatavis"),
    ] {
        let messages = match read_messages(format, &shared.join(dir)) {
            Ok(m) => m,
            Err(e) => panic!("{dir}: {e}"),
        };
        let texts: Vec<(&str, Role)> = messages.iter().map(|(t, r)| (t.as_str(), *r)).collect();
        // At least about 50,000 messages per pass, so that a pass takes long enough to time.
        let repeats = 50_000usize.div_ceil(texts.len().max(1));
        let (rate, _) = measure(&texts, repeats);
        let bytes = bytes_of(&texts);
        let mean = bytes as f64 / texts.len().max(1) as f64;
        println!(
            "{dir} ({format}): {} messages, mean {mean:.0} bytes: {rate:.0} messages/s, {:.1} MB/s on one thread",
            texts.len(),
            rate * mean / 1e6
        );
    }
}

fn bytes_of(texts: &[(&str, Role)]) -> usize {
    texts.iter().map(|t| t.0.len()).sum()
}

/// Messages per second over `repeats` passes of `texts`, the best of three (after a warm-up
/// pass: lexicons are built on first use), and the hostile count (kept so that nothing is
/// optimised away).
fn measure(texts: &[(&str, Role)], repeats: usize) -> (f64, usize) {
    for &(t, role) in texts {
        black_box(kith_text::analyze_in(t, role));
    }
    let mut best = f64::MAX;
    let mut hostile = 0usize;
    for _ in 0..3 {
        let start = Instant::now();
        hostile = 0;
        for _ in 0..repeats {
            for &(t, role) in texts {
                let a = kith_text::analyze_in(black_box(t), role);
                hostile += usize::from(a.hostility.is_hostile());
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    ((repeats * texts.len()) as f64 / best, black_box(hostile))
}

/// The texts of what `format` reads from `dir`, with the role the scoring pass gives each
/// (`kith_scoring::role_of`: a post opens, a reply, answer or solution replies).
fn read_messages(format: &str, dir: &Path) -> Result<Vec<(String, Role)>, String> {
    struct Texts(Vec<(String, Role)>);
    impl kith_import::RecordSink for Texts {
        fn activity(&mut self, a: Activity) {
            let role = match a.kind {
                Kind::Post => Role::Opening,
                Kind::Reply | Kind::Answer | Kind::Solution => Role::Reply,
                _ => Role::Unknown,
            };
            if let Some(text) = a.text.filter(|t| !t.trim().is_empty()) {
                self.0.push((text, role));
            }
        }
        fn skip(&mut self, _problem: kith_store::Problem) {}
        fn inferred_threads(&mut self, _source: &str, _threads: Vec<String>) {}
    }
    let f = kith_import::format_by_name(format).ok_or("no such format")?;
    let inputs = f.inputs(&[dir.to_path_buf()]).map_err(|e| e.to_string())?;
    let mut texts = Texts(Vec::new());
    f.read(&inputs, &kith_import::ReadContext::default(), &mut texts)
        .map_err(|e| e.to_string())?;
    Ok(texts.0)
}
