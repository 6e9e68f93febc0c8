//! SQLite's C interface driven directly, for the two loops that run once per activity: the bulk
//! insert of an import (a prepared statement, [`RawStatement`]) and the bulk read of a snapshot
//! build (rows handed to a callback inside SQLite's step, [`for_each_row`]).
//!
//! rusqlite's safe calls cost more there than SQLite's own work on the row: every `Row::get`
//! checks the column count, asks the column's type, builds a `ValueRef` and converts it, and
//! every bound `&str` is copied by SQLite (`SQLITE_TRANSIENT`) before it is copied again into
//! the record. Measured at 10 M activities, the accessors alone were a quarter of a cold
//! snapshot build's CPU. Here text is bound in place (`SQLITE_STATIC`) for the duration of one
//! [`RawStatement::execute`]. Reading, even one `sqlite3_column_*` call per value was a third of
//! a bulk read's time (each call goes through the connection's mutex calls, the statement's
//! checks and a conversion; 10 M activity rows: 5.66 s read by column, 3.75 s as below, 3.4–3.7 s
//! stepped without reading), so a bulk read asks SQLite for one aggregate, `kith_row(...)`,
//! over the rows it wants, and reads each row's values as the aggregate's arguments
//! (`sqlite3_value_*`, which SQLite has ready in its registers).
//!
//! # Safety
//!
//! Every `unsafe` block below calls SQLite on a statement handle this module owns (prepared on
//! the connection it borrows, finalized on drop) or on the values SQLite hands a callback, with
//! these invariants, each kept by the safe API:
//! - the connection outlives the statement (the `'c` borrow) and is not shared between threads
//!   (`&Connection` is not `Send`, so neither is this type): SQLite's no-mutex mode is sound;
//! - text bound with `SQLITE_STATIC` is borrowed for the whole `execute` call, which steps,
//!   resets and clears the bindings before it returns, so SQLite never holds a pointer past the
//!   borrow;
//! - the `kith_row` aggregate is registered with a pointer to state on [`for_each_row`]'s
//!   stack and unregistered before it returns (after its statement is finalized), so SQLite
//!   never calls it with a dangling pointer; a row's values are read only during the callback
//!   SQLite passes them to (the closure's argument cannot outlive the call).

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
        let params = unsafe { ffi::sqlite3_bind_parameter_count(stmt.as_ptr()) };
        let this = RawStatement {
            stmt,
            db,
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

/// The values of one row of a [`for_each_row`] query: the arguments of its `kith_row(...)`.
pub(crate) struct RowValues<'v> {
    args: &'v [*mut ffi::sqlite3_value],
}

impl RowValues<'_> {
    fn value(&self, col: usize) -> Option<*mut ffi::sqlite3_value> {
        self.args.get(col).copied().filter(|v| !v.is_null())
    }

    /// An integer value (0 for NULL, as SQLite converts).
    pub(crate) fn int(&self, col: usize) -> i64 {
        match self.value(col) {
            // SAFETY: a protected value SQLite passed to the running callback.
            Some(v) => unsafe { ffi::sqlite3_value_int64(v) },
            None => 0,
        }
    }

    /// An integer value that may be NULL.
    pub(crate) fn opt_int(&self, col: usize) -> Option<i64> {
        let v = self.value(col)?;
        // SAFETY: a protected value SQLite passed to the running callback.
        unsafe {
            (ffi::sqlite3_value_type(v) != ffi::SQLITE_NULL).then(|| ffi::sqlite3_value_int64(v))
        }
    }

    /// A blob value's bytes, `None` for NULL; valid during the callback.
    pub(crate) fn blob(&self, col: usize) -> Option<&[u8]> {
        // SAFETY (of the call `bytes` makes): `v` is a protected value of the running callback.
        self.bytes(col, |v| unsafe { ffi::sqlite3_value_blob(v) }.cast::<u8>())
    }

    /// A text value's bytes (converted to UTF-8), `None` for NULL; valid during the callback.
    pub(crate) fn text(&self, col: usize) -> Option<&[u8]> {
        // SAFETY (of the call `bytes` makes): `v` is a protected value of the running callback.
        self.bytes(col, |v| unsafe { ffi::sqlite3_value_text(v) })
    }

    /// The bytes `read` (`sqlite3_value_blob` or `sqlite3_value_text`) gives of value `col`,
    /// `None` for NULL.
    fn bytes(
        &self,
        col: usize,
        read: impl FnOnce(*mut ffi::sqlite3_value) -> *const u8,
    ) -> Option<&[u8]> {
        let v = self.value(col)?;
        // SAFETY: a protected value SQLite passed to the running callback, which keeps it (and
        // the bytes `read` asked for, a text converted to UTF-8 once) until the callback
        // returns, beyond which the borrow of `self` cannot reach; `bytes` is asked after
        // `read`, as SQLite's documentation requires.
        unsafe {
            if ffi::sqlite3_value_type(v) == ffi::SQLITE_NULL {
                return None;
            }
            let data = read(v);
            let len = ffi::sqlite3_value_bytes(v);
            if data.is_null() {
                return Some(&[]);
            }
            Some(std::slice::from_raw_parts(data, len.max(0) as usize))
        }
    }
}

