//! A prepared statement driven through SQLite's C interface directly, for the two loops that
//! run once per activity: the bulk insert of an import and the bulk read of a snapshot build.
//!
//! rusqlite's safe calls cost more there than SQLite's own work on the row: every `Row::get`
//! checks the column count, asks the column's type, builds a `ValueRef` and converts it, and
//! every bound `&str` is copied by SQLite (`SQLITE_TRANSIENT`) before it is copied again into
//! the record. Measured at 10 M activities, the accessors alone were a quarter of a cold
//! snapshot build's CPU. Here a column of a known type is one C call, and text is bound in
//! place (`SQLITE_STATIC`) for the duration of one [`RawStatement::execute`].
//!
//! # Safety
//!
//! Every `unsafe` block below calls SQLite on a statement handle this type owns (prepared on the
//! connection it borrows, finalized on drop), with these invariants, each kept by the safe API:
//! - the connection outlives the statement (the `'c` borrow) and is not shared between threads
//!   (`&Connection` is not `Send`, so neither is this type): SQLite's no-mutex mode is sound;
//! - a column is read only while the statement stands on a row (`RawRows` tracks it; the
//!   borrow checker stops a read across the next `step`, which may free the value), with an
//!   index below the statement's column count;
//! - text bound with `SQLITE_STATIC` is borrowed for the whole `execute` call, which steps,
//!   resets and clears the bindings before it returns, so SQLite never holds a pointer past the
//!   borrow.

use std::ffi::{c_char, c_int};
use std::marker::PhantomData;
use std::ptr::NonNull;

use rusqlite::{Connection, ffi};

/// One parameter of [`RawStatement::execute`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

/// The same values through rusqlite, for the statements that run rarely (an activity's update).
impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Null => ValueRef::Null,
            Param::Int(v) => ValueRef::Integer(v),
            Param::Text(s) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Param::Null, Param::Int)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Param::Null, Param::Text)
    }
}

pub(crate) struct RawStatement<'c> {
    stmt: NonNull<ffi::sqlite3_stmt>,
    db: NonNull<ffi::sqlite3>,
    columns: c_int,
    params: c_int,
    _conn: PhantomData<&'c Connection>,
}

