//! `kith demo`: a generated community in its own database, served.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use kith_gen::GenConfig;
use kith_import::{ImportError, ImportOptions, ingest_records};
use kith_store::{Community, Store};

use super::Context;
use crate::cli::DemoArgs;
use crate::db::Location;
use crate::failure::Failure;

/// The demo's own database, replaced on every run.
pub const DEMO_DATABASE: &str = "./kith-demo.db";

/// Removes a SQLite database file and its WAL companions.
fn remove_sqlite(path: &Path) -> Result<(), Failure> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(PathBuf::from(p)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Failure::Usage(format!("cannot replace the demo database {}: {e}", path.display()))),
        }
    }
    Ok(())
}

pub fn demo(cx: &Context, args: &DemoArgs) -> Result<(), Failure> {
    // Only --database on this command line counts: KITH_DATABASE and the configuration file
    // name the user's own data, which the demo must never touch.
    let location = match cx.settings.database_flag() {
        Some(url) => Location::parse(url)?,
        None => {
            let path = PathBuf::from(DEMO_DATABASE);
            remove_sqlite(&path)?;
            Location::Sqlite(path)
        }
    };
    let export = match args.write_export.as_deref() {
        None => None,
        Some([format, dir]) if format == "jsonl" => Some(PathBuf::from(dir)),
        Some([format, _]) => {
            return Err(Failure::Usage(format!(
                "--write-export: format `{format}` cannot be written yet; available: jsonl"
            )));
        }
        Some(_) => return Err(Failure::Usage("--write-export takes FORMAT and DIR".into())),
    };
    let bind = if args.no_serve { None } else { Some(cx.settings.bind(args.bind)?) };

    let store: Arc<dyn Store> = Arc::from(location.open()?);
    store.set_community(&Community { name: "Demo community".into(), time_zone: "UTC".into() })?;

    let config = GenConfig::new(args.activities, args.seed);
    let generator = kith_gen::generate(config.clone()).map_err(|e| Failure::Usage(e.to_string()))?;
    let mut writer = match &export {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Failure::Usage(format!("cannot create {}: {e}", dir.display())))?;
            let path = dir.join(format!("{}.jsonl", config.source));
            let file = File::create(&path).map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
            Some((path, BufWriter::with_capacity(1 << 20, file)))
        }
        None => None,
    };

    let started = Instant::now();
    let bar = cx.out.progress("generating");
    let inputs = vec![format!("generator: {} activities, seed {}", args.activities, args.seed)];
    let total = (args.activities, None);
    let audit = ingest_records(store.as_ref(), "demo", inputs, &ImportOptions::default(), &bar, total, |sink| {
        for activity in generator {
            if let Some((path, w)) = writer.as_mut() {
                kith_model::jsonl::write_line(w, &activity, None).map_err(|e| ImportError::io(path, e))?;
            }
            sink.activity(activity);
        }
        if let Some((path, w)) = writer.as_mut() {
            w.flush().map_err(|e| ImportError::io(path, e))?;
        }
        Ok(())
    })?;
    let elapsed = started.elapsed().as_secs_f64();
    let counts = store.counts()?;
    let where_ = store.describe().location;
    let rate = audit.audit.imported as f64 / elapsed.max(1e-9);
    cx.out.result(
        &serde_json::json!({
            "database": where_, "seed": args.seed, "seconds": elapsed, "activities_per_second": rate,
            "counts": counts, "export": export.as_ref().map(|d| d.join(format!("{}.jsonl", config.source))),
        }),
        || {
            let mut t = format!(
                "generated {} activities by {} members in {elapsed:.1} s ({rate:.0}/s) into {where_}",
                counts.activities, counts.members
            );
            if let Some(dir) = &export {
                t.push_str(&format!("\nexport written to {}", dir.join(format!("{}.jsonl", config.source)).display()));
            }
            t
        },
    );
    match bind {
        Some(bind) => super::serve_store(cx, store, bind, true),
        None => Ok(()),
    }
}