/// What the `kith_row` callback reaches through its user-data pointer.
struct RowState<'f, E> {
    f: &'f mut dyn FnMut(&RowValues<'_>) -> Result<(), E>,
    /// Why the rows stopped early: the closure's error or its panic.
    stop: Option<Result<E, Box<dyn std::any::Any + Send>>>,
}

/// The aggregate's step: one row's values to the closure.
unsafe extern "C" fn row_step<E>(
    ctx: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: the user data is the `RowState<E>` `for_each_row` registered the function
    // with, alive and not otherwise borrowed while its statement steps (SQLite calls this
    // from within `sqlite3_step` on that thread only).
    let state = unsafe { &mut *ffi::sqlite3_user_data(ctx).cast::<RowState<'_, E>>() };
    if state.stop.is_some() {
        return;
    }
    let args: &[*mut ffi::sqlite3_value] = if argv.is_null() || argc <= 0 {
        &[]
    } else {
        // SAFETY: SQLite passes `argc` value pointers at `argv` for the call.
        unsafe { std::slice::from_raw_parts(argv, argc as usize) }
    };
    let row = RowValues { args };
    let f = &mut state.f;
    let stop = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&row))) {
        Ok(Ok(())) => return,
        Ok(Err(e)) => Ok(e),
        Err(panic) => Err(panic),
    };
    state.stop = Some(stop);
    // Stops the statement: SQLite aborts a query whose aggregate step sets an error.
    // SAFETY: the context of this call; the message is NUL-terminated.
    unsafe { ffi::sqlite3_result_error(ctx, c"stopped by the row reader".as_ptr(), -1) };
}

/// The aggregate's final step: its value is not read.
unsafe extern "C" fn row_final(_ctx: *mut ffi::sqlite3_context) {}

/// The name the aggregate is registered under, for the duration of one [`for_each_row`].
const ROW_FUNCTION: &std::ffi::CStr = c"kith_row";

