//! Real-message sets 4 to 12 with their texts. Their messages (the R package-devel list) are
//! not in the repository: kith's own mbox importer reads
//! `$KITH_SHARED_DATA/mbox-r-package-devel`, and each labelled message gets the text of the
//! activity its source note names, made as the labellers read it by [`eval::real4_text`].
//! Shared by the accuracy example and `tests/accuracy.rs` (`#[path]`).

use std::collections::HashMap;
use std::path::Path;

use kith_text::eval::{self, Labelled};

/// The texts of the archive's messages by Message-ID (the activity's id).
#[derive(Default)]
struct Texts {
    by_id: HashMap<String, String>,
    skipped: usize,
}

impl kith_import::RecordSink for Texts {
    fn activity(&mut self, activity: kith_model::Activity) {
        self.by_id
            .insert(activity.id, activity.text.unwrap_or_default());
    }

    fn skip(&mut self, _problem: kith_store::Problem) {
        self.skipped += 1;
    }

    fn inferred_threads(&mut self, _source: &str, _threads: Vec<String>) {}
}

/// What a source note of `real4-sources.tsv` starts with, before the Message-ID.
const SOURCE_PREFIX: &str = "r-package-devel message ";

/// Set 4's labelled messages, in file order, with their texts from the shared data in
/// `shared`. `Err` names what is missing: the archive, a message, a source note.
pub fn set4(shared: &Path) -> Result<Vec<Labelled>, String> {
    load(shared, eval::REAL4_TSV, eval::REAL4_SOURCES_TSV, "real4")
}

/// Set 5's, as [`set4`].
pub fn set5(shared: &Path) -> Result<Vec<Labelled>, String> {
    load(shared, eval::REAL5_TSV, eval::REAL5_SOURCES_TSV, "real5")
}

/// Set 6's, as [`set4`].
pub fn set6(shared: &Path) -> Result<Vec<Labelled>, String> {
    load(shared, eval::REAL6_TSV, eval::REAL6_SOURCES_TSV, "real6")
}

/// Set 7's, as [`set4`].
pub fn set7(shared: &Path) -> Result<Vec<Labelled>, String> {
    load(shared, eval::REAL7_TSV, eval::REAL7_SOURCES_TSV, "real7")
}

/// Set 8's, as [`set4`].
pub fn set8(shared: &Path) -> Result<Vec<Labelled>, String> {
    load(shared, eval::REAL8_TSV, eval::REAL8_SOURCES_TSV, "real8")
}

/// Set 9's, as [`set4`].
pub fn set9(shared: &Path) -> Result<Vec<Labelled>, String> {
    load(shared, eval::REAL9_TSV, eval::REAL9_SOURCES_TSV, "real9")
}

/// Set 10's, as [`set4`]. (The training example includes this file and never reads the bar.)
#[allow(dead_code)]
pub fn set10(shared: &Path) -> Result<Vec<Labelled>, String> {
    load(shared, eval::REAL10_TSV, eval::REAL10_SOURCES_TSV, "real10")
}

/// Set 11's (training data), as [`set4`].
pub fn set11(shared: &Path) -> Result<Vec<Labelled>, String> {
    load(shared, eval::REAL11_TSV, eval::REAL11_SOURCES_TSV, "real11")
}

/// Set 12's (training data), as [`set4`].
pub fn set12(shared: &Path) -> Result<Vec<Labelled>, String> {
    load(shared, eval::REAL12_TSV, eval::REAL12_SOURCES_TSV, "real12")
}

fn load(shared: &Path, labels: &str, sources: &str, name: &str) -> Result<Vec<Labelled>, String> {
    let dir = shared.join("mbox-r-package-devel");
    let format = kith_import::format_by_name("mbox").ok_or("kith-import has no mbox format")?;
    let inputs = format
        .inputs(std::slice::from_ref(&dir))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut texts = Texts::default();
    format
        .read(&inputs, &kith_import::ReadContext::default(), &mut texts)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let sources: HashMap<&str, &str> = sources
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .collect();
    let mut set = eval::parse_labelled(labels)?;
    for m in &mut set {
        let source = sources
            .get(m.id.as_str())
            .ok_or_else(|| format!("{name}-sources.tsv: no source for {}", m.id))?;
        let id = source.strip_prefix(SOURCE_PREFIX).ok_or_else(|| {
            format!(
                "real4-sources.tsv: {}: `{source}` is not a list message",
                m.id
            )
        })?;
        let raw = texts.by_id.get(id).ok_or_else(|| {
            format!(
                "{}: message {id} is not in {} ({} messages read, {} skipped)",
                m.id,
                dir.display(),
                texts.by_id.len(),
                texts.skipped
            )
        })?;
        m.text = eval::real4_text(raw);
    }
    Ok(set)
}
