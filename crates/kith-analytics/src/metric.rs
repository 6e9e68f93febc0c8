//! The metric framework: what a metric is (name, definition, reference SQL, fast
//! implementation), what it returns (tables of cells, the same shape the reference SQL
//! returns), and the registry of all metrics.

use serde::Serialize;

use crate::scope::Scope;

/// One metric: one module in `metrics/`.
pub struct MetricDef {
    /// The name users type: `kith report --explain <name>`.
    pub name: &'static str,
    pub title: &'static str,
    /// Markdown: what the numbers mean, precisely enough to recompute them by hand.
    pub definition: &'static str,
    /// What the fast implementation is checked against: reference SQL, or (for the metrics SQL
    /// cannot express, SPEC §9) a slow model in Rust.
    pub reference: Reference,
    /// The fast implementation. Never does I/O.
    pub compute: fn(&Scope<'_>) -> MetricValue,
}

/// How a metric's numbers can be checked independently of the fast implementation.
#[derive(Debug, Clone, Copy)]
pub enum Reference {
    /// One or more `SELECT` statements separated by `;`, one per table of the result, over the
    /// canonical schema plus `kith_calendar`, `kith_filter_sources (source_id)` and
    /// `kith_filter_channels (channel_id)`, with integer parameters `:name`
    /// ([`crate::params::SqlParams`]). The oracle tests run it against the fast result.
    Sql(&'static str),
    /// No reference SQL: the metric walks graphs or per-member state machines that the shared
    /// SQL subset cannot express (SPEC §9 names network metrics and engagement levels).
    /// Markdown saying how it is verified instead (a slow, obviously-correct Rust model
    /// compared on random communities, hand-worked examples, documented error bounds).
    Model(&'static str),
}

impl MetricDef {
    /// The reference SQL, when the metric has one.
    pub fn reference_sql(&self) -> Option<&'static str> {
        match self.reference {
            Reference::Sql(sql) => Some(sql),
            Reference::Model(_) => None,
        }
    }

    /// How a metric without reference SQL is verified.
    pub fn verified_by(&self) -> Option<&'static str> {
        match self.reference {
            Reference::Sql(_) => None,
            Reference::Model(how) => Some(how),
        }
    }
}

/// A cell of a result table. Integers stay integers so the oracle compares them exactly.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Cell {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// Same value: integers and text exactly; reals to 1e-12 relative (the SQL and Rust
    /// divisions are the same IEEE operation, the tolerance only covers engines that reorder).
    pub fn same(&self, other: &Cell) -> bool {
        match (self, other) {
            (Cell::Null, Cell::Null) => true,
            (Cell::Int(a), Cell::Int(b)) => a == b,
            (Cell::Text(a), Cell::Text(b)) => a == b,
            (a, b) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                _ => false,
            },
        }
    }
}

impl From<i64> for Cell {
    fn from(v: i64) -> Cell {
        Cell::Int(v)
    }
}

impl From<Option<i64>> for Cell {
    fn from(v: Option<i64>) -> Cell {
        v.map_or(Cell::Null, Cell::Int)
    }
}

impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Cell {
        v.map_or(Cell::Null, Cell::Real)
    }
}

impl From<String> for Cell {
    fn from(v: String) -> Cell {
        Cell::Text(v)
    }
}

impl From<&str> for Cell {
    fn from(v: &str) -> Cell {
        Cell::Text(v.to_owned())
    }
}

/// What a column's values stand for, so that the formats people read (`kith report` as text
/// and HTML) can show them as such; the cells themselves stay numbers (JSON and CSV keep
/// epoch seconds, seconds and member ids). Decided by the column's name, the same in every
/// metric ([`column_kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// An instant, in epoch seconds.
    Instant,
    /// A duration, in seconds.
    Seconds,
    /// A member id (the store's).
    Member,
    /// Member ids separated by spaces, as text.
    Members,
    /// An activity id (the store's): a post, a message.
    Activity,
    /// Anything else: counts, shares, labels, other ids.
    Plain,
}

