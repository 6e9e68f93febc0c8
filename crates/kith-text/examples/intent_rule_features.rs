//! Prints, for every message of the tuning data (`messages.tsv`; never held-out set 2), what
//! the rules see: the intents they detect, the sentiment and hostility scores, and the
//! author's prose. `scripts/minilm_intent_cv.py` reads it to compare a sentence-embedding
//! model with the rules and to combine the two.
//!
//! ```text
//! cargo run -p kith-text --release --example intent_rule_features > rules.tsv
//! ```
//!
//! Columns (tab-separated, no header): id, one 0/1 column per intent in `Intent::ALL` order,
//! sentiment score, hostility score, prose (escaped like `messages.tsv`: `\n`, `\t`, `\\`).

use kith_text::eval::{MESSAGES_TSV, parse_labelled};
use kith_text::{Intent, analyze, prose};

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

fn main() {
    let set = match parse_labelled(MESSAGES_TSV) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    for m in &set {
        let a = analyze(&m.text);
        let mut cols = vec![m.id.clone()];
        cols.extend(Intent::ALL.iter().map(|i| {
            let fired = a.intents.iter().any(|x| x.intent == *i);
            String::from(if fired { "1" } else { "0" })
        }));
        cols.push(a.sentiment.score.to_string());
        cols.push(a.hostility.score.to_string());
        cols.push(escape(&prose::extract(&m.text).text));
        println!("{}", cols.join("\t"));
    }
}
