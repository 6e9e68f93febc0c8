//! `kith export` end to end: the Parquet export of each table read back with the parquet
//! crate's reader and compared, row by row and column by column, with the CSV and JSONL exports
//! of the same database (docs/formats/export.md: CSV and Parquet carry the same columns and
//! values; a Parquet null is an empty CSV field).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use parquet::basic::{LogicalType, TimeUnit, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use serde_json::Value;

const EXAMPLE: &str = include_str!("../../../docs/formats/example.jsonl");
const TABLES: [&str; 3] = ["activities", "members", "threads"];

struct Kith {
    dir: tempfile::TempDir,
}

impl Kith {
    fn new() -> Kith {
        Kith {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kith"));
        c.args(args)
            .current_dir(self.dir.path())
            .env_remove("KITH_DATABASE")
            .env_remove("KITH_CONFIG");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Runs and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kith {args:?} failed ({:?}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn text(&self, args: &[&str]) -> String {
        String::from_utf8(self.ok(args)).unwrap()
    }

    /// A database imported from canonical JSONL text.
    fn import(&self, db: &str, jsonl: &str) {
        let file = self.path(&format!("{db}.jsonl"));
        std::fs::write(&file, jsonl).unwrap();
        self.ok(&["--database", db, "import", "jsonl", file.to_str().unwrap()]);
    }
}

/// A Parquet file's columns (name, type, nullable) and rows.
struct ParquetTable {
    columns: Vec<(String, String, bool)>,
    rows: Vec<Vec<Field>>,
}

fn read_parquet(path: &Path) -> ParquetTable {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap())
        .unwrap_or_else(|e| panic!("{} is not a Parquet file: {e}", path.display()));
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let columns = schema
        .columns()
        .iter()
        .map(|c| {
            let ty = match (c.physical_type(), c.logical_type_ref()) {
                (PhysicalType::INT64, None) => "int64",
                (PhysicalType::BOOLEAN, None) => "boolean",
                (PhysicalType::BYTE_ARRAY, Some(LogicalType::String)) => "string",
                (PhysicalType::INT64, Some(LogicalType::Timestamp(t)))
                    if t.is_adjusted_to_u_t_c && t.unit == TimeUnit::MICROS =>
                {
                    "timestamp(micros, utc)"
                }
                (p, l) => panic!("column {}: unexpected type {p:?} {l:?}", c.name()),
            };
            (c.name().to_owned(), ty.to_owned(), c.max_def_level() == 1)
        })
        .collect();
    let rows = reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| {
            r.unwrap()
                .get_column_iter()
                .map(|(_, f)| f.clone())
                .collect()
        })
        .collect();
    ParquetTable { columns, rows }
}

/// RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && row.is_empty(),
        "CSV ends mid-row"
    );
    rows
}

fn micros(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("{rfc3339:?}: {e}"))
        .timestamp_micros()
}

/// Whether a Parquet value and a CSV field say the same: a null is an empty field, booleans
/// are 1/0, instants are the same microsecond whatever offset the CSV writes.
fn same_value(parquet: &Field, csv: &str) -> bool {
    match parquet {
        Field::Null => csv.is_empty(),
        Field::Bool(b) => csv == if *b { "1" } else { "0" },
        Field::Long(v) => csv == v.to_string(),
        Field::Str(s) => csv == s,
        Field::TimestampMicros(us) => !csv.is_empty() && micros(csv) == *us,
        other => panic!("unexpected Parquet value {other:?}"),
    }
}

/// Exports `what` as Parquet (to a file) and CSV from `db` and checks that both have the same
/// columns and every row the same values. Returns the Parquet table.
fn parquet_matches_csv(k: &Kith, db: &str, what: &str) -> ParquetTable {
    let file = format!("{db}-{what}.parquet");
    k.ok(&[
        "--database",
        db,
        "export",
        "--format",
        "parquet",
        "--what",
        what,
        "--output",
        &file,
    ]);
    let table = read_parquet(&k.path(&file));
    let csv = parse_csv(&k.text(&[
        "--database",
        db,
        "export",
        "--format",
        "csv",
        "--what",
        what,
    ]));
    let header: Vec<&str> = csv[0].iter().map(String::as_str).collect();
    let names: Vec<&str> = table.columns.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, header, "{what}: Parquet and CSV columns");
    assert_eq!(table.rows.len(), csv.len() - 1, "{what}: row counts");
    for (i, (prow, crow)) in table.rows.iter().zip(&csv[1..]).enumerate() {
        assert_eq!(prow.len(), crow.len(), "{what} row {i}: width");
        for ((value, field), name) in prow.iter().zip(crow).zip(&names) {
            assert!(
                same_value(value, field),
                "{what} row {i} column {name}: Parquet {value:?}, CSV {field:?}"
            );
        }
    }
    table
}

