//! Database housekeeping: `init`, `sources`, `export`, `backup`, `restore`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};

use kith_store::{Change, Community, SourceSummary};

use super::Context;
use crate::cli::{
    BackupArgs, ExportArgs, ExportFormat, ExportWhat, InitArgs, RestoreArgs, SourcesAction,
    SourcesArgs,
};
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

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

fn csv_row(out: &mut dyn Write, fields: &[&str]) -> std::io::Result<()> {
    let line: Vec<String> = fields.iter().map(|f| csv(f)).collect();
    writeln!(out, "{}", line.join(","))
}

pub fn export(cx: &Context, args: &ExportArgs) -> Result<(), Failure> {
    let store = cx.open()?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(File::create(path).map_err(|e| {
            Failure::Usage(format!("cannot write {}: {e}", path.display()))
        })?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let io = |e: std::io::Error| kith_store::StoreError::Io {
        path: args.output.clone().unwrap_or_else(|| "<stdout>".into()),
        source: e,
    };
    let mut n = 0u64;
    match (args.what, args.format) {
        (ExportWhat::Activities, ExportFormat::Jsonl) => store.export_activities(&mut |e| {
            n += 1;
            kith_model::jsonl::write_line(&mut out, &e.activity, Some(&e.derived)).map_err(io)
        })?,
        (ExportWhat::Activities, ExportFormat::Csv) => {
            csv_row(
                &mut out,
                &[
                    "source",
                    "id",
                    "kind",
                    "ts",
                    "author_id",
                    "author_name",
                    "member",
                    "team",
                    "bot",
                    "channel",
                    "thread",
                    "reply_to",
                    "text",
                    "url",
                    "deleted",
                ],
            )
            .map_err(io)?;
            store.export_activities(&mut |e| {
                n += 1;
                let a = &e.activity;
                let (author_id, author_name) = a.author.as_ref().map_or(("", ""), |au| {
                    (au.id.as_str(), au.name.as_deref().unwrap_or(""))
                });
                let member = e.derived.member.map(|m| m.to_string()).unwrap_or_default();
                csv_row(
                    &mut out,
                    &[
                        &a.source,
                        &a.id,
                        a.kind.as_str(),
                        &a.ts.to_rfc3339(),
                        author_id,
                        author_name,
                        &member,
                        if e.derived.team { "1" } else { "0" },
                        if e.derived.bot { "1" } else { "0" },
                        a.channel.as_deref().unwrap_or(""),
                        a.thread.as_deref().unwrap_or(""),
                        a.reply_to.as_deref().unwrap_or(""),
                        a.text.as_deref().unwrap_or(""),
                        a.url.as_deref().unwrap_or(""),
                        if e.deleted { "1" } else { "0" },
                    ],
                )
                .map_err(io)
            })?
        }
        (ExportWhat::Members, format) => {
            if format == ExportFormat::Csv {
                csv_row(
                    &mut out,
                    &[
                        "id",
                        "display_name",
                        "team",
                        "team_since",
                        "bot",
                        "anonymous",
                        "merged_into",
                        "created_at",
                    ],
                )
                .map_err(io)?;
            }
            let mut after = None;
            loop {
                let page = store.members(after, 10_000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for m in &page {
                    n += 1;
                    match format {
                        ExportFormat::Jsonl => writeln!(
                            out,
                            "{}",
                            serde_json::to_string(m).map_err(|e| Failure::Other(e.into()))?
                        )
                        .map_err(io)?,
                        ExportFormat::Csv => csv_row(
                            &mut out,
                            &[
                                &m.id.to_string(),
                                m.display_name.as_deref().unwrap_or(""),
                                if m.team { "1" } else { "0" },
                                &m.team_since.map(|t| t.to_string()).unwrap_or_default(),
                                if m.bot { "1" } else { "0" },
                                if m.anonymous { "1" } else { "0" },
                                &m.merged_into.map(|t| t.to_string()).unwrap_or_default(),
                                &m.created_at.to_string(),
                            ],
                        )
                        .map_err(io)?,
                    }
                }
            }
        }
        (ExportWhat::Threads, format) => {
            if format == ExportFormat::Csv {
                csv_row(&mut out, &["id", "source", "thread", "inferred"]).map_err(io)?;
            }
            let mut source_names = HashMap::new();
            store.read_changes(kith_store::Watermark::ZERO, &mut |change| {
                match change {
                    Change::Source(s) => {
                        source_names.insert(s.id, s.name);
                    }
                    Change::Thread(t) => {
                        n += 1;
                        let source = source_names.get(&t.source).map_or("", String::as_str);
                        match format {
                            ExportFormat::Jsonl => writeln!(
                                out,
                                "{}",
                                serde_json::json!({ "id": t.id, "source": source, "thread": t.ext_id, "inferred": t.inferred })
                            )
                            .map_err(io)?,
                            ExportFormat::Csv => csv_row(&mut out, &[&t.id.to_string(), source, &t.ext_id, if t.inferred { "1" } else { "0" }]).map_err(io)?,
                        }
                    }
                    _ => {}
                }
                Ok(())
            })?;
        }
    }
    out.flush().map_err(io)?;
    if args.output.is_some() {
        cx.out.note(&format!("exported {n} records"));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::csv;

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv("plain"), "plain");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv("two\nlines"), "\"two\nlines\"");
    }
}
