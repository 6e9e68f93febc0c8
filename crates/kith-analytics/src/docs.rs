//! `docs/metrics.md`, generated from the registry: every metric's definition and reference
//! SQL. A test fails when the committed file is stale; `KITH_BLESS=1` rewrites it.

use crate::metric::{NO_REFERENCE_SQL, Reference, registry};

/// The text of `docs/metrics.md`.
pub fn metrics_markdown() -> String {
    let mut out = String::from(
        "# Metrics\n\n\
         <!-- Generated from crates/kith-analytics (metric modules); do not edit by hand.\n\
         Regenerate with `KITH_BLESS=1 cargo test -p kith-analytics docs_are_current`. -->\n\n\
         Every metric below is computed by kith's engine from an in-memory snapshot of the activity\n\
         log. Most have a **reference SQL** query over the canonical schema ([data-model.md](data-model.md))\n\
         that returns the same numbers; tests hold the two together on random communities. The few\n\
         that SQL cannot express (engagement levels, the interaction network: SPEC §9) say so and\n\
         how they are verified instead: against a slow, obviously-correct model on random\n\
         communities, by hand-worked examples, and by documented error bounds.\n\n\
         Common rules (SPEC §4.0): times are epoch seconds; *as-of* defaults to the latest activity in\n\
         scope (filters applied, team and bots included) and nothing after it counts; the report range\n\
         `from ..= to` is in local calendar days (default: the 90 days ending on as-of's day); periods\n\
         (day, ISO week from Monday, month, quarter) are calendar periods in the report's time zone;\n\
         elapsed spans are whole 24-hour days; deleted activities never count; team activity (from the\n\
         member's `team_since`) and bots are excluded unless asked for; author-less content counts as a\n\
         human in conversations but never as a member. **Participation**: post, reply, answer, solution,\n\
         contribution, feedback, attend. Quantiles are nearest-rank (the ⌈q·n⌉-th smallest).\n\n\
         ## Reading a report\n\n\
         Every result is tables of numbers and labels, the same in every format. JSON and CSV keep\n\
         them as computed: instants in epoch seconds, durations in seconds (columns ending in `_s`),\n\
         members by the store's member id. The formats people read, `kith report` as text and as\n\
         HTML, show instants (columns ending in `_at`, and `since`, `opened`, `posted`, `start`,\n\
         `end`, `ts`, `hold_from`, `first_participation`, `last_participation`) as local date and\n\
         time in the report's time zone, durations in minutes, hours or days, and members\n\
         (`member_id`, `author_id`, and the lists `top_connections`, `helped_members`) by display\n\
         name and id, `Ada Lovelace (#12)`, and activities (`post_id`, `activity_id`) by their link on\n\
         the platform or the start of their text and id (the first line of the author's own words,\n\
         without quotes, code or signature, after a salutation such as `Hi all,` on a line of its\n\
         own); `kith report --anonymise` shows members and activities by id alone, for a report to\n\
         share.\n\n\
         ## Running the reference SQL\n\n\
         The queries read the canonical tables plus three generated ones: `kith_calendar` (one row per\n\
         local day: `day_start`, `day_end` (exclusive), `day`, `week`, `month`, `quarter` labels, their\n\
         ordinals `day_no`, `week_no`, `month_no`, `quarter_no`, and `period`/`period_no` for the\n\
         report's period), `kith_filter_sources (source_id)` and `kith_filter_channels (channel_id)`.\n\
         Parameters (`:as_of`, `:from_ts`, `:to_ts`, `:first_period`, `:last_period`, `:first_month`,\n\
         `:last_month`, `:include_team`, `:include_bots`, `:inactive_days`, `:inactive_interval_days`,\n\
         `:filter_sources`, `:filter_channels`) are integers substituted into the text. The same text runs on SQLite,\n\
         DuckDB and PostgreSQL.\n\n",
    );
    out.push_str("| metric | what |\n|---|---|\n");
    for m in registry() {
        out.push_str(&format!("| [`{}`](#{}) | {} |\n", m.name, m.name, m.title));
    }
    for m in registry() {
        out.push_str(&format!(
            "\n## {}\n\n`kith report --explain {}`\n\n",
            m.name, m.name
        ));
        out.push_str(&format!("**{}.** ", m.title));
        out.push_str(m.definition.trim());
        match m.reference {
            Reference::Sql(sql) => {
                out.push_str("\n\n<details><summary>Reference SQL</summary>\n\n```sql\n");
                out.push_str(sql.trim());
                out.push_str("\n```\n\n</details>\n");
            }
            Reference::Model(how) => {
                out.push_str("\n\n**No reference SQL.** ");
                out.push_str(NO_REFERENCE_SQL);
                out.push_str("\n\n");
                out.push_str(how.trim());
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_are_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/metrics.md");
        let want = super::metrics_markdown();
        if std::env::var_os("KITH_BLESS").is_some() {
            std::fs::write(&path, &want).expect("write docs/metrics.md");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/metrics.md is stale; rerun with KITH_BLESS=1 to regenerate it"
        );
    }
}