/// Instants whose name does not end in `_at`.
const INSTANT_COLUMNS: &[&str] = &[
    "since",
    "opened",
    "posted",
    "first_participation",
    "last_participation",
    "start",
    "end",
    "ts",
    "hold_from",
];
const MEMBER_COLUMNS: &[&str] = &["member_id", "author_id"];
const MEMBER_LIST_COLUMNS: &[&str] = &["top_connections", "helped_members"];
const ACTIVITY_COLUMNS: &[&str] = &["post_id", "activity_id"];

/// The kind of a column by its name: instants end in `_at` or are named in a short list
/// (`since`, `opened`, `last_participation`, …), durations end in `_s`, members are
/// `member_id` and `author_id`, member lists `top_connections` and `helped_members`,
/// activities `post_id` and `activity_id`.
pub fn column_kind(column: &str) -> ColumnKind {
    if column.ends_with("_at") || INSTANT_COLUMNS.contains(&column) {
        ColumnKind::Instant
    } else if column.ends_with("_s") {
        ColumnKind::Seconds
    } else if MEMBER_COLUMNS.contains(&column) {
        ColumnKind::Member
    } else if MEMBER_LIST_COLUMNS.contains(&column) {
        ColumnKind::Members
    } else if ACTIVITY_COLUMNS.contains(&column) {
        ColumnKind::Activity
    } else {
        ColumnKind::Plain
    }
}

/// One result table: named columns, rows in a defined order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub name: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(name: &'static str, columns: &[&'static str]) -> Table {
        Table {
            name,
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(
            row.len(),
            self.columns.len(),
            "row width of table {}",
            self.name
        );
        self.rows.push(row);
    }

    /// The cell at `row`, column `name`.
    pub fn get(&self, row: usize, name: &str) -> Option<&Cell> {
        let c = self.columns.iter().position(|&x| x == name)?;
        self.rows.get(row)?.get(c)
    }
}

/// What a metric returns: its tables, in the order of its reference SQL statements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricValue {
    pub metric: &'static str,
    pub tables: Vec<Table>,
}

impl MetricValue {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// Fewer observations than this and a summary is flagged `small_sample`.
pub const SMALL_SAMPLE: i64 = 30;

/// The nearest-rank quantile of sorted values: the ⌈q·n⌉-th smallest, q = num/den.
pub fn nearest_rank(sorted: &[i64], num: u64, den: u64) -> Option<i64> {
    let n = sorted.len() as u64;
    if n == 0 {
        return None;
    }
    let rank = (num * n).div_ceil(den).max(1);
    sorted.get(rank as usize - 1).copied()
}

/// `a / b` as the reference SQL computes it (`1.0 * a / b`), `None` when `b` is 0.
pub fn share(a: i64, b: i64) -> Option<f64> {
    (b != 0).then(|| a as f64 / b as f64)
}

/// The scope every reference query starts from, as common table expressions:
/// `act` (live activities in the filters up to as-of, with their member and flags) and
/// `counted` (the rows of `act` whose author counts: no bots, no team activity, unless asked).
/// Expands to a string literal so that queries can `concat!` it.
#[macro_export]
macro_rules! scope_ctes {
    () => {
        "act AS (
  SELECT a.id, a.kind, a.ts, a.thread_id, a.reply_to_id, i.member_id, m.anonymous, m.bot,
         CASE WHEN m.team = 1 AND (m.team_since IS NULL OR a.ts >= m.team_since) THEN 1 ELSE 0 END AS team_act,
         CASE WHEN a.kind IN ('post', 'reply', 'answer', 'solution', 'contribution', 'feedback', 'attend')
              THEN 1 ELSE 0 END AS participation
  FROM activities a
  JOIN identities i ON i.id = a.identity_id
  JOIN members m ON m.id = i.member_id
  WHERE a.deleted = 0 AND a.ts <= :as_of
    AND (:filter_sources = 0 OR a.source_id IN (SELECT source_id FROM kith_filter_sources))
    AND (:filter_channels = 0 OR a.channel_id IN (SELECT channel_id FROM kith_filter_channels))
),
counted AS (
  SELECT * FROM act WHERE (bot = 0 OR :include_bots = 1) AND (team_act = 0 OR :include_team = 1)
)"
    };
}