/// Column `name` of a row.
fn get<'a>(table: &ParquetTable, row: &'a [Field], name: &str) -> &'a Field {
    let i = table
        .columns
        .iter()
        .position(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    &row[i]
}

fn as_json(f: &Field) -> Value {
    match f {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Bool(*b),
        Field::Long(v) => Value::from(*v),
        Field::Str(s) => Value::from(s.as_str()),
        Field::TimestampMicros(us) => Value::from(*us),
        other => panic!("unexpected Parquet value {other:?}"),
    }
}

fn jsonl(k: &Kith, db: &str, what: &str) -> Vec<Value> {
    k.text(&["--database", db, "export", "--what", what])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The activities table against the canonical JSONL export: same activities in the same order,
/// each field where JSONL has it. JSONL leaves out what is missing or empty; Parquet has a null.
fn activities_match_jsonl(k: &Kith, db: &str, table: &ParquetTable) {
    let lines = jsonl(k, db, "activities");
    assert_eq!(table.rows.len(), lines.len());
    for (row, line) in table.rows.iter().zip(&lines) {
        let col = |name| as_json(get(table, row, name));
        let or_null = |v: &Value| v.clone();
        assert_eq!(col("source"), line["source"]);
        assert_eq!(col("id"), line["id"]);
        assert_eq!(col("kind"), line["kind"]);
        assert_eq!(
            col("ts"),
            Value::from(micros(line["ts"].as_str().unwrap())),
            "{line}"
        );
        assert_eq!(col("author_id"), or_null(&line["author"]["id"]), "{line}");
        assert_eq!(
            col("author_name"),
            or_null(&line["author"]["name"]),
            "{line}"
        );
        assert_eq!(col("member"), or_null(&line["member"]), "{line}");
        for flag in ["team", "bot", "inferred_thread"] {
            assert_eq!(
                col(flag),
                Value::Bool(line[flag].as_bool().unwrap_or(false)),
                "{flag}: {line}"
            );
        }
        for field in ["channel", "thread", "reply_to", "text", "url"] {
            assert_eq!(col(field), or_null(&line[field]), "{field}: {line}");
        }
        // The JSON columns hold the JSON documents of `to` and `attrs`.
        let parsed = |name| match col(name) {
            Value::String(s) => serde_json::from_str::<Value>(&s).unwrap(),
            other => other,
        };
        assert_eq!(parsed("addressed"), or_null(&line["to"]), "{line}");
        assert_eq!(parsed("attrs"), or_null(&line["attrs"]), "{line}");
    }
}

fn members_match_jsonl(k: &Kith, db: &str, table: &ParquetTable) {
    let lines = jsonl(k, db, "members");
    assert_eq!(table.rows.len(), lines.len());
    let secs_to_micros = |v: &Value| {
        v.as_i64()
            .map_or(Value::Null, |s| Value::from(s * 1_000_000))
    };
    for (row, line) in table.rows.iter().zip(&lines) {
        let col = |name| as_json(get(table, row, name));
        for field in [
            "id",
            "display_name",
            "team",
            "bot",
            "anonymous",
            "merged_into",
        ] {
            assert_eq!(col(field), line[field], "{field}: {line}");
        }
        assert_eq!(
            col("team_since"),
            secs_to_micros(&line["team_since"]),
            "{line}"
        );
        assert_eq!(
            col("created_at"),
            secs_to_micros(&line["created_at"]),
            "{line}"
        );
    }
}

fn threads_match_jsonl(k: &Kith, db: &str, table: &ParquetTable) {
    let lines = jsonl(k, db, "threads");
    assert_eq!(table.rows.len(), lines.len());
    for (row, line) in table.rows.iter().zip(&lines) {
        for field in ["id", "source", "thread", "inferred"] {
            assert_eq!(
                as_json(get(table, row, field)),
                line[field],
                "{field}: {line}"
            );
        }
        // Topics: a JSON array in the table's text column, an array in JSONL (left out when
        // the thread has none).
        let topics = match get(table, row, "topics") {
            Field::Null => Value::Null,
            Field::Str(json) => serde_json::from_str(json).expect("topics as JSON"),
            other => panic!("topics as {other:?}"),
        };
        assert_eq!(
            topics,
            line.get("topics").cloned().unwrap_or(Value::Null),
            "{line}"
        );
    }
}

/// Every table as Parquet against both other exports.
fn check_every_table(k: &Kith, db: &str) -> [ParquetTable; 3] {
    let activities = parquet_matches_csv(k, db, "activities");
    activities_match_jsonl(k, db, &activities);
    let members = parquet_matches_csv(k, db, "members");
    members_match_jsonl(k, db, &members);
    let threads = parquet_matches_csv(k, db, "threads");
    threads_match_jsonl(k, db, &threads);
    [activities, members, threads]
}

#[test]
fn parquet_columns_have_precise_types() {
    let k = Kith::new();
    k.import("types.db", EXAMPLE);
    let [activities, members, threads] = check_every_table(&k, "types.db");
    let described = |t: &ParquetTable| -> Vec<String> {
        t.columns
            .iter()
            .map(|(name, ty, nullable)| {
                format!("{name} {ty}{}", if *nullable { " null" } else { "" })
            })
            .collect()
    };
    // docs/formats/export.md: ids are INT64, flags BOOLEAN, instants TIMESTAMP(MICROS, UTC),
    // text and JSON UTF-8 strings; a column is nullable exactly where a record may lack it.
    assert_eq!(
        described(&activities),
        [
            "source string",
            "id string",
            "kind string",
            "ts timestamp(micros, utc)",
            "author_id string null",
            "author_name string null",
            "member int64 null",
            "team boolean",
            "bot boolean",
            "channel string null",
            "thread string null",
            "reply_to string null",
            "text string null",
            "url string null",
            "deleted boolean",
            "inferred_thread boolean",
            "addressed string null",
            "attrs string null",
        ]
    );
    assert_eq!(
        described(&members),
        [
            "id int64",
            "display_name string null",
            "team boolean",
            "team_since timestamp(micros, utc) null",
            "bot boolean",
            "anonymous boolean",
            "merged_into int64 null",
            "created_at timestamp(micros, utc)",
        ]
    );
    assert_eq!(
        described(&threads),
        [
            "id int64",
            "source string",
            "thread string",
            "inferred boolean",
            "topics string null"
        ]
    );
}

#[test]
fn example_export_as_parquet_matches_csv_and_jsonl() {
    let k = Kith::new();
    k.import("example.db", EXAMPLE);
    let [activities, members, threads] = check_every_table(&k, "example.db");
    // The example (docs/formats/jsonl.md) has 8 activities by Ada (u1), Grace (u2) and one
    // author-less reply, which gets an anonymous member of its own: 3 members, 2 threads.
    assert_eq!(
        (
            activities.rows.len(),
            members.rows.len(),
            threads.rows.len()
        ),
        (8, 3, 2)
    );
    // p-1 was written at 09:12 +01:00, which is 08:12 UTC: 1,709,539,920 s after the epoch.
    let p1 = activities
        .rows
        .iter()
        .find(|r| get(&activities, r, "id") == &Field::Str("p-1".into()))
        .unwrap();
    assert_eq!(
        get(&activities, p1, "ts"),
        &Field::TimestampMicros(1_709_539_920_000_000)
    );
}

#[test]
fn demo_community_export_as_parquet_matches_csv_and_jsonl() {
    let k = Kith::new();
    k.ok(&[
        "demo",
        "--database",
        "demo.db",
        "--activities",
        "2000",
        "--seed",
        "7",
        "--no-serve",
    ]);
    let [activities, members, _] = check_every_table(&k, "demo.db");
    assert_eq!(activities.rows.len(), 2000);
    assert!(members.rows.len() > 20);
    // Written to a redirected standard output, the file is the same as written to --output.
    let piped = k.ok(&["--database", "demo.db", "export", "--format", "parquet"]);
    std::fs::write(k.path("piped.parquet"), piped).unwrap();
    assert_eq!(read_parquet(&k.path("piped.parquet")).rows, activities.rows);
}

#[test]
fn an_empty_database_exports_valid_parquet_files_without_rows() {
    let k = Kith::new();
    k.ok(&["--database", "empty.db", "init"]);
    for what in TABLES {
        let table = parquet_matches_csv(&k, "empty.db", what);
        assert!(table.rows.is_empty(), "{what}");
        assert!(
            !table.columns.is_empty(),
            "{what}: the columns are declared"
        );
    }
}

#[test]
fn awkward_text_and_missing_fields_survive_parquet_and_csv() {
    let k = Kith::new();
    // Line breaks, quotes, commas, non-Latin scripts and emoji in text and names; an activity
    // with nothing optional (no channel, thread, text, URL, author name); an author-less one.
    let lines = [
        r#"{"v":1,"source":"chat","id":"1","kind":"post","ts":"2024-05-01T09:30:00.123456-07:00","author":{"id":"u1","name":"Zoë \"Z\" O'Brien, Jr."},"channel":"général","thread":"1","text":"line one\nline two\r\n\"quoted\", and, commas","url":"https://example.org/1?a=1,b=2","attrs":{"tags":["général","a \"q\", b"]}}"#,
        r#"{"v":1,"source":"chat","id":"2","kind":"reply","ts":"2024-05-01T17:00:00Z","author":{"id":"u2","name":"李小龍"},"channel":"général","thread":"1","reply_to":"1","to":["u1"],"text":"Привет! 你好 👋🏽 مرحبا","attrs":{"note":"a\nb","n":[1,2]}}"#,
        r#"{"v":1,"source":"chat","id":"3","kind":"join","ts":"2024-05-02T00:00:00+05:30","author":{"id":"u3"}}"#,
        r#"{"v":1,"source":"chat","id":"4","kind":"reply","ts":"2024-05-02T01:00:00Z","author":null,"thread":"1","text":""}"#,
    ];
    k.import("awkward.db", &(lines.join("\n") + "\n"));
    let [activities, members, threads] = check_every_table(&k, "awkward.db");
    // The thread's topics, its opening post's tags in byte order, quotes and commas kept.
    let thread = threads
        .rows
        .iter()
        .find(|r| get(&threads, r, "thread") == &Field::Str("1".into()))
        .unwrap();
    assert_eq!(
        get(&threads, thread, "topics"),
        &Field::Str(r#"["a \"q\", b","général"]"#.into())
    );
    let by_id = |id: &str| {
        activities
            .rows
            .iter()
            .find(|r| get(&activities, r, "id") == &Field::Str(id.into()))
            .unwrap()
    };
    let text = |id| get(&activities, by_id(id), "text").clone();
    assert_eq!(
        text("1"),
        Field::Str("line one\nline two\r\n\"quoted\", and, commas".into())
    );
    assert_eq!(text("2"), Field::Str("Привет! 你好 👋🏽 مرحبا".into()));
    assert_eq!(text("3"), Field::Null, "no text is a null");
    // 09:30:00.123456 at -07:00 is 16:30:00.123456 UTC: 1,714,581,000.123456 s.
    assert_eq!(
        get(&activities, by_id("1"), "ts"),
        &Field::TimestampMicros(1_714_581_000_123_456)
    );
    for column in [
        "channel",
        "thread",
        "url",
        "author_name",
        "reply_to",
        "addressed",
        "attrs",
    ] {
        assert_eq!(
            get(&activities, by_id("3"), column),
            &Field::Null,
            "{column}"
        );
    }
    assert_eq!(get(&activities, by_id("4"), "author_id"), &Field::Null);
    assert!(
        members
            .rows
            .iter()
            .any(|r| get(&members, r, "display_name") == &Field::Str("李小龍".into()))
    );
}

#[test]
fn parquet_needs_a_file_or_a_redirected_output_and_text_formats_do_not() {
    // Standard output here is a pipe, so Parquet goes to it; the refusal on a terminal is
    // checked by the command's unit test (a test cannot own a terminal).
    let k = Kith::new();
    k.import("p.db", EXAMPLE);
    let bytes = k.ok(&[
        "--database",
        "p.db",
        "export",
        "--format",
        "parquet",
        "--what",
        "threads",
    ]);
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    // A destination that cannot be created is a usage error naming it.
    let out = k.run(&[
        "--database",
        "p.db",
        "export",
        "--format",
        "parquet",
        "--output",
        "no/such/dir/a.parquet",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/dir/a.parquet"));
}

#[test]
fn a_reader_that_stops_early_ends_the_export_quietly() {
    let k = Kith::new();
    k.ok(&[
        "demo",
        "--database",
        "d.db",
        "--activities",
        "3000",
        "--no-serve",
    ]);
    for format in ["jsonl", "csv", "parquet"] {
        let mut child = k
            .command(&["--database", "d.db", "export", "--format", format])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read a little, then go away like `head` does.
        let mut first = [0u8; 16];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{format}: {:?}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{format}");
    }
}
