//! Would a small learned model help the complaint rules? Cross-validation inside the **tune
//! split only** (the test split is never read here); the experiment is in
//! `common/complaint_model.rs`, and `accuracy --write` puts the same table in
//! `docs/text-accuracy.md`.
//!
//! ```text
//! cargo run -p kith-text --release --example complaint_cv
//! ```

#[path = "common/complaint_model.rs"]
mod complaint_model;

use kith_text::eval::{MESSAGES_TSV, parse_labelled};

fn main() {
    let set = parse_labelled(MESSAGES_TSV).unwrap_or_else(|e| panic!("{e}"));
    let tune = set.iter().filter(|m| !m.test).count();
    println!("complaint, tune split only ({tune} messages), 5-fold cross-validation");
    for (name, c) in complaint_model::cross_validate(&set) {
        println!(
            "  {name:<40} P {:.2} R {:.2} F1 {:.2}  (tp {} fp {} fn {})",
            c.precision(),
            c.recall(),
            c.f1(),
            c.tp,
            c.fp,
            c.fn_
        );
    }
}
