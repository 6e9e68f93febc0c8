//! Database housekeeping: `init`, `sources`, `backup`, `restore`.

use kith_store::{Community, SourceSummary};

use super::Context;
use crate::cli::{BackupArgs, InitArgs, RestoreArgs, SourcesAction, SourcesArgs};
use crate::failure::Failure;
use crate::output::audit_text;

pub fn init(cx: &Context, args: &InitArgs) -> Result<(), Failure> {
    let zone = cx.settings.time_zone(args.tz.as_deref())?;
    let name = cx.settings.community_name(args.name.as_deref());
    let store = cx.open()?;
    let mut community = store.community()?;
    if name.is_some() || zone.is_some() {
        if let Some(n) = name {
            if n.trim().is_empty() {
                return Err(Failure::Usage("the community name cannot be empty".into()));
            }
            community.name = n;
        }
        if let Some(z) = zone {
            community.time_zone = z;
        }
        store.set_community(&community)?;
    }
    // Base URLs of sources named in the configuration file (links back to the platform).
    let known: Vec<String> = store.sources()?.into_iter().map(|s| s.name).collect();
    for (name, source) in &cx.settings.file.sources {
        if let Some(url) = &source.base_url
            && known.contains(name)
        {
            store.set_source_base_url(name, Some(url))?;
        }
    }
    let info = store.describe();
    let config = cx
        .settings
        .file_path
        .as_ref()
        .map(|p| p.display().to_string());
    cx.out.result(&serde_json::json!({ "database": info, "community": community, "config": config }), || {
        format!(
            "database ready: {} ({:?}, schema version {})\ncommunity: {} (time zone {})\nconfiguration: {}",
            info.location,
            info.backend,
            info.schema_version,
            community.name,
            community.time_zone,
            config.as_deref().unwrap_or("none (defaults)")
        )
    });
    Ok(())
}

pub fn sources(cx: &Context, args: &SourcesArgs) -> Result<(), Failure> {
    let store = cx.open()?;
    match &args.action {
        None | Some(SourcesAction::List) => {
            let list = store.sources()?;
            cx.out.result(&list, || sources_text(&list));
        }
        Some(SourcesAction::Delete { name }) => {
            let removed = store.delete_source(name)?;
            cx.out.result(&removed, || {
                format!(
                    "deleted source {name}: {} activities, {} identities, {} members, {} channels, {} threads",
                    removed.activities, removed.identities, removed.members, removed.channels, removed.threads
                )
            });
        }
        Some(SourcesAction::Audits { name, limit }) => {
            let audits = store.audits(name.as_deref(), *limit)?;
            cx.out.result(&audits, || {
                if audits.is_empty() {
                    "no imports yet".into()
                } else {
                    audits.iter().map(audit_text).collect::<Vec<_>>().join("\n")
                }
            });
        }
    }
    Ok(())
}

fn sources_text(list: &[SourceSummary]) -> String {
    if list.is_empty() {
        return "no sources yet: import an export with `kith import FORMAT PATH`".into();
    }
    let mut out = format!(
        "{:<24} {:<14} {:>12} {:>10}  last import\n",
        "source", "format", "activities", "identities"
    );
    for s in list {
        let last = s.last_audit.as_ref().map_or_else(
            || "-".to_owned(),
            |a| {
                let when = chrono::DateTime::from_timestamp(a.audit.finished_at, 0)
                    .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M").to_string());
                format!(
                    "{when} {}: read {}, imported {}, updated {}, skipped {}",
                    a.audit.status.as_str(),
                    a.audit.read,
                    a.audit.imported,
                    a.audit.updated,
                    a.audit.skipped_total()
                )
            },
        );
        out.push_str(&format!(
            "{:<24} {:<14} {:>12} {:>10}  {last}\n",
            s.name, s.format, s.activities, s.identities
        ));
    }
    out
}

pub fn backup(cx: &Context, args: &BackupArgs) -> Result<(), Failure> {
    let store = cx.open()?;
    store.backup(&args.file)?;
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    cx.out.result(
        &serde_json::json!({ "backup": args.file, "bytes": size }),
        || format!("backup written to {} ({size} bytes)", args.file.display()),
    );
    Ok(())
}

pub fn restore(cx: &Context, args: &RestoreArgs) -> Result<(), Failure> {
    let location = cx.location()?;
    location.restore(&args.file)?;
    // Opening checks the restored database (and migrates a backup of an older kith).
    let store = location.open()?;
    let counts = store.counts()?;
    let community: Community = store.community()?;
    cx.out.result(
        &serde_json::json!({ "restored": args.file, "counts": counts }),
        || {
            format!(
                "restored {} into {}: {} members, {} activities ({})",
                args.file.display(),
                store.describe().location,
                counts.members,
                counts.activities,
                community.name
            )
        },
    );
    Ok(())
}
