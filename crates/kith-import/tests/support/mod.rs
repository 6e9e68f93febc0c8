//! Shared by the importers' tests: a sink that keeps everything, reading paths or bytes with a
//! format, golden-file comparison (re-bless with `KITH_BLESS=1`), fixture paths, the real-data
//! switch (`KITH_SHARED_DATA`), the writer round trip, and the byte mangling of the no-panic
//! property tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kith_import::{ExportWriter, Format, ImportError, InputFile, ReadContext, RecordSink};
use kith_model::Activity;
use kith_store::Problem;

#[derive(Default, Debug)]
pub struct Collect {
    pub activities: Vec<Activity>,
    pub problems: Vec<Problem>,
    pub inferred: Vec<(String, Vec<String>)>,
}

impl RecordSink for Collect {
    fn activity(&mut self, activity: Activity) {
        self.activities.push(activity);
    }
    fn skip(&mut self, problem: Problem) {
        self.problems.push(problem);
    }
    fn inferred_threads(&mut self, source: &str, threads: Vec<String>) {
        self.inferred.push((source.to_owned(), threads));
    }
}

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/<path>`.
pub fn fixture(path: &str) -> PathBuf {
    crate_dir().join("tests/fixtures").join(path)
}

/// Reads `paths` with `format` into a [`Collect`].
pub fn read(
    format: &dyn Format,
    paths: &[PathBuf],
    ctx: &ReadContext,
) -> Result<Collect, ImportError> {
    let inputs: Vec<InputFile> = format.inputs(paths)?;
    let mut sink = Collect::default();
    format.read(&inputs, ctx, &mut sink)?;
    Ok(sink)
}

/// A temporary folder holding `bytes` as the file `name` (which may have folders in it); the
/// folder lives as long as the returned guard.
pub fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// Activities by kind name.
pub fn kinds(activities: &[Activity]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for a in activities {
        *m.entry(a.kind.as_str()).or_default() += 1;
    }
    m
}

/// One canonical JSONL line per activity.
pub fn render_activities(activities: &[Activity]) -> String {
    let mut out = String::new();
    for a in activities {
        out.push_str(&kith_model::jsonl::to_line(a, None));
        out.push('\n');
    }
    out
}

/// The canonical text of what was read: one JSONL line per activity, then `# skip` and
/// `# inferred` lines; file names relative to `base`.
pub fn render(c: &Collect, base: &Path) -> String {
    let base = base.display().to_string();
    let mut out = render_activities(&c.activities);
    for p in &c.problems {
        let file = p
            .file
            .strip_prefix(&base)
            .unwrap_or(&p.file)
            .trim_start_matches('/');
        out.push_str(&format!(
            "# skip {file} line {} {}: [{}] {}\n",
            p.line,
            p.location.as_deref().unwrap_or("-"),
            p.reason,
            p.message
        ));
    }
    for (source, ids) in &c.inferred {
        out.push_str(&format!("# inferred {source}: {}\n", ids.join(" ")));
    }
    out
}

/// Compares with `tests/golden/<name>.jsonl`, byte for byte; `KITH_BLESS=1` rewrites it.
pub fn golden(name: &str, actual: &str) {
    let path = crate_dir()
        .join("tests/golden")
        .join(format!("{name}.jsonl"));
    if std::env::var_os("KITH_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (bless with KITH_BLESS=1)", path.display()));
    if expected != actual {
        for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
            if e != a {
                panic!(
                    "{} differs at line {}:\nexpected: {e}\nactual:   {a}\n(re-bless with KITH_BLESS=1 if intended)",
                    path.display(),
                    i + 1
                );
            }
        }
        panic!(
            "{}: line counts differ ({} expected, {} actual); re-bless with KITH_BLESS=1 if intended",
            path.display(),
            expected.lines().count(),
            actual.lines().count()
        );
    }
}

/// The shared real data folder (`KITH_SHARED_DATA`), or `None` (printing
/// `skipped: KITH_SHARED_DATA not set`) when it is not set or empty; in CI (`CI=true`) a
/// missing setting fails.
pub fn shared_data_root() -> Option<PathBuf> {
    match std::env::var_os("KITH_SHARED_DATA") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "KITH_SHARED_DATA must be set in CI"
            );
            println!("skipped: KITH_SHARED_DATA not set");
            None
        }
    }
}

/// `sub` in the shared real data folder, which must exist when the folder is set; `None` as
/// for [`shared_data_root`].
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let path = shared_data_root()?.join(sub);
    assert!(path.exists(), "{} does not exist", path.display());
    Some(path)
}

/// The writer round trip: `n` activities generated with `seed`, written by `writer` into a
/// temporary folder (or its subfolder `sub` when not empty), read back with `format`. Returns
/// what was generated and what was read.
pub fn round_trip(
    writer: &dyn ExportWriter,
    format: &dyn Format,
    n: u64,
    seed: u64,
    sub: &str,
) -> (Vec<Activity>, Collect) {
    let activities: Vec<Activity> = kith_gen::generate(kith_gen::GenConfig::new(n, seed))
        .unwrap()
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let dir = if sub.is_empty() {
        tmp.path().to_owned()
    } else {
        tmp.path().join(sub)
    };
    let path = writer
        .write(&mut activities.clone().into_iter(), &dir)
        .unwrap();
    let got = read(format, &[path], &ReadContext::default()).unwrap();
    (activities, got)
}

/// `fraction` (0 to 1) of the way into `len` bytes.
pub fn at_fraction(len: usize, fraction: f64) -> usize {
    ((len as f64) * fraction) as usize
}

/// Overwrites the bytes at the given fractions of the length (none past the end).
pub fn flip_at_fractions(bytes: &mut [u8], flips: &[(f64, u8)]) {
    let len = bytes.len();
    for &(at, b) in flips {
        if let Some(x) = bytes.get_mut(at_fraction(len, at)) {
            *x = b;
        }
    }
}

/// Overwrites the byte at `at`, wrapped to the length (nothing in an empty input).
pub fn flip_wrapping(bytes: &mut [u8], at: usize, byte: u8) {
    if !bytes.is_empty() {
        let i = at % bytes.len();
        bytes[i] = byte;
    }
}

/// Copies the folder `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Arbitrary JSON for the no-panic properties: null, booleans, integers, strings matching
/// `strings` and each of `fixed`, nested up to 3 deep in arrays and in objects of up to
/// `width - 1` entries whose keys are the format's own `keys` or short names.
pub fn json_value(
    strings: &'static str,
    fixed: &'static [&'static str],
    keys: &'static [&'static str],
    width: usize,
) -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    use proptest::strategy::Union;
    use serde_json::Value;
    let mut leaves: Vec<BoxedStrategy<Value>> = vec![
        Just(Value::Null).boxed(),
        any::<bool>().prop_map(Value::from).boxed(),
        any::<i64>().prop_map(Value::from).boxed(),
        strings.prop_map(Value::from).boxed(),
    ];
    leaves.extend(fixed.iter().map(|&s| Just(Value::from(s)).boxed()));
    Union::new(leaves).prop_recursive(3, 24, width as u32, move |inner| {
        let mut names: Vec<BoxedStrategy<String>> =
            keys.iter().map(|&k| Just(k.to_owned()).boxed()).collect();
        names.push("[a-z_]{1,8}".boxed());
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(Union::new(names), inner, 0..width)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
