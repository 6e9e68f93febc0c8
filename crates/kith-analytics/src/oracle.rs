//! Runs a metric's reference SQL on a SQLite connection to a kith database and compares the
//! result with the fast engine's. The calendar and filter tables are created as `TEMP` tables,
//! so the database itself is only read.

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::AnalyticsError;
use crate::metric::{Cell, MetricDef, MetricValue};
use crate::params::Resolved;

fn sql_err(e: rusqlite::Error) -> AnalyticsError {
    AnalyticsError::Sql(e.to_string())
}

/// Creates `kith_calendar`, `kith_filter_sources` and `kith_filter_channels` as temporary
/// tables for these parameters (replacing earlier ones).
pub fn prepare(conn: &Connection, p: &Resolved) -> Result<(), AnalyticsError> {
    conn.execute_batch(
        "DROP TABLE IF EXISTS temp.kith_calendar; DROP TABLE IF EXISTS temp.kith_filter_sources; \
         DROP TABLE IF EXISTS temp.kith_filter_channels;",
    )
    .map_err(sql_err)?;
    conn.execute_batch(&format!(
        "{}; CREATE TEMP TABLE kith_filter_sources (source_id BIGINT); CREATE TEMP TABLE kith_filter_channels (channel_id BIGINT);",
        crate::Calendar::CREATE_TABLE.replacen("CREATE TABLE", "CREATE TEMP TABLE", 1)
    ))
    .map_err(sql_err)?;
    let mut insert = conn.prepare("INSERT INTO temp.kith_calendar VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)").map_err(sql_err)?;
    for r in p.calendar.rows() {
        insert
            .execute(rusqlite::params![
                r.day_start,
                r.day_end,
                r.day,
                r.week,
                r.month,
                r.quarter,
                r.day_no,
                r.week_no,
                r.month_no,
                r.quarter_no,
                r.period,
                r.period_no
            ])
            .map_err(sql_err)?;
    }
    for id in &p.source_store_ids {
        conn.execute("INSERT INTO temp.kith_filter_sources VALUES (?1)", [id])
            .map_err(sql_err)?;
    }
    for id in &p.channel_store_ids {
        conn.execute("INSERT INTO temp.kith_filter_channels VALUES (?1)", [id])
            .map_err(sql_err)?;
    }
    Ok(())
}

/// The reference SQL's tables (rows of cells), one per statement. A metric without reference
/// SQL ([`crate::metric::Reference::Model`]) is an error: it is checked against its Rust model.
pub fn run_reference(
    conn: &Connection,
    metric: &MetricDef,
    p: &Resolved,
) -> Result<Vec<Vec<Vec<Cell>>>, AnalyticsError> {
    let sql = metric
        .reference_sql()
        .ok_or(AnalyticsError::NoReferenceSql(metric.name))?;
    prepare(conn, p)?;
    let bound = p.sql_params().bind(sql)?;
    let mut tables = Vec::new();
    for statement in bound.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let mut stmt = conn.prepare(statement).map_err(sql_err)?;
        let width = stmt.column_count();
        let mut rows = stmt.query([]).map_err(sql_err)?;
        let mut table = Vec::new();
        while let Some(row) = rows.next().map_err(sql_err)? {
            let mut cells = Vec::with_capacity(width);
            for i in 0..width {
                cells.push(match row.get_ref(i).map_err(sql_err)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Real(v),
                    ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => Cell::Null,
                });
            }
            table.push(cells);
        }
        tables.push(table);
    }
    Ok(tables)
}

/// `Ok` when every table, row and cell agrees; else the first difference.
pub fn compare(fast: &MetricValue, sql: &[Vec<Vec<Cell>>]) -> Result<(), String> {
    if fast.tables.len() != sql.len() {
        return Err(format!(
            "{} tables from the engine, {} from SQL",
            fast.tables.len(),
            sql.len()
        ));
    }
    for (t, rows) in fast.tables.iter().zip(sql) {
        if t.rows.len() != rows.len() {
            return Err(format!(
                "table {}: {} rows from the engine, {} from SQL\nengine: {:?}\nsql:    {:?}",
                t.name,
                t.rows.len(),
                rows.len(),
                t.rows,
                rows
            ));
        }
        for (i, (a, b)) in t.rows.iter().zip(rows).enumerate() {
            if a.len() != b.len() || a.iter().zip(b).any(|(x, y)| !x.same(y)) {
                return Err(format!(
                    "table {} row {i} ({:?}):\nengine: {a:?}\nsql:    {b:?}\nall engine rows: {:?}\nall sql rows:    {:?}",
                    t.name, t.columns, t.rows, rows
                ));
            }
        }
    }
    Ok(())
}
