//! A digest of every field of every [`kith_text::Analysis`] over every labelled message, to
//! prove that a change meant to be output-neutral (a speed-up) is: run it before and after,
//! and the digests must be equal.
//!
//! ```text
//! KITH_SHARED_DATA=/work/shared/data \
//!   cargo run -p kith-text --release --example digest [-- --dump lines.txt]
//! ```
//!
//! Inputs: `messages.tsv`, `holdout2.tsv`, `real.tsv`, `real2.tsv`, `real3.tsv` and (when
//! `KITH_SHARED_DATA` is set) the VADER tweet set. Each message is analysed in each of the
//! three roles (its own structural role is one of them) and in four variants of its text: as
//! written, upper-cased, wrapped in double quotes (the quoted-speech path of the hostility
//! rules) and cut at half its characters; the explanation's sentiment words are included for
//! the text as written. Every float is written as its bit pattern, so equal digests mean
//! bit-identical outputs. Nothing is scored against labels: this reads no label and tunes
//! nothing, so running the held-out sets through it spends no reading.
//!
//! Prints one line per set (messages, analyses, FNV-1a 64 digest) and a total; `--dump FILE`
//! also writes every analysis as one line, for a `diff` when digests differ.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use kith_text::{Analysis, Role, analyze_in, eval, sentiment};

fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn line(out: &mut String, id: &str, role: Role, variant: &str, a: &Analysis) {
    let _ = write!(
        out,
        "{id}\t{}\t{variant}\tlang {} {} {:016x}\tscored {}\tsent {:016x} {:016x} {} {}\thost {:016x}",
        role.as_str(),
        a.language.code,
        a.language.supported,
        a.language.confidence.to_bits(),
        a.scored,
        a.sentiment.score.to_bits(),
        a.sentiment.confidence.to_bits(),
        a.sentiment.evidence_words,
        a.sentiment.technical,
        a.hostility.score.to_bits(),
    );
    for e in &a.hostility.evidence {
        let _ = write!(out, " [{:?} {:?}]", e.kind, e.matched);
    }
    out.push_str("\tintents");
    for m in &a.intents {
        let _ = write!(out, " [{} {:?}]", m.intent.as_str(), m.evidence);
    }
}

fn half(text: &str) -> &str {
    let n = text.chars().count() / 2;
    match text.char_indices().nth(n) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dump = args
        .iter()
        .position(|a| a == "--dump")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let parse = |name: &str, tsv: &str| -> Vec<(String, String)> {
        match eval::parse_labelled(tsv) {
            Ok(set) => set.into_iter().map(|m| (m.id, m.text)).collect(),
            Err(e) => {
                eprintln!("error: {name}: {e}");
                std::process::exit(1);
            }
        }
    };
    let mut sets = vec![
        ("messages", parse("messages", eval::MESSAGES_TSV)),
        ("holdout2", parse("holdout2", eval::HOLDOUT2_TSV)),
        ("real", parse("real", eval::REAL_TSV)),
        ("real2", parse("real2", eval::REAL2_TSV)),
        ("real3", parse("real3", eval::REAL3_TSV)),
    ];
    match std::env::var_os("KITH_SHARED_DATA") {
        Some(dir) => {
            let path = PathBuf::from(dir).join("sentiment-vader-tweets/tweets_GroundTruth.txt");
            match std::fs::read_to_string(&path) {
                Ok(t) => sets.push((
                    "tweets",
                    eval::parse_tweets(&t)
                        .into_iter()
                        .map(|(id, _, text)| (id, text))
                        .collect(),
                )),
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", path.display());
                    std::process::exit(1);
                }
            }
        }
        None => eprintln!("warning: KITH_SHARED_DATA not set: tweets skipped"),
    }
    let mut all_lines = String::new();
    let mut total = FNV_START;
    let mut total_analyses = 0usize;
    for (name, set) in &sets {
        let mut h = FNV_START;
        let mut analyses = 0usize;
        let mut buf = String::new();
        for (id, text) in set {
            let upper = text.to_uppercase();
            let quoted = format!("\"{text}\"");
            let variants = [
                ("as-written", text.as_str()),
                ("upper", upper.as_str()),
                ("quoted", quoted.as_str()),
                ("half", half(text)),
            ];
            for role in Role::ALL {
                for (variant, t) in variants {
                    buf.clear();
                    line(&mut buf, id, role, variant, &analyze_in(t, role));
                    buf.push('\n');
                    h = fnv(h, buf.as_bytes());
                    analyses += 1;
                    if dump.is_some() {
                        let _ = write!(all_lines, "{name}\t{buf}");
                    }
                }
            }
            buf.clear();
            let _ = write!(buf, "{id}\twords");
            for (w, v) in sentiment::evidence(text) {
                let _ = write!(buf, " [{w:?} {:016x}]", v.to_bits());
            }
            buf.push('\n');
            h = fnv(h, buf.as_bytes());
            if dump.is_some() {
                let _ = write!(all_lines, "{name}\t{buf}");
            }
        }
        println!(
            "{name:<9} {:>5} messages {analyses:>6} analyses digest {h:016x}",
            set.len()
        );
        total = fnv(total, &h.to_le_bytes());
        total_analyses += analyses;
    }
    println!("total     {total_analyses:>21} analyses digest {total:016x}");
    if let Some(path) = dump {
        let written =
            std::fs::File::create(&path).and_then(|mut f| f.write_all(all_lines.as_bytes()));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
}
