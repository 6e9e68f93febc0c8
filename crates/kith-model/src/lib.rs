//! kith's canonical data model (SPEC §2) and its canonical JSONL format (SPEC §3).
//!
//! Every importer produces [`Activity`] records, every store accepts them, and the exporter,
//! the ingest API and the generator speak them. This crate does no I/O beyond reading and
//! writing the JSONL text it is handed.
//!
//! ```
//! use kith_model::jsonl;
//! let line = r#"{"v":1,"source":"forum","id":"42","kind":"post","ts":"2024-05-01T09:30:00Z","author":{"id":"u1"}}"#;
//! let activity = jsonl::parse_line(line, 1).unwrap();
//! assert_eq!(activity.kind, kith_model::Kind::Post);
//! assert_eq!(jsonl::to_line(&activity, None), line);
//! ```

mod activity;
pub mod jsonl;
mod kind;
pub mod markdown;
mod time;

pub use activity::{Activity, Author, Derived, Sentiment};
pub use kind::{Kind, KindClass, UnknownKind};
pub use time::{BadTimestamp, Timestamp};

/// Checks a source name: 1–200 characters, no control characters, no leading or trailing
/// space. Returns what is wrong, for the user.
pub fn validate_source_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a source name cannot be empty".into());
    }
    if name.chars().count() > 200 {
        return Err(format!(
            "source name `{name}` is longer than 200 characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("source name {name:?} contains control characters"));
    }
    if name.trim() != name {
        return Err(format!("source name {name:?} starts or ends with a space"));
    }
    Ok(())
}
