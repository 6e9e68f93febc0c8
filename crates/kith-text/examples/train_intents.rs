//! Trains kith-text's learned intent model (`src/learned.rs`) on the labelled tuning sets and
//! writes its weights to `data/model/intents.bin` and each intent's threshold and
//! cross-validated figures (each real set held out in turn) to `data/model/intents-cv.md`. Deterministic: the same sets
//! and rules give the same file byte for byte. Needs the shared data (the list sets' texts).
//!
//! ```text
//! KITH_SHARED_DATA=/path/to/shared/data cargo run -p kith-text --release --example train_intents
//! ```
//!
//! Retrain whenever the rules change: their outputs are among the model's inputs.

#[path = "common/list_sets.rs"]
mod list_sets;
#[path = "common/training.rs"]
mod training;

use kith_text::learned::{LEARNED, train};

fn main() {
    let Some(shared) = std::env::var_os("KITH_SHARED_DATA") else {
        eprintln!("error: KITH_SHARED_DATA is not set (the list sets' texts are there)");
        std::process::exit(2);
    };
    let examples = training::examples(std::path::Path::new(&shared)).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    let started = std::time::Instant::now();
    let (model, report) = train::train(&examples);
    eprintln!(
        "{} examples, {} word buckets kept, trained in {:.1} s",
        examples.len(),
        model.buckets.len(),
        started.elapsed().as_secs_f64()
    );
    // The cross-validated figures, as a Markdown table that `accuracy --write` puts in
    // docs/text-accuracy.md.
    let prf = |(tp, fp, fn_): (u32, u32, u32)| {
        let p = f64::from(tp) / f64::from((tp + fp).max(1));
        let r = f64::from(tp) / f64::from((tp + fn_).max(1));
        (p, r, 2.0 * p * r / (p + r).max(1e-12))
    };
    let mut md = String::from(
        "| intent | threshold | examples | cross-validated P | R | F1 |\n|---|---|---|---|---|---|\n",
    );
    for (k, intent) in LEARNED.into_iter().enumerate() {
        let c = report.cv[k];
        let (p, r, f) = prf(c);
        md.push_str(&format!(
            "| {} | {:.3} | {} | {p:.2} | {r:.2} | {f:.2} |\n",
            intent.as_str(),
            report.thresholds[k],
            c.0 + c.2
        ));
    }
    md.push_str("\nBy held-out set (P / R, examples), at the thresholds above:\n\n| set |");
    for intent in LEARNED {
        md.push_str(&format!(" {} |", intent.as_str()));
    }
    md.push_str("\n|---|---|---|---|---|---|\n");
    for (fold, counts) in &report.by_fold {
        md.push_str(&format!("| real set {fold} |"));
        for &c in counts {
            let (p, r, _) = prf(c);
            md.push_str(&format!(" {p:.2} / {r:.2} ({}) |", c.0 + c.2));
        }
        md.push('\n');
    }
    print!("{md}");
    let cv_path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/model/intents-cv.md");
    if let Err(e) = std::fs::write(cv_path, &md) {
        eprintln!("error: {cv_path}: {e}");
        std::process::exit(1);
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/model/intents.bin");
    let bytes = model.to_bytes();
    if let Err(e) = std::fs::write(path, &bytes) {
        eprintln!("error: {path}: {e}");
        std::process::exit(1);
    }
    eprintln!("wrote {path} ({} bytes)", bytes.len());
}