/// Runs `sql`, a query whose only result column is the aggregate `kith_row(...)` over the rows
/// it reads, with integer `params`, and calls `f` with each row's values (the aggregate's
/// arguments) in the order SQLite feeds them to the aggregate: the scan's, or that of an
/// `ORDER BY` inside its parentheses (`kith_row(id, ts ORDER BY id)`); a query-level `ORDER BY`
/// would sort only the aggregate's one result. `f` must not use the connection (registering
/// `kith_row` again while this query runs fails). The outer error is SQLite's; the inner is
/// `f`'s, which stopped the rows; a panic in `f` stops the rows and is resumed here.
pub(crate) fn for_each_row<E>(
    conn: &Connection,
    sql: &str,
    params: &[i64],
    f: &mut dyn FnMut(&RowValues<'_>) -> Result<(), E>,
) -> rusqlite::Result<Result<(), E>> {
    // SAFETY: the handle is the open connection `conn` borrows for this call.
    let db = NonNull::new(unsafe { conn.handle() }).ok_or_else(|| misuse("closed"))?;
    let mut state = RowState { f, stop: None };
    /// Unregisters the aggregate when dropped: after the statement (declared later, dropped
    /// first) is finalized, whatever way this function is left.
    struct Registered(NonNull<ffi::sqlite3>);
    impl Drop for Registered {
        fn drop(&mut self) {
            // SAFETY: the connection is open (borrowed by `for_each_row`); registering with
            // no callbacks deletes the function, whose statement is finalized already.
            unsafe {
                ffi::sqlite3_create_function_v2(
                    self.0.as_ptr(),
                    ROW_FUNCTION.as_ptr(),
                    -1,
                    ffi::SQLITE_UTF8,
                    std::ptr::null_mut(),
                    None,
                    None,
                    None,
                    None,
                )
            };
        }
    }
    // SAFETY: registers an aggregate of any number of arguments whose user data is `state`,
    // which outlives the registration (`Registered` is dropped before it).
    let rc = unsafe {
        ffi::sqlite3_create_function_v2(
            db.as_ptr(),
            ROW_FUNCTION.as_ptr(),
            -1,
            ffi::SQLITE_UTF8 | ffi::SQLITE_DIRECTONLY,
            (&raw mut state).cast(),
            None,
            Some(row_step::<E>),
            Some(row_final),
            None,
        )
    };
    if rc != ffi::SQLITE_OK {
        return Err(error_of(db, rc));
    }
    let registered = Registered(db);
    let mut stmt = RawStatement::prepare(conn, sql)?;
    let params: Vec<Param<'static>> = params.iter().map(|&p| Param::Int(p)).collect();
    stmt.bind(&params)?;
    let failed = loop {
        // SAFETY: a prepared statement with its parameters bound (integers, owned by SQLite).
        match unsafe { ffi::sqlite3_step(stmt.stmt.as_ptr()) } {
            ffi::SQLITE_ROW => continue,
            ffi::SQLITE_DONE => break None,
            rc => break Some(error_of(db, rc)),
        }
    };
    drop(stmt);
    drop(registered);
    match (state.stop.take(), failed) {
        (Some(Ok(e)), _) => Ok(Err(e)),
        (Some(Err(panic)), _) => std::panic::resume_unwind(panic),
        (None, Some(e)) => Err(e),
        (None, None) => Ok(Ok(())),
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
        let mut seen = Vec::new();
        let done: Result<(), ()> = for_each_row(
            &conn,
            "SELECT kith_row(id, n, s) FROM t WHERE id >= ?1",
            &[1],
            &mut |row| {
                seen.push((
                    row.int(0),
                    row.opt_int(1),
                    row.text(2).map(|b| String::from_utf8(b.to_vec()).unwrap()),
                    row.int(9),
                    row.text(9).map(<[u8]>::to_vec),
                    row.opt_int(9),
                ));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(done, Ok(()));
        assert_eq!(
            seen,
            vec![
                (1, Some(7), Some("ünï".to_owned()), 0, None, None),
                (2, None, None, 0, None, None),
                (3, Some(-1), Some(String::new()), 0, None, None),
            ]
        );
        // No rows: the closure is not called.
        let none: Result<(), ()> = for_each_row(
            &conn,
            "SELECT kith_row(id) FROM t WHERE id > ?1",
            &[99],
            &mut |_| panic!("no row"),
        )
        .unwrap();
        assert_eq!(none, Ok(()));
    }

    // The closure's error stops the rows and comes back as is; its panic comes back as a
    // panic; SQLite's errors name its reason; the function is gone afterwards, and the
    // connection reads again.
    #[test]
    fn rows_stop_on_errors_and_panics() {
        let conn = db();
        conn.execute_batch("INSERT INTO t (id, n) VALUES (1, 1), (2, 2), (3, 3)")
            .unwrap();
        let mut calls = 0;
        let out = for_each_row(&conn, "SELECT kith_row(n) FROM t", &[], &mut |row| {
            calls += 1;
            if row.int(0) == 2 { Err("two") } else { Ok(()) }
        })
        .unwrap();
        assert_eq!((out, calls), (Err("two"), 2));
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = for_each_row::<()>(&conn, "SELECT kith_row(n) FROM t", &[], &mut |_| {
                panic!("inside")
            });
        }));
        assert!(panicked.is_err());
        let e = for_each_row::<()>(&conn, "SELECT kith_row(nope) FROM t", &[], &mut |_| Ok(()))
            .unwrap_err();
        assert!(e.to_string().contains("no such column"), "{e}");
        let e = for_each_row::<()>(&conn, "SELECT kith_row(n) FROM t", &[1], &mut |_| Ok(()))
            .unwrap_err();
        assert!(
            matches!(e, rusqlite::Error::InvalidParameterCount(1, 0)),
            "{e}"
        );
        let e = conn
            .query_row("SELECT kith_row(n) FROM t", [], |r| r.get::<_, i64>(0))
            .unwrap_err();
        assert!(e.to_string().contains("no such function"), "{e}");
        let mut sum = 0;
        let out: Result<(), ()> =
            for_each_row(&conn, "SELECT kith_row(n) FROM t", &[], &mut |row| {
                sum += row.int(0);
                Ok(())
            })
            .unwrap();
        assert_eq!((out, sum), (Ok(()), 6));
        // An `ORDER BY` inside the aggregate orders the rows it is fed.
        let mut order = Vec::new();
        let out: Result<(), ()> = for_each_row(
            &conn,
            "SELECT kith_row(id ORDER BY n DESC) FROM t WHERE id >= ?1",
            &[1],
            &mut |row| {
                order.push(row.int(0));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!((out, order), (Ok(()), vec![3, 2, 1]));
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
