//! The tables `kith export` writes as CSV and as Parquet. Each table's columns are declared
//! once, here, and each stored record becomes one row of [`Cell`]s, so the two formats always
//! carry the same columns with the same values (docs/formats/export.md).

use kith_model::Timestamp;
use kith_store::{ExportedActivity, MemberRow, ThreadRow};

/// What a column holds. CSV writes each as text; Parquet gives each a precise type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A 64-bit signed integer (kith's ids). Parquet: INT64.
    Int,
    /// CSV: `1` or `0`. Parquet: BOOLEAN.
    Bool,
    /// UTF-8 text. Parquet: BYTE_ARRAY, logical type STRING.
    Text,
    /// A JSON document as UTF-8 text (lists, attribute objects). Parquet: as [`ColumnType::Text`],
    /// so that every reader can open it; `json(...)` in DuckDB or `json.loads` in Python parse it.
    Json,
    /// An instant to the microsecond. CSV: RFC 3339 (activities keep the offset the source
    /// wrote). Parquet: INT64, logical type TIMESTAMP(MICROS, adjusted to UTC).
    Time,
}

/// One column of an exported table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    /// Whether a row may lack a value: an empty field in CSV, a null in Parquet.
    pub nullable: bool,
    /// The values mostly differ from row to row (ids, message text): Parquet does not try a
    /// dictionary encoding for them, which would only cost time.
    pub distinct: bool,
}

const fn column(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: false,
        distinct: false,
    }
}

const fn nullable(name: &'static str, ty: ColumnType) -> Column {
    Column {
        nullable: true,
        ..column(name, ty)
    }
}

const fn distinct(c: Column) -> Column {
    Column {
        distinct: true,
        ..c
    }
}

/// One value of a row. `None` is a missing value (only in nullable columns).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Int(Option<i64>),
    Bool(bool),
    /// Text and JSON columns.
    Text(Option<&'a str>),
    Time(Option<Timestamp>),
}

impl Cell<'_> {
    /// Whether this cell fits the column: its type, and a value unless the column is nullable.
    pub fn fits(&self, column: &Column) -> bool {
        let present = match self {
            Cell::Int(v) => v.is_some(),
            Cell::Bool(_) => true,
            Cell::Text(v) => v.is_some(),
            Cell::Time(v) => v.is_some(),
        };
        let type_fits = matches!(
            (self, column.ty),
            (Cell::Int(_), ColumnType::Int)
                | (Cell::Bool(_), ColumnType::Bool)
                | (Cell::Text(_), ColumnType::Text | ColumnType::Json)
                | (Cell::Time(_), ColumnType::Time)
        );
        type_fits && (present || column.nullable)
    }
}

/// A table writer of one format: told the columns when created, then given the rows in order.
pub trait TableWriter {
    /// Writes one row: one cell per column, in the table's column order.
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), super::WriteError>;
    /// Completes the file (Parquet writes its last row group and footer) and flushes it.
    fn finish(self: Box<Self>) -> Result<(), super::WriteError>;
}

use ColumnType::{Bool, Int, Json, Text, Time};

/// `--what activities`: every stored activity (deleted ones included), in insertion order.
pub const ACTIVITIES: &[Column] = &[
    column("source", Text),
    distinct(column("id", Text)),
    column("kind", Text),
    column("ts", Time),
    nullable("author_id", Text),
    nullable("author_name", Text),
    nullable("member", Int),
    column("team", Bool),
    column("bot", Bool),
    nullable("channel", Text),
    nullable("thread", Text),
    nullable("reply_to", Text),
    distinct(nullable("text", Text)),
    distinct(nullable("url", Text)),
    column("deleted", Bool),
    column("inferred_thread", Bool),
    // `to` in JSONL; renamed because TO is an SQL keyword.
    nullable("addressed", Json),
    distinct(nullable("attrs", Json)),
];

/// `--what members`: every member by id, merged-away members included (with `merged_into`).
pub const MEMBERS: &[Column] = &[
    distinct(column("id", Int)),
    nullable("display_name", Text),
    column("team", Bool),
    nullable("team_since", Time),
    column("bot", Bool),
    column("anonymous", Bool),
    nullable("merged_into", Int),
    column("created_at", Time),
];

/// `--what threads`: every thread with its source.
pub const THREADS: &[Column] = &[
    distinct(column("id", Int)),
    column("source", Text),
    column("thread", Text),
    column("inferred", Bool),
    nullable("topics", Json),
];

/// The JSON columns of an activity, rendered once per row (the cells borrow them).
pub struct ActivityJson {
    addressed: Option<String>,
    attrs: Option<String>,
}

impl ActivityJson {
    /// `to` (the platform user ids addressed) as a JSON array and `attrs` as a JSON object;
    /// missing when empty, as the JSONL export leaves them out.
    pub fn of(e: &ExportedActivity) -> Result<ActivityJson, serde_json::Error> {
        let a = &e.activity;
        Ok(ActivityJson {
            addressed: if a.to.is_empty() {
                None
            } else {
                Some(serde_json::to_string(&a.to)?)
            },
            attrs: if a.attrs.is_empty() {
                None
            } else {
                Some(serde_json::to_string(&a.attrs)?)
            },
        })
    }
}

