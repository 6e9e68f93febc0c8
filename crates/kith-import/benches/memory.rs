//! Memory as the input grows, on the largest real sample: the r-package-devel pipermail archive
//! (46 quarterly files, 33.7 MB, 11,114 messages; `KITH_SHARED_DATA`). Reads the first 1, 3, 12
//! and all 46 files, each twice: with the `mbox` format into a counting sink (the parser alone)
//! and as a whole `import` into a fresh SQLite file (parser, runner, store). Each size runs in a
//! fresh process (this program started again with `KITH_MEMORY_FILES=n`), so that no step
//! inherits another's memory; the peak is VmHWM, reset between the two parts of a step.
//! `KITH_SHARED_DATA=/work/shared/data cargo bench -p kith-import --bench memory`

mod support;

use std::path::PathBuf;

use kith_import::{Format, ImportOptions, import};
use kith_store_sqlite::SqliteStore;

fn main() {
    let Some(root) = std::env::var_os("KITH_SHARED_DATA").map(PathBuf::from) else {
        println!("skipped: KITH_SHARED_DATA not set");
        return;
    };
    let archive = root.join("mbox-r-package-devel");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&archive)
        .expect("the r-package-devel archive")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    if let Some(n) = std::env::var("KITH_MEMORY_FILES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        step(&files[..n.min(files.len())]);
        return;
    }
    println!("| files | MB | messages | parser peak (MiB) | import into SQLite peak (MiB) |");
    println!("|---|---|---|---|---|");
    let me = std::env::current_exe().expect("this program");
    for n in [1, 3, 12, files.len()] {
        let status = std::process::Command::new(&me)
            .env("KITH_MEMORY_FILES", n.to_string())
            .status()
            .expect("a step");
        assert!(status.success(), "step with {n} files failed");
    }
}

/// Reads and imports `files`, printing one table row.
fn step(files: &[PathBuf]) {
    let format = &kith_import::mbox::Mbox;
    let n = files.len();
    {
        let part = tempfile::tempdir().expect("temporary folder");
        // A folder holding the first `n` files, so that the source name stays the folder's.
        let folder = part.path().join("r-package-devel");
        std::fs::create_dir_all(&folder).expect("folder");
        let mut bytes = 0;
        for f in files {
            let target = folder.join(f.file_name().expect("file name"));
            std::fs::copy(f, &target).expect("copy");
            bytes += std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
        }
        let (sink, _) = support::time_read(format as &dyn Format, &folder);
        // time_read prints a line of its own; the row below is what this bench is for.
        let parser_peak = support::peak_rss_mb();

        let db = part.path().join("kith.db");
        let store = SqliteStore::open(&db).expect("SQLite file");
        support::reset_peak();
        let audit = import(
            &store,
            format,
            std::slice::from_ref(&folder),
            &ImportOptions::default(),
            &(),
        )
        .expect("import");
        let import_peak = support::peak_rss_mb();
        assert_eq!(audit.audit.read, sink.activities);
        println!(
            "| {n} | {:.1} | {} | {parser_peak:.1} | {import_peak:.1} |",
            bytes as f64 / 1e6,
            sink.activities,
        );
    }
}