impl<'c> RawStatement<'c> {
    /// Prepares one SQL statement (text after it is an error).
    pub(crate) fn prepare(conn: &'c Connection, sql: &str) -> rusqlite::Result<Self> {
        let len = c_int::try_from(sql.len()).map_err(|_| misuse("the SQL text is too long"))?;
        // SAFETY: the handle is the open connection `conn` borrows for 'c.
        let db = NonNull::new(unsafe { conn.handle() }).ok_or_else(|| misuse("closed"))?;
        let mut stmt = std::ptr::null_mut();
        let mut tail: *const c_char = std::ptr::null();
        // SAFETY: `sql` is valid for `len` bytes (no NUL terminator needed with a length);
        // `stmt` and `tail` are written by SQLite.
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                db.as_ptr(),
                sql.as_ptr().cast::<c_char>(),
                len,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                &mut tail,
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(error_of(db, rc));
        }
        let Some(stmt) = NonNull::new(stmt) else {
            return Err(misuse("no SQL statement in the text"));
        };
        // Whatever happens next, the statement is finalized by drop.
        // SAFETY: a freshly prepared statement.
        let (columns, params) = unsafe {
            (
                ffi::sqlite3_column_count(stmt.as_ptr()),
                ffi::sqlite3_bind_parameter_count(stmt.as_ptr()),
            )
        };
        let this = RawStatement {
            stmt,
            db,
            columns,
            params,
            _conn: PhantomData,
        };
        let consumed = if tail.is_null() {
            sql.len()
        } else {
            // SAFETY: SQLite sets `tail` to the first byte past the statement it compiled,
            // within `sql` or one past its end: both pointers are in the same allocation.
            unsafe { tail.offset_from(sql.as_ptr().cast::<c_char>()) }.unsigned_abs()
        };
        let rest = sql.as_bytes().get(consumed..).unwrap_or_default();
        if !rest.iter().all(u8::is_ascii_whitespace) {
            return Err(misuse("more than one SQL statement in the text"));
        }
        Ok(this)
    }

    /// Binds `params` (all of the statement's, in order), runs the statement to its end and
    /// returns the number of rows it changed.
    pub(crate) fn execute(&mut self, params: &[Param<'_>]) -> rusqlite::Result<u64> {
        self.bind(params)?;
        let stmt = self.stmt.as_ptr();
        // SAFETY: a prepared statement with every parameter bound to values borrowed for
        // this call; reset and cleared before returning.
        let rc = unsafe { ffi::sqlite3_step(stmt) };
        let out = match rc {
            ffi::SQLITE_DONE | ffi::SQLITE_ROW => Ok(
                // SAFETY: the connection is open.
                unsafe { ffi::sqlite3_changes64(self.db.as_ptr()) }.unsigned_abs(),
            ),
            _ => Err(error_of(self.db, rc)),
        };
        self.reset();
        out
    }

    /// Binds `params` and steps through the rows of the statement.
    pub(crate) fn query(&mut self, params: &[i64]) -> rusqlite::Result<RawRows<'_, 'c>> {
        let params: Vec<Param<'static>> = params.iter().map(|&p| Param::Int(p)).collect();
        self.bind(&params)?;
        Ok(RawRows {
            stmt: self,
            on_row: false,
        })
    }

    fn bind(&mut self, params: &[Param<'_>]) -> rusqlite::Result<()> {
        if params.len() != self.params as usize {
            return Err(rusqlite::Error::InvalidParameterCount(
                params.len(),
                self.params as usize,
            ));
        }
        let stmt = self.stmt.as_ptr();
        for (i, p) in params.iter().enumerate() {
            let at = i as c_int + 1;
            // SAFETY: `at` is within the statement's parameters (checked above); text is bound
            // static because `execute` (the only caller binding text) clears it before it
            // returns, and its length is that of the borrowed `str`.
            let rc = unsafe {
                match *p {
                    Param::Null => ffi::sqlite3_bind_null(stmt, at),
                    Param::Int(v) => ffi::sqlite3_bind_int64(stmt, at, v),
                    Param::Text(s) => ffi::sqlite3_bind_text64(
                        stmt,
                        at,
                        s.as_ptr().cast::<c_char>(),
                        s.len() as u64,
                        ffi::SQLITE_STATIC(),
                        ffi::SQLITE_UTF8 as u8,
                    ),
                }
            };
            if rc != ffi::SQLITE_OK {
                // The message first: a reset would replace it.
                let e = error_of(self.db, rc);
                self.reset();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Back to the start, with no parameter bound.
    fn reset(&mut self) {
        // SAFETY: a prepared statement; both calls are valid in any state (their result
        // repeats the last step's error, already reported).
        unsafe {
            ffi::sqlite3_reset(self.stmt.as_ptr());
            ffi::sqlite3_clear_bindings(self.stmt.as_ptr());
        }
    }
}

impl Drop for RawStatement<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared by `prepare` and is finalized once, here.
        unsafe { ffi::sqlite3_finalize(self.stmt.as_ptr()) };
    }
}

/// The rows of a query, read one at a time: [`RawRows::step`] moves to the next, the column
/// readers read the current one.
pub(crate) struct RawRows<'s, 'c> {
    stmt: &'s mut RawStatement<'c>,
    on_row: bool,
}

impl RawRows<'_, '_> {
    /// Moves to the next row; `false` at the end.
    pub(crate) fn step(&mut self) -> rusqlite::Result<bool> {
        // SAFETY: a prepared statement with its parameters bound (integers, owned by SQLite).
        let rc = unsafe { ffi::sqlite3_step(self.stmt.stmt.as_ptr()) };
        self.on_row = rc == ffi::SQLITE_ROW;
        match rc {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            _ => Err(error_of(self.stmt.db, rc)),
        }
    }

    fn column(&self, col: usize) -> Option<(*mut ffi::sqlite3_stmt, c_int)> {
        (self.on_row && col < self.stmt.columns as usize)
            .then_some((self.stmt.stmt.as_ptr(), col as c_int))
    }

    /// An integer column (0 for NULL, as SQLite converts).
    pub(crate) fn int(&self, col: usize) -> i64 {
        match self.column(col) {
            // SAFETY: on a row, index in range (`column`).
            Some((stmt, i)) => unsafe { ffi::sqlite3_column_int64(stmt, i) },
            None => 0,
        }
    }

    /// An integer column that may be NULL.
    pub(crate) fn opt_int(&self, col: usize) -> Option<i64> {
        let (stmt, i) = self.column(col)?;
        // SAFETY: on a row, index in range (`column`).
        unsafe {
            (ffi::sqlite3_column_type(stmt, i) != ffi::SQLITE_NULL)
                .then(|| ffi::sqlite3_column_int64(stmt, i))
        }
    }

    /// A text column's bytes, `None` for NULL; valid until the next step.
    pub(crate) fn text(&self, col: usize) -> Option<&[u8]> {
        let (stmt, i) = self.column(col)?;
        // SAFETY: on a row, index in range. SQLite keeps the text (converted to UTF-8 once)
        // until the row changes, which needs `&mut self`; `bytes` is asked after `text`, as
        // SQLite's documentation requires.
        unsafe {
            if ffi::sqlite3_column_type(stmt, i) == ffi::SQLITE_NULL {
                return None;
            }
            let text = ffi::sqlite3_column_text(stmt, i);
            let len = ffi::sqlite3_column_bytes(stmt, i);
            if text.is_null() {
                return Some(&[]);
            }
            Some(std::slice::from_raw_parts(text, len.max(0) as usize))
        }
    }
}

impl Drop for RawRows<'_, '_> {
    fn drop(&mut self) {
        self.stmt.reset();
    }
}

fn error_of(db: NonNull<ffi::sqlite3>, rc: c_int) -> rusqlite::Error {
    // SAFETY: the connection is open; the message is copied before any other call on it.
    let message = unsafe {
        let msg = ffi::sqlite3_errmsg(db.as_ptr());
        (!msg.is_null()).then(|| std::ffi::CStr::from_ptr(msg).to_string_lossy().into_owned())
    };
    // The extended code when there is one: the last error on this connection is ours.
    // SAFETY: the connection is open.
    let extended = unsafe { ffi::sqlite3_extended_errcode(db.as_ptr()) };
    let code = if extended & 0xff == rc & 0xff {
        extended
    } else {
        rc
    };
    rusqlite::Error::SqliteFailure(ffi::Error::new(code), message)
}

fn misuse(what: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        ffi::Error::new(ffi::SQLITE_MISUSE),
        Some(format!("preparing a statement: {what}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT, UNIQUE (s))",
        )
        .unwrap();
        conn
    }

    // Inserts bind text in place, count changed rows (0 on a skipped conflict) and read back
    // what rusqlite reads; a query reads ints, NULLs and text, and stops at the end.
    #[test]
    fn executes_and_reads_back() {
        let conn = db();
        let mut insert = RawStatement::prepare(
            &conn,
            "INSERT INTO t (id, n, s) VALUES (?1, ?2, ?3) ON CONFLICT (s) DO NOTHING",
        )
        .unwrap();
        for (id, n, s) in [
            (1, Some(7), Some("ünï")),
            (2, None, None),
            (3, Some(-1), Some("")),
        ] {
            let owned = s.map(str::to_owned);
            assert_eq!(
                insert
                    .execute(&[id.into(), n.into(), owned.as_deref().into()])
                    .unwrap(),
                1
            );
        }
        assert_eq!(
            insert.execute(&[4.into(), 1.into(), "ünï".into()]).unwrap(),
            0
        );
        drop(insert);
        let mut select =
            RawStatement::prepare(&conn, "SELECT id, n, s FROM t WHERE id >= ?1 ORDER BY id")
                .unwrap();
        let mut rows = select.query(&[1]).unwrap();
        let mut seen = Vec::new();
        while rows.step().unwrap() {
            seen.push((
                rows.int(0),
                rows.opt_int(1),
                rows.text(2).map(|b| String::from_utf8(b.to_vec()).unwrap()),
                rows.int(9),
            ));
        }
        assert_eq!(
            seen,
            vec![
                (1, Some(7), Some("ünï".to_owned()), 0),
                (2, None, None, 0),
                (3, Some(-1), Some(String::new()), 0),
            ]
        );
        // Off a row, columns read as nothing.
        assert_eq!((rows.int(0), rows.text(2)), (0, None));
    }

    // Errors name SQLite's reason; a failed statement can run again.
    #[test]
    fn reports_errors_and_recovers() {
        let conn = db();
        let e = RawStatement::prepare(&conn, "SELECT nope FROM t")
            .err()
            .unwrap();
        assert!(e.to_string().contains("no such column"), "{e}");
        let e = RawStatement::prepare(&conn, "SELECT 1; SELECT 2")
            .err()
            .unwrap();
        assert!(e.to_string().contains("more than one"), "{e}");
        assert!(RawStatement::prepare(&conn, "  ").is_err());
        assert!(
            RawStatement::prepare(&conn, "SELECT 1; \n ").is_ok(),
            "trailing space"
        );
        let mut insert =
            RawStatement::prepare(&conn, "INSERT INTO t (id, s) VALUES (?1, ?2)").unwrap();
        assert_eq!(insert.execute(&[1.into(), "a".into()]).unwrap(), 1);
        let e = insert.execute(&[2.into(), "a".into()]).unwrap_err();
        assert_eq!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::ConstraintViolation),
            "{e}"
        );
        assert!(e.to_string().contains("UNIQUE"), "{e}");
        assert!(matches!(
            insert.execute(&[3.into()]),
            Err(rusqlite::Error::InvalidParameterCount(1, 2))
        ));
        assert_eq!(insert.execute(&[2.into(), "b".into()]).unwrap(), 1);
    }
}