/// An activity as a row of [`ACTIVITIES`].
pub fn activity_row<'a>(e: &'a ExportedActivity, json: &'a ActivityJson) -> [Cell<'a>; 18] {
    let a = &e.activity;
    let author = a.author.as_ref();
    [
        Cell::Text(Some(&a.source)),
        Cell::Text(Some(&a.id)),
        Cell::Text(Some(a.kind.as_str())),
        Cell::Time(Some(a.ts)),
        Cell::Text(author.map(|au| au.id.as_str())),
        Cell::Text(author.and_then(|au| au.name.as_deref())),
        Cell::Int(e.derived.member),
        Cell::Bool(e.derived.team),
        Cell::Bool(e.derived.bot),
        Cell::Text(a.channel.as_deref()),
        Cell::Text(a.thread.as_deref()),
        Cell::Text(a.reply_to.as_deref()),
        Cell::Text(a.text.as_deref()),
        Cell::Text(a.url.as_deref()),
        Cell::Bool(e.deleted),
        Cell::Bool(e.derived.inferred_thread),
        Cell::Text(json.addressed.as_deref()),
        Cell::Text(json.attrs.as_deref()),
    ]
}

/// A member as a row of [`MEMBERS`].
pub fn member_row(m: &MemberRow) -> [Cell<'_>; 8] {
    [
        Cell::Int(Some(m.id.0)),
        Cell::Text(m.display_name.as_deref()),
        Cell::Bool(m.team),
        Cell::Time(m.team_since.map(Timestamp::from_secs)),
        Cell::Bool(m.bot),
        Cell::Bool(m.anonymous),
        Cell::Int(m.merged_into.map(|id| id.0)),
        Cell::Time(Some(Timestamp::from_secs(m.created_at))),
    ]
}

/// A thread's topics as a JSON array of strings, `None` when it has none.
pub fn topics_json(t: &ThreadRow) -> Option<String> {
    (!t.topics.is_empty())
        .then(|| serde_json::Value::from(t.topics.split('\n').collect::<Vec<_>>()).to_string())
}

/// A thread as a row of [`THREADS`], with its source's name and its topics as
/// [`topics_json`] gives them.
pub fn thread_row<'a>(t: &'a ThreadRow, source: &'a str, topics: Option<&'a str>) -> [Cell<'a>; 5] {
    [
        Cell::Int(Some(t.id.0)),
        Cell::Text(Some(source)),
        Cell::Text(Some(&t.ext_id)),
        Cell::Bool(t.inferred),
        Cell::Text(topics),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use kith_model::{Activity, Author, Derived, Kind};
    use kith_store::{ActivityId, MemberId, SourceId, ThreadId};

    fn assert_fits(table: &[Column], row: &[Cell<'_>]) {
        assert_eq!(table.len(), row.len(), "one cell per column");
        for (c, cell) in table.iter().zip(row) {
            assert!(cell.fits(c), "{cell:?} does not fit column {}", c.name);
        }
    }

    #[test]
    fn rows_fit_their_tables_with_and_without_optional_values() {
        // A bare activity (no author, nothing optional) and a full one both fit ACTIVITIES.
        let bare = ExportedActivity {
            id: ActivityId(1),
            activity: Activity::new("s", "1", Kind::Post, Timestamp::from_secs(0), None),
            derived: Derived::default(),
            deleted: false,
        };
        let mut full = bare.clone();
        let mut author = Author::new("u1");
        author.name = Some("Ada".into());
        full.activity.author = Some(author);
        full.activity.to = vec!["u2".into()];
        full.activity.attrs.insert("k".into(), serde_json::json!(1));
        full.derived.member = Some(7);
        for e in [&bare, &full] {
            let json = ActivityJson::of(e).unwrap();
            assert_fits(ACTIVITIES, &activity_row(e, &json));
        }
        let json = ActivityJson::of(&full).unwrap();
        let row = activity_row(&full, &json);
        assert_eq!(row[16], Cell::Text(Some(r#"["u2"]"#)));
        assert_eq!(row[17], Cell::Text(Some(r#"{"k":1}"#)));
        let json = ActivityJson::of(&bare).unwrap();
        let row = activity_row(&bare, &json);
        assert_eq!(
            (row[4], row[16], row[17]),
            (Cell::Text(None), Cell::Text(None), Cell::Text(None))
        );

        let member = MemberRow {
            id: MemberId(3),
            display_name: None,
            team: false,
            team_since: None,
            bot: false,
            merged_into: Some(MemberId(2)),
            anonymous: false,
            created_at: 1_700_000_000,
        };
        assert_fits(MEMBERS, &member_row(&member));
        let thread = ThreadRow {
            id: ThreadId(1),
            source: SourceId(1),
            ext_id: "t".into(),
            inferred: true,
            topics: "csv\npython".into(),
        };
        let topics = topics_json(&thread);
        assert_eq!(topics.as_deref(), Some(r#"["csv","python"]"#));
        assert_fits(THREADS, &thread_row(&thread, "s", topics.as_deref()));
        let untagged = ThreadRow {
            topics: String::new(),
            ..thread
        };
        assert_eq!(topics_json(&untagged), None);
        assert_fits(THREADS, &thread_row(&untagged, "s", None));
    }

    #[test]
    fn a_missing_value_does_not_fit_a_required_column() {
        assert!(!Cell::Text(None).fits(&column("id", Text)));
        assert!(Cell::Text(None).fits(&nullable("text", Text)));
        assert!(!Cell::Int(Some(1)).fits(&column("ts", Time)));
    }
}
