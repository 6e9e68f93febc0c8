//! The learned intent model's training data: every labelled set that is tuning data (the two
//! written sets, real sets 1 to 9, and sets 11 and 12, which were labelled as training data),
//! never the bar (set 10). Each real set is its own cross-validation fold (its number; set 1
//! is `real.tsv`); the two written sets are always trained on. Shared by `train_intents` and
//! `tests/accuracy.rs` (`#[path]`).

use std::collections::HashMap;
use std::path::Path;

use kith_text::Role;
use kith_text::eval::{self, Labelled};
use kith_text::learned::train::Example;

use crate::list_sets;

type Loader = fn(&Path) -> Result<Vec<Labelled>, String>;

/// The training examples, or what is missing (the shared data's list archive).
pub fn examples(shared: &Path) -> Result<Vec<Example>, String> {
    let fixed: [(&str, &str, Option<u8>); 5] = [
        (eval::MESSAGES_TSV, "", None),
        (eval::HOLDOUT2_TSV, "", None),
        (eval::REAL_TSV, eval::REAL_CONTEXT_TSV, Some(1)),
        (eval::REAL2_TSV, eval::REAL2_CONTEXT_TSV, Some(2)),
        (eval::REAL3_TSV, eval::REAL3_CONTEXT_TSV, Some(3)),
    ];
    let lists: [(u8, Loader, &str); 8] = [
        (4, list_sets::set4, eval::REAL4_CONTEXT_TSV),
        (5, list_sets::set5, eval::REAL5_CONTEXT_TSV),
        (6, list_sets::set6, eval::REAL6_CONTEXT_TSV),
        (7, list_sets::set7, eval::REAL7_CONTEXT_TSV),
        (8, list_sets::set8, eval::REAL8_CONTEXT_TSV),
        (9, list_sets::set9, eval::REAL9_CONTEXT_TSV),
        (11, list_sets::set11, eval::REAL11_CONTEXT_TSV),
        (12, list_sets::set12, eval::REAL12_CONTEXT_TSV),
    ];
    let mut out = Vec::new();
    for (labels, context, fold) in fixed {
        add(&mut out, eval::parse_labelled(labels)?, context, fold)?;
    }
    for (n, load, context) in lists {
        add(&mut out, load(shared)?, context, Some(n))?;
    }
    Ok(out)
}

fn add(
    out: &mut Vec<Example>,
    set: Vec<Labelled>,
    context: &str,
    fold: Option<u8>,
) -> Result<(), String> {
    let roles: HashMap<String, Role> = if context.is_empty() {
        HashMap::new()
    } else {
        eval::parse_context(context)?
    };
    for m in set {
        let role = roles.get(&m.id).copied().unwrap_or(Role::Unknown);
        if let Some(input) = kith_text::learned_input(&m.text, role) {
            let gold = m.intents.iter().fold(0u16, |b, i| b | i.bit());
            out.push(Example { input, gold, fold });
        }
    }
    Ok(())
}
