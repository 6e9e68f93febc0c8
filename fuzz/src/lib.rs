//! What every fuzz target shares: the bundle that packs several files of an export into one
//! fuzz input, and the run of a format's real `Format::read` over those files held in memory.
//! The property is SPEC §9's: no input makes a parser panic (errors and skipped records are
//! fine).
//!
//! A bundle is files joined by [`SEPARATOR`]; each file is its path below the export's folder,
//! a newline, then its bytes. `cargo xtask fuzz seed` packs the fixtures and the real samples
//! this way.

use std::hint::black_box;

use kith_import::{Format, InputFile, ReadContext, RecordSink};
use kith_model::Activity;
use kith_store::Problem;

/// Between two files of a bundle (NUL, record separator, NUL: rare in text exports).
pub const SEPARATOR: &[u8] = b"\x00\x1e\x00";

/// Paths longer than this are cut (no export has them; they only slow the fuzzer down).
const MAX_PATH: usize = 200;

/// The files of a bundle, in order: (path, bytes). A file whose path line is empty or not
/// UTF-8 is named `default`.
pub fn unbundle<'a>(data: &'a [u8], default: &str) -> Vec<(String, &'a [u8])> {
    split(data, SEPARATOR)
        .map(|chunk| {
            let (path, bytes) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (&chunk[..i], &chunk[i + 1..]),
                None => (chunk, &[][..]),
            };
            let path = std::str::from_utf8(path)
                .ok()
                .map(|p| p.trim_matches(['/', '\r', ' ']))
                .filter(|p| !p.is_empty())
                .map_or_else(|| default.to_owned(), |p| cut(p, MAX_PATH).to_owned());
            (path, bytes)
        })
        .collect()
}

fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn split<'a>(data: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                rest = Some(&r[i + sep.len()..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// Keeps nothing, but does with each record what the import does downstream (the content hash
/// that decides duplicate or edit, the canonical line an export writes), so that a record no
/// later stage could handle shows up here.
#[derive(Default)]
pub struct Downstream {
    pub activities: u64,
    pub problems: u64,
}

impl RecordSink for Downstream {
    fn activity(&mut self, activity: Activity) {
        self.activities += 1;
        black_box(activity.content_hash());
        black_box(kith_model::jsonl::to_line(&activity, None));
    }
    fn skip(&mut self, problem: Problem) {
        self.problems += 1;
        black_box(problem);
    }
    fn inferred_threads(&mut self, source: &str, threads: Vec<String>) {
        black_box((source, threads));
    }
}

/// Reads the bundle's files with `format`, as `kith import` does after expanding a folder:
/// the files the format accepts, in path order (a lone file is read whatever its name, as a
/// file given on the command line is). Errors are the expected answer to most inputs.
pub fn read_bundle(format: &dyn Format, data: &[u8], default_name: &str) {
    let files = unbundle(data, default_name);
    let mut inputs: Vec<InputFile> = if files.len() == 1 {
        files
            .into_iter()
            .map(|(path, bytes)| InputFile::in_memory(&path, bytes))
            .collect()
    } else {
        files
            .into_iter()
            .filter(|(path, _)| format.accepts(path))
            .map(|(path, bytes)| InputFile::in_memory(&path, bytes))
            .collect()
    };
    if inputs.is_empty() {
        return;
    }
    inputs.sort_by(|a, b| a.relative.cmp(&b.relative));
    let mut sink = Downstream::default();
    let _ = black_box(format.read(&inputs, &ReadContext::default(), &mut sink));
}
