//! What the program prints: progress bars on standard error, results on standard output as
//! text or (`--json`) JSON.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kith_store::{ImportAudit, StoredAudit};
use serde::Serialize;

/// Global output choices.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
}

impl Output {
    /// Prints `value` as one JSON document, or `text()` as text (unless quiet).
    pub fn result<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) {
        if self.json {
            match serde_json::to_string_pretty(value) {
                Ok(s) => emit(&s),
                Err(e) => eprintln!("kith: cannot render JSON: {e}"),
            }
        } else if !self.quiet {
            let t = text();
            if !t.is_empty() {
                emit(t.trim_end());
            }
        }
    }

    /// A note for people on standard error (never in JSON mode's standard output).
    pub fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    pub fn progress(&self, label: &'static str) -> Bar {
        let bar = ProgressBar::with_draw_target(
            None,
            if self.quiet {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        Bar { bar, label }
    }
}

/// Writes one result to standard output. A reader that went away (`kith ... | head`) is not an
/// error of ours: the rest is dropped quietly, as Unix tools do, instead of panicking like
/// `println!`.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("kith: cannot write to standard output: {e}");
    }
}

/// A progress bar for long work (hidden when standard error is not a terminal).
pub struct Bar {
    bar: ProgressBar,
    label: &'static str,
}

impl kith_import::Progress for Bar {
    fn start(&self, total: u64, bytes: bool) {
        self.bar.set_length(total);
        let template = if bytes {
            "{prefix} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}"
        } else {
            "{prefix} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_prefix(self.label);
    }

    fn update(&self, done: u64) {
        self.bar.set_position(done);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl kith_scoring::Progress for Bar {
    fn start(&self, total: u64) {
        kith_import::Progress::start(self, total, false);
    }

    fn update(&self, done: u64) {
        self.bar.set_position(done);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn when(secs: Option<i64>) -> String {
    secs.and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(
            || "-".into(),
            |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
        )
}

/// The audit as people read it.
pub fn audit_text(stored: &StoredAudit) -> String {
    let a: &ImportAudit = &stored.audit;
    let mut out = String::new();
    let status = match a.status {
        kith_store::AuditStatus::Committed => format!("import #{} committed", stored.id),
        kith_store::AuditStatus::DryRun => "dry run: nothing was stored".into(),
        kith_store::AuditStatus::Failed => "import failed: nothing was stored".into(),
    };
    out.push_str(&format!(
        "{} ({}) into source{} {}\n",
        status,
        a.format,
        if a.sources.len() == 1 { "" } else { "s" },
        a.sources.join(", ")
    ));
    out.push_str(&format!(
        "  read {}  imported {}  updated {}  skipped {}\n",
        a.read,
        a.imported,
        a.updated,
        a.skipped_total()
    ));
    for (reason, n) in &a.skipped {
        out.push_str(&format!("    {reason}: {n}\n"));
    }
    out.push_str(&format!(
        "  time range {} to {}\n",
        when(a.first_ts),
        when(a.last_ts)
    ));
    out.push_str(&format!(
        "  members created {}  merged {}\n",
        a.members_created, a.members_merged
    ));
    let shown = a.problems.len().min(20);
    if shown > 0 {
        out.push_str("  skipped records:\n");
        for p in &a.problems[..shown] {
            let at = match (&p.location, p.line) {
                (Some(l), 0) => format!("{} ({l})", p.file),
                (Some(l), line) => format!("{}:{line} ({l})", p.file),
                (None, line) => format!("{}:{line}", p.file),
            };
            out.push_str(&format!("    {at}: {}: {}\n", p.reason, p.message));
        }
        let more = a
            .skipped_total()
            .saturating_sub(shown as u64 + a.skipped.get("duplicate").copied().unwrap_or(0));
        if more > 0 {
            out.push_str(&format!(
                "    ... and {more} more (kith sources audits --json lists up to {})\n",
                ImportAudit::MAX_PROBLEMS
            ));
        }
    }
    out
}
