//! `kith import FORMAT PATH...`

use kith_import::{ImportOptions, format_by_name, formats};

use super::Context;
use crate::cli::ImportArgs;
use crate::failure::Failure;
use crate::output::audit_text;

fn format_list() -> String {
    formats()
        .iter()
        .map(|f| format!("  {:<14} {}", f.name(), f.summary()))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn import(cx: &Context, args: &ImportArgs) -> Result<(), Failure> {
    if args.list_formats {
        let names: Vec<_> = formats()
            .iter()
            .map(|f| serde_json::json!({ "name": f.name(), "summary": f.summary() }))
            .collect();
        cx.out.result(&names, format_list);
        return Ok(());
    }
    let name = args.format.as_deref().unwrap_or_default();
    let format = format_by_name(name).ok_or_else(|| {
        Failure::Usage(format!(
            "unknown import format `{name}`; this kith reads:\n{}",
            format_list()
        ))
    })?;
    for path in &args.paths {
        if !path.exists() {
            return Err(Failure::Usage(format!(
                "{}: no such file or folder",
                path.display()
            )));
        }
    }
    let store = cx.open()?;
    // --base-url, else the configuration file's `[sources.NAME] base_url` for --source NAME.
    let base_url = args.base_url.clone().or_else(|| {
        let name = args.source.as_deref()?;
        cx.settings
            .file
            .sources
            .get(name)
            .and_then(|s| s.base_url.clone())
    });
    let options = ImportOptions {
        source: args.source.clone(),
        base_url,
        dry_run: args.dry_run,
        exclusive: true,
    };
    // Where the change sequence stands before the import (a cheap read), to tell afterwards
    // whether it added or changed any identity.
    let before = if args.dry_run {
        None
    } else {
        Some(store.activity_id_range()?)
    };
    let bar = cx.out.progress("importing");
    let mut audit = kith_import::import(store.as_ref(), format, &args.paths, &options, &bar)?;
    let mut packed = None;
    if !args.dry_run {
        // Identity resolution: merge what is certain, leave the rest for review. Beside it, on
        // the other core, the read packs of what came in (`Store::pack_for_reads`; identities
        // are not in them): the next process builds its snapshot from them.
        let threshold = cx.settings.merge_threshold(None)?;
        let changed = audit.audit.imported + audit.audit.updated > 0;
        // Resolution reads every identity; new activities of members already known, with the
        // same details, leave nothing new to resolve (`identities_changed_since`).
        let resolve = audit.audit.members_created > 0
            || match before {
                Some((_, w)) => kith_identity::identities_changed_since(store.as_ref(), w)?.0,
                None => true,
            };
        if resolve {
            // The ingest session's memory is free now; identity resolution reads every
            // identity.
            crate::hand_back_freed_memory();
        }
        let (resolution, packing) = std::thread::scope(|scope| {
            let packing = changed.then(|| {
                scope.spawn(|| {
                    let started = std::time::Instant::now();
                    store.pack_for_reads().map(|p| (p, started.elapsed()))
                })
            });
            let resolution = if resolve {
                let started = std::time::Instant::now();
                let r = kith_identity::resolve(store.as_ref(), threshold);
                if let Ok(r) = &r {
                    tracing::info!(
                        "identity resolution: {} merged, {} for review, in {:.1} s",
                        r.applied.len(),
                        r.review.len(),
                        started.elapsed().as_secs_f64()
                    );
                }
                r.map(Some)
            } else {
                tracing::info!(
                    "identity resolution: no identity added or changed, nothing to resolve"
                );
                Ok(None)
            };
            let packing =
                packing.map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            (resolution, packing)
        });
        packed = packing;
        if let Some(resolution) = resolution? {
            audit.audit.members_merged = resolution.applied.len() as u64;
            if !resolution.applied.is_empty() {
                store.set_audit_members_merged(audit.id, audit.audit.members_merged)?;
            }
            if !resolution.review.is_empty() {
                cx.out.note(&format!(
                    "{} merge candidates wait for review: kith members candidates",
                    resolution.review.len()
                ));
            }
        }
    }
    if args.source.is_none() && !audit.audit.sources.is_empty() {
        cx.out.note(&format!(
            "source name{}: {} (rename with --source NAME on the next import)",
            if audit.audit.sources.len() == 1 {
                ""
            } else {
                "s"
            },
            audit.audit.sources.join(", ")
        ));
    }
    cx.out.result(&audit, || audit_text(&audit));
    if let Some(packed) = packed {
        super::note_packed(cx, packed);
    }
    // Scoring runs after the commit and the audit (SPEC §9: the ingest figures do not pay for
    // it, and the import is usable before it finishes).
    if !args.dry_run && !args.no_score && audit.audit.imported + audit.audit.updated > 0 {
        super::score::after_import(cx, store.as_ref(), before.as_ref())?;
    }
    Ok(())
}
