//! `kith members`: list, show, candidates, resolve, merge, unmerge, merges.

use kith_store::{MemberId, MergeEvidence, MergeId};

use super::Context;
use crate::cli::{MembersAction, MembersArgs};
use crate::failure::Failure;

pub fn members(cx: &Context, args: &MembersArgs) -> Result<(), Failure> {
    let store = cx.open()?;
    match &args.action {
        MembersAction::List { limit, after } => {
            let list = store.members(after.map(MemberId), *limit)?;
            cx.out.result(&list, || {
                let mut t = format!(
                    "{:>8}  {:<32} {:<6} {:<5} {}\n",
                    "id", "name", "team", "bot", "merged into"
                );
                for m in &list {
                    let line = format!(
                        "{:>8}  {:<32} {:<6} {:<5} {}",
                        m.id,
                        m.display_name.as_deref().unwrap_or(if m.anonymous {
                            "(anonymous)"
                        } else {
                            "-"
                        }),
                        if m.team { "yes" } else { "" },
                        if m.bot { "yes" } else { "" },
                        m.merged_into.map(|i| i.to_string()).unwrap_or_default()
                    );
                    t.push_str(line.trim_end());
                    t.push('\n');
                }
                t
            });
        }
        MembersAction::Show { id } => {
            let d = store.member(MemberId(*id))?;
            let sources: std::collections::HashMap<_, _> = store
                .sources()?
                .into_iter()
                .map(|s| (s.id, s.name))
                .collect();
            cx.out.result(&d, || {
                let m = &d.member;
                let mut t = format!(
                    "member {} {}\n",
                    m.id,
                    m.display_name.as_deref().unwrap_or("-")
                );
                if m.team {
                    t.push_str("  team member\n");
                }
                if m.bot {
                    t.push_str("  bot\n");
                }
                if let Some(into) = m.merged_into {
                    t.push_str(&format!("  merged into member {into}\n"));
                }
                t.push_str("  identities:\n");
                for i in &d.identities {
                    let source = sources.get(&i.source).map_or("?", String::as_str);
                    let extra: Vec<&str> =
                        [i.name.as_deref(), i.handle.as_deref(), i.email.as_deref()]
                            .into_iter()
                            .flatten()
                            .collect();
                    t.push_str(&format!(
                        "    #{} {source}: {} {}\n",
                        i.id,
                        i.ext_id,
                        extra.join(", ")
                    ));
                }
                for a in &d.affiliations {
                    t.push_str(&format!(
                        "  affiliation: {} ({:?} to {:?})\n",
                        a.organisation, a.since, a.until
                    ));
                }
                t
            });
        }
        MembersAction::Candidates { threshold } => {
            let threshold = cx.settings.merge_threshold(*threshold)?;
            let (_, review) = kith_identity::proposals(store.as_ref(), threshold, true)?;
            cx.out.result(&review, || {
                if review.is_empty() {
                    return "no merge candidates wait for review".into();
                }
                let mut t = String::new();
                for c in &review {
                    t.push_str(&format!(
                        "members {} and {}: score {:.2}\n",
                        c.into, c.from, c.score
                    ));
                    for e in &c.evidence {
                        t.push_str(&format!(
                            "    {:?} ({:.2}): {}\n",
                            e.rule, e.score, e.detail
                        ));
                    }
                    if let Some(b) = &c.blocked {
                        t.push_str(&format!("    not automatic: {b}\n"));
                    }
                    t.push_str(&format!(
                        "    merge with: kith members merge {} {}\n",
                        c.into, c.from
                    ));
                }
                t
            });
        }
        MembersAction::Resolve { threshold } => {
            let threshold = cx.settings.merge_threshold(*threshold)?;
            let r = kith_identity::resolve(store.as_ref(), threshold)?;
            cx.out.result(&r, || {
                let mut t = format!(
                    "{} merges applied, {} candidates wait for review\n",
                    r.applied.len(),
                    r.review.len()
                );
                for m in &r.applied {
                    t.push_str(&format!(
                        "  merge #{}: member {} into {} ({}, score {:.2})\n",
                        m.id, m.from, m.into, m.evidence.reason, m.evidence.score
                    ));
                }
                t
            });
        }
        MembersAction::Merge { into, from, reason } => {
            let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
            let record = store.merge_members(
                MemberId(*into),
                MemberId(*from),
                &MergeEvidence {
                    reason: reason.clone(),
                    score: 1.0,
                    actor,
                },
            )?;
            cx.out.result(&record, || {
                format!("merge #{}: member {} merged into {} ({} identities moved); undo with kith members unmerge {}", record.id, record.from, record.into, record.identities.len(), record.id)
            });
        }
        MembersAction::Unmerge { merge } => {
            let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
            let record = store.unmerge(MergeId(*merge), &actor)?;
            cx.out.result(&record, || {
                format!(
                    "merge #{} undone: member {} has its identities back",
                    record.id, record.from
                )
            });
        }
        MembersAction::Merges => {
            let log = store.merges()?;
            cx.out.result(&log, || {
                if log.is_empty() {
                    return "no merges yet".into();
                }
                log.iter()
                    .map(|m| {
                        let when = chrono::DateTime::from_timestamp(m.at, 0)
                            .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M").to_string());
                        let undone = m.undone_at.map_or_else(String::new, |_| {
                            format!(" (undone by {})", m.undone_by.as_deref().unwrap_or("?"))
                        });
                        format!(
                            "#{} {when} member {} into {} by {}: {} (score {:.2}){undone}",
                            m.id,
                            m.from,
                            m.into,
                            m.evidence.actor,
                            m.evidence.reason,
                            m.evidence.score
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}
