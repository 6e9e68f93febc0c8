//! `kith demo`: a generated community in its own database, served.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use kith_gen::GenConfig;
use kith_import::{ImportOptions, ingest_records};
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
            Err(e) => {
                return Err(Failure::Usage(format!(
                    "cannot replace the demo database {}: {e}",
                    path.display()
                )));
            }
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
        Some([format, dir]) => {
            let writer = kith_import::writer_by_name(format).ok_or_else(|| {
                let names: Vec<_> = kith_import::writers().iter().map(|w| w.name()).collect();
                Failure::Usage(format!(
                    "--write-export: kith cannot write format `{format}`; available: {}",
                    names.join(", ")
                ))
            })?;
            Some((writer, PathBuf::from(dir)))
        }
        Some(_) => return Err(Failure::Usage("--write-export takes FORMAT and DIR".into())),
    };
    let bind = if args.no_serve {
        None
    } else {
        Some(cx.settings.bind(args.bind)?)
    };

    let store: Arc<dyn Store> = Arc::from(location.open()?);
    store.set_community(&Community {
        name: "Demo community".into(),
        time_zone: "UTC".into(),
    })?;

    let config = GenConfig::new(args.activities, args.seed);
    let generate = || kith_gen::generate(config.clone()).map_err(|e| Failure::Usage(e.to_string()));

    // The generator is deterministic, so the export is written from one run of it and the
    // database filled from another: both hold the same community.
    let export_path = match &export {
        Some((writer, dir)) => {
            cx.out.note(&format!(
                "writing the generated community as {} into {}",
                writer.name(),
                dir.display()
            ));
            Some(writer.write(&mut generate()?, dir)?)
        }
        None => None,
    };

    let started = Instant::now();
    let bar = cx.out.progress("generating");
    let inputs = vec![format!(
        "generator: {} activities, seed {}",
        args.activities, args.seed
    )];
    let total = (args.activities, None);
    let generator = generate()?;
    let audit = ingest_records(
        store.as_ref(),
        "demo",
        inputs,
        &ImportOptions {
            exclusive: true,
            ..ImportOptions::default()
        },
        &bar,
        total,
        |sink| {
            for activity in generator {
                sink.activity(activity);
            }
            Ok(())
        },
    )?;
    let elapsed = started.elapsed().as_secs_f64();
    super::pack(cx, store.as_ref());
    let counts = store.counts()?;
    let where_ = store.describe().location;
    let rate = audit.audit.imported as f64 / elapsed.max(1e-9);
    cx.out.result(
        &serde_json::json!({
            "database": where_, "seed": args.seed, "seconds": elapsed, "activities_per_second": rate,
            "counts": counts, "export": export_path,
        }),
        || {
            let mut t = format!(
                "generated {} activities by {} members in {elapsed:.1} s ({rate:.0}/s) into {where_}",
                counts.activities, counts.members
            );
            if let Some(path) = &export_path {
                t.push_str(&format!("\nexport written to {} (import it with kith import)", path.display()));
            }
            t
        },
    );
    match bind {
        Some(bind) => super::serve_store(cx, store, bind, true),
        None => Ok(()),
    }
}