/// `op`: the opening post of every thread (its earliest live `post`, ties by id), with its
/// author's member: the thread definition every conversation metric shares (the fast side's
/// counterpart is `threads.rs`). Expands to a string literal ending in `,` so that queries can
/// `concat!` it between `scope_ctes!()` and their own CTEs.
#[macro_export]
macro_rules! opening_post_cte {
    () => {
        "op AS (
  SELECT thread_id, id, ts, member_id FROM (
    SELECT a.thread_id, a.id, a.ts, i.member_id,
           ROW_NUMBER() OVER (PARTITION BY a.thread_id ORDER BY a.ts, a.id) AS rn
    FROM activities a JOIN identities i ON i.id = a.identity_id
    WHERE a.kind = 'post' AND a.deleted = 0 AND a.thread_id IS NOT NULL
  ) x WHERE rn = 1
),
"
    };
}

/// Every metric, in the order of the docs.
pub fn registry() -> &'static [&'static MetricDef] {
    use crate::metrics::*;
    &[
        &active_members::METRIC,
        &new_members::METRIC,
        &member_growth::METRIC,
        &participation_ladder::METRIC,
        &absence_factor::METRIC,
        &cohort_retention::METRIC,
        &activation::METRIC,
        &churn::METRIC,
        &recently_inactive::METRIC,
        &inactive_contributors::METRIC,
        &first_response::METRIC,
        &peer_support::METRIC,
        &resolution::METRIC,
        &conversation_quality::METRIC,
        &needs_reply::METRIC,
        &onboarding_funnel::METRIC,
        &response_effect::METRIC,
        &newcomers_waiting::METRIC,
        &engagement_levels::METRIC,
        &level_pipeline::METRIC,
        &network::METRIC,
        &health_index::METRIC,
        &sentiment::METRIC,
        &feedback_candidates::METRIC,
    ]
}

/// The metric named `name`.
pub fn find(name: &str) -> Option<&'static MetricDef> {
    registry().iter().copied().find(|m| m.name == name)
}

/// What `kith report --explain <metric>` prints: the definition and the reference SQL, or for
/// a metric without one, that it has none and how it is verified instead.
pub fn explain(metric: &MetricDef) -> String {
    let check = match metric.reference {
        Reference::Sql(sql) => format!("## Reference SQL\n\n```sql\n{}\n```\n", sql.trim()),
        Reference::Model(how) => format!(
            "## No reference SQL\n\n{NO_REFERENCE_SQL}\n\n{}\n",
            how.trim()
        ),
    };
    format!(
        "# {} (`{}`)\n\n{}\n\n{check}",
        metric.title,
        metric.name,
        metric.definition.trim(),
    )
}

/// Said wherever a metric without reference SQL is explained (CLI, docs, reports).
pub const NO_REFERENCE_SQL: &str = "This metric has no reference SQL: it follows members or \
graphs through time in ways the SQL subset shared by SQLite, DuckDB and PostgreSQL cannot express \
(SPEC §9). It is verified instead as follows.";

#[cfg(test)]
mod tests {
    use super::*;

    /// Every column of every metric over a generated community is classified as it reads:
    /// no unclassified column holds instants (they are epoch seconds of the community's
    /// years, far above any count or id of 20,000 activities), every instant column holds
    /// instants, every duration column non-negative seconds, every member column members of
    /// the store; and each name the lists give is a column somewhere (none is stale).
    #[test]
    fn every_column_is_classified_by_what_it_holds() {
        let acts: Vec<kith_model::Activity> =
            kith_gen::generate(kith_gen::GenConfig::new(20_000, 3))
                .expect("a generator")
                .collect();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store =
            kith_store_sqlite::SqliteStore::open(&dir.path().join("kith.db")).expect("a store");
        crate::testkit::write(&store, &acts);
        let members: std::collections::HashSet<i64> = {
            use kith_store::Store as _;
            let mut all = std::collections::HashSet::new();
            let mut after = None;
            loop {
                let page = store.members(after, 1000).expect("members");
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                all.extend(page.iter().map(|m| m.id.0));
            }
            all
        };
        let first = acts.iter().map(|a| a.ts.secs).min().expect("activities");
        let last = acts.iter().map(|a| a.ts.secs).max().expect("activities");
        // Levels hold and demote up to 395 days after the last event.
        let instants = first - 400 * 86_400..=last + 800 * 86_400;
        let snap = crate::Snapshot::build(&store).expect("a snapshot");
        let values = crate::compute_all(&snap, &crate::Params::default()).expect("metrics");
        let mut seen = std::collections::HashSet::new();
        let mut checked = [0usize; 5];
        let mut activities = Vec::new();
        for m in &values {
            for t in &m.tables {
                for (i, &column) in t.columns.iter().enumerate() {
                    seen.insert(column);
                    let kind = column_kind(column);
                    let at = format!("{}.{}.{column}", m.metric, t.name);
                    for row in &t.rows {
                        match (kind, &row[i]) {
                            (_, Cell::Null) => {}
                            (ColumnKind::Plain, Cell::Int(v)) => {
                                assert!(!instants.contains(v), "{at} holds an instant: {v}")
                            }
                            (ColumnKind::Plain, _) => {}
                            (ColumnKind::Instant, Cell::Int(v)) => {
                                assert!(instants.contains(v), "{at}: {v} is no instant");
                                checked[0] += 1;
                            }
                            (ColumnKind::Seconds, Cell::Int(v)) => {
                                assert!(*v >= 0, "{at}: {v}");
                                checked[1] += 1;
                            }
                            (ColumnKind::Member, Cell::Int(v)) => {
                                assert!(members.contains(v), "{at}: no member {v}");
                                checked[2] += 1;
                            }
                            (ColumnKind::Members, Cell::Text(list)) => {
                                for id in list.split_whitespace() {
                                    let id: i64 = id.parse().expect("a member id");
                                    assert!(members.contains(&id), "{at}: no member {id}");
                                }
                                checked[3] += 1;
                            }
                            (ColumnKind::Activity, Cell::Int(v)) => {
                                activities.push(kith_store::ActivityId(*v));
                                checked[4] += 1;
                            }
                            (kind, cell) => panic!("{at} is {kind:?} but holds {cell:?}"),
                        }
                    }
                }
            }
        }
        assert!(
            checked.iter().all(|&n| n > 0),
            "every kind met: {checked:?}"
        );
        activities.sort_unstable();
        activities.dedup();
        let found = {
            use kith_store::Store as _;
            store.activities_by_id(&activities).expect("activities")
        };
        assert_eq!(
            found.len(),
            activities.len(),
            "every activity column names stored activities"
        );
        for name in INSTANT_COLUMNS
            .iter()
            .chain(MEMBER_COLUMNS)
            .chain(MEMBER_LIST_COLUMNS)
            .chain(ACTIVITY_COLUMNS)
        {
            assert!(seen.contains(name), "no metric has a column `{name}`");
        }
    }

    #[test]
    fn nearest_rank_is_the_ceiling_of_q_n_th_smallest() {
        let v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        assert_eq!(nearest_rank(&v, 1, 2), Some(50)); // ⌈5⌉ = 5th
        assert_eq!(nearest_rank(&v, 9, 10), Some(90)); // ⌈9⌉ = 9th
        assert_eq!(nearest_rank(&v[..3], 1, 2), Some(20)); // ⌈1.5⌉ = 2nd
        assert_eq!(nearest_rank(&v[..3], 9, 10), Some(30)); // ⌈2.7⌉ = 3rd
        assert_eq!(nearest_rank(&v[..1], 9, 10), Some(10));
        assert_eq!(nearest_rank(&[], 1, 2), None);
    }

    #[test]
    fn metric_names_are_unique() {
        let mut names: Vec<_> = registry().iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), registry().len());
    }
}
