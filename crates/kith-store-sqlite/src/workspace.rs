//! The team's own data (schema v3): accounts, sessions, API tokens, notes, tags, tasks and saved
//! segments. Plain rows outside the change sequence: analytics never reads them.

use kith_store::{
    ApiToken, MemberId, Note, NoteId, Role, Segment, SegmentId, SessionRecord, StoreError,
    StoreResult, Task, TaskId, TokenId, User, UserId, validate_label,
};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};

use crate::error::Context;
use crate::now;

const USER_COLUMNS: &str = "u.id, u.name, u.role, u.created_at, u.disabled";

fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    Ok(User {
        id: UserId(r.get(0)?),
        name: r.get(1)?,
        // An unknown role (written by a newer kith) gets the least power.
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        created_at: r.get(3)?,
        disabled: r.get(4)?,
    })
}

fn unique_violation(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

pub(crate) fn users(conn: &Connection) -> StoreResult<Vec<User>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users u ORDER BY u.name"
    ))
    .and_then(|mut s| s.query_map([], user_row)?.collect())
    .ctx("listing accounts")
}

pub(crate) fn create_user(
    conn: &Connection,
    name: &str,
    password_hash: &str,
    role: Role,
) -> StoreResult<User> {
    validate_label("an account name", name)?;
    let at = now();
    match conn.execute(
        "INSERT INTO users (name, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![name, password_hash, role.as_str(), at],
    ) {
        Ok(_) => {}
        Err(e) if unique_violation(&e) => {
            return Err(StoreError::Conflict(format!(
                "an account named `{name}` exists already"
            )));
        }
        Err(e) => return Err(StoreError::backend("creating an account", e)),
    }
    Ok(User {
        id: UserId(conn.last_insert_rowid()),
        name: name.to_owned(),
        role,
        created_at: at,
        disabled: false,
    })
}

pub(crate) fn create_first_owner(
    conn: &Connection,
    name: &str,
    password_hash: &str,
) -> StoreResult<User> {
    let any: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))
        .ctx("checking for accounts")?;
    if any {
        return Err(StoreError::Conflict(
            "kith is set up already: an account exists; log in instead".into(),
        ));
    }
    create_user(conn, name, password_hash, Role::Owner)
}

pub(crate) fn credentials(conn: &Connection, name: &str) -> StoreResult<Option<(User, String)>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.name = ?1"
    ))
    .and_then(|mut s| {
        s.query_row([name], |r| Ok((user_row(r)?, r.get(5)?)))
            .optional()
    })
    .ctx("reading an account")
}

fn updated(n: usize, what: impl FnOnce() -> String) -> StoreResult<()> {
    if n == 0 {
        Err(StoreError::NotFound(what()))
    } else {
        Ok(())
    }
}

pub(crate) fn set_role(conn: &Connection, user: UserId, role: Role) -> StoreResult<()> {
    let n = conn
        .execute(
            "UPDATE users SET role = ?2 WHERE id = ?1",
            params![user.0, role.as_str()],
        )
        .ctx("changing an account's role")?;
    updated(n, || format!("account {user}"))
}

pub(crate) fn set_password(conn: &Connection, user: UserId, hash: &str) -> StoreResult<()> {
    let n = conn
        .execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![user.0, hash],
        )
        .ctx("changing a password")?;
    updated(n, || format!("account {user}"))
}

pub(crate) fn set_disabled(conn: &Connection, user: UserId, disabled: bool) -> StoreResult<()> {
    let n = conn
        .execute(
            "UPDATE users SET disabled = ?2 WHERE id = ?1",
            params![user.0, disabled],
        )
        .ctx("disabling an account")?;
    updated(n, || format!("account {user}"))?;
    if disabled {
        delete_user_sessions(conn, user)?;
    }
    Ok(())
}

pub(crate) fn create_session(
    conn: &Connection,
    key_hash: &str,
    user: UserId,
    csrf: &str,
    expires_at: i64,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO sessions (key_hash, user_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![key_hash, user.0, csrf, now(), expires_at],
    )
    .ctx("starting a session")?;
    Ok(())
}

pub(crate) fn session(
    conn: &Connection,
    key_hash: &str,
    at: i64,
) -> StoreResult<Option<SessionRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS}, s.csrf, s.created_at, s.expires_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.key_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0"
    ))
    .and_then(|mut s| {
        s.query_row(params![key_hash, at], |r| {
            Ok(SessionRecord {
                user: user_row(r)?,
                csrf: r.get(5)?,
                created_at: r.get(6)?,
                expires_at: r.get(7)?,
            })
        })
        .optional()
    })
    .ctx("reading a session")
}

pub(crate) fn delete_session(conn: &Connection, key_hash: &str) -> StoreResult<()> {
    // Expired sessions of anyone go with it: the table stays small without a sweeper.
    conn.execute(
        "DELETE FROM sessions WHERE key_hash = ?1 OR expires_at <= ?2",
        params![key_hash, now()],
    )
    .ctx("ending a session")?;
    Ok(())
}

pub(crate) fn delete_user_sessions(conn: &Connection, user: UserId) -> StoreResult<()> {
    conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user.0])
        .ctx("ending an account's sessions")?;
    Ok(())
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<ApiToken> {
    let scopes: String = r.get(3)?;
    Ok(ApiToken {
        id: TokenId(r.get(0)?),
        user: UserId(r.get(1)?),
        name: r.get(2)?,
        scopes: scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        created_at: r.get(4)?,
        revoked_at: r.get(5)?,
    })
}

const TOKEN_COLUMNS: &str = "t.id, t.user_id, t.name, t.scopes, t.created_at, t.revoked_at";

pub(crate) fn create_token(
    conn: &Connection,
    user: UserId,
    name: &str,
    token_hash: &str,
    scopes: &[String],
) -> StoreResult<ApiToken> {
    validate_label("a token name", name)?;
    if let Some(bad) = scopes.iter().find(|s| s.is_empty() || s.contains(' ')) {
        return Err(StoreError::Invalid(format!(
            "`{bad}` is not a scope name (no spaces)"
        )));
    }
    let at = now();
    conn.execute(
        "INSERT INTO api_tokens (user_id, name, token_hash, scopes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user.0, name, token_hash, scopes.join(" "), at],
    )
    .ctx("creating an API token")?;
    Ok(ApiToken {
        id: TokenId(conn.last_insert_rowid()),
        user,
        name: name.to_owned(),
        scopes: scopes.to_vec(),
        created_at: at,
        revoked_at: None,
    })
}

pub(crate) fn token(conn: &Connection, token_hash: &str) -> StoreResult<Option<(ApiToken, User)>> {
    conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS}, {USER_COLUMNS}
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND u.disabled = 0"
    ))
    .and_then(|mut s| {
        s.query_row([token_hash], |r| {
            let token = token_row(r)?;
            let role: String = r.get(8)?;
            let user = User {
                id: UserId(r.get(6)?),
                name: r.get(7)?,
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                created_at: r.get(9)?,
                disabled: r.get(10)?,
            };
            Ok((token, user))
        })
        .optional()
    })
    .ctx("reading an API token")
}

pub(crate) fn tokens(conn: &Connection, user: Option<UserId>) -> StoreResult<Vec<ApiToken>> {
    let filter = user.map_or(-1, |u| u.0);
    conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE ?1 = -1 OR t.user_id = ?1 ORDER BY t.id DESC"
    ))
    .and_then(|mut s| s.query_map([filter], token_row)?.collect())
    .ctx("listing API tokens")
}

pub(crate) fn revoke_token(conn: &Connection, token: TokenId) -> StoreResult<()> {
    let n = conn
        .execute(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
            params![token.0, now()],
        )
        .ctx("revoking an API token")?;
    updated(n, || format!("API token {token}"))
}

fn member_exists(conn: &Connection, member: MemberId) -> StoreResult<()> {
    let found: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM members WHERE id = ?1)",
            [member.0],
            |r| r.get(0),
        )
        .ctx("looking up a member")?;
    if found {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("member {member}")))
    }
}

pub(crate) fn notes(conn: &Connection, member: MemberId) -> StoreResult<Vec<Note>> {
    conn.prepare_cached(
        "SELECT id, member_id, author, text, created_at FROM member_notes WHERE member_id = ?1 ORDER BY id",
    )
    .and_then(|mut s| {
        s.query_map([member.0], |r| {
            Ok(Note {
                id: NoteId(r.get(0)?),
                member: MemberId(r.get(1)?),
                author: r.get(2)?,
                text: r.get(3)?,
                created_at: r.get(4)?,
            })
        })?
        .collect()
    })
    .ctx("reading notes")
}

pub(crate) fn add_note(
    conn: &Connection,
    member: MemberId,
    author: &str,
    text: &str,
) -> StoreResult<Note> {
    if text.trim().is_empty() {
        return Err(StoreError::Invalid("a note cannot be empty".into()));
    }
    member_exists(conn, member)?;
    let at = now();
    conn.execute(
        "INSERT INTO member_notes (member_id, author, text, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![member.0, author, text, at],
    )
    .ctx("adding a note")?;
    Ok(Note {
        id: NoteId(conn.last_insert_rowid()),
        member,
        author: author.to_owned(),
        text: text.to_owned(),
        created_at: at,
    })
}

pub(crate) fn delete_note(conn: &Connection, note: NoteId) -> StoreResult<()> {
    let n = conn
        .execute("DELETE FROM member_notes WHERE id = ?1", [note.0])
        .ctx("deleting a note")?;
    updated(n, || format!("note {note}"))
}

pub(crate) fn tags(conn: &Connection, member: MemberId) -> StoreResult<Vec<String>> {
    conn.prepare_cached("SELECT tag FROM member_tags WHERE member_id = ?1 ORDER BY tag")
        .and_then(|mut s| s.query_map([member.0], |r| r.get(0))?.collect())
        .ctx("reading tags")
}

pub(crate) fn all_tags(conn: &Connection) -> StoreResult<Vec<(MemberId, String)>> {
    conn.prepare_cached("SELECT member_id, tag FROM member_tags ORDER BY member_id, tag")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((MemberId(r.get(0)?), r.get(1)?)))?
                .collect()
        })
        .ctx("reading tags")
}

pub(crate) fn add_tag(conn: &Connection, member: MemberId, tag: &str) -> StoreResult<()> {
    validate_label("a tag", tag)?;
    member_exists(conn, member)?;
    conn.execute(
        "INSERT INTO member_tags (member_id, tag) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![member.0, tag.trim()],
    )
    .ctx("tagging a member")?;
    Ok(())
}

pub(crate) fn remove_tag(conn: &Connection, member: MemberId, tag: &str) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM member_tags WHERE member_id = ?1 AND tag = ?2",
        params![member.0, tag],
    )
    .ctx("removing a tag")?;
    Ok(())
}

pub(crate) fn tasks(conn: &Connection, member: Option<MemberId>) -> StoreResult<Vec<Task>> {
    let filter = member.map_or(-1, |m| m.0);
    conn.prepare_cached(
        "SELECT id, member_id, title, due, created_by, created_at, done_at FROM member_tasks
         WHERE ?1 = -1 OR member_id = ?1
         ORDER BY done_at IS NOT NULL, coalesce(due, 9223372036854775807), id",
    )
    .and_then(|mut s| {
        s.query_map([filter], |r| {
            Ok(Task {
                id: TaskId(r.get(0)?),
                member: MemberId(r.get(1)?),
                title: r.get(2)?,
                due: r.get(3)?,
                created_by: r.get(4)?,
                created_at: r.get(5)?,
                done_at: r.get(6)?,
            })
        })?
        .collect()
    })
    .ctx("reading tasks")
}

pub(crate) fn add_task(
    conn: &Connection,
    member: MemberId,
    title: &str,
    due: Option<i64>,
    created_by: &str,
) -> StoreResult<Task> {
    if title.trim().is_empty() {
        return Err(StoreError::Invalid("a task needs a title".into()));
    }
    member_exists(conn, member)?;
    let at = now();
    conn.execute(
        "INSERT INTO member_tasks (member_id, title, due, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![member.0, title, due, created_by, at],
    )
    .ctx("adding a task")?;
    Ok(Task {
        id: TaskId(conn.last_insert_rowid()),
        member,
        title: title.to_owned(),
        due,
        created_by: created_by.to_owned(),
        created_at: at,
        done_at: None,
    })
}

pub(crate) fn set_task_done(conn: &Connection, task: TaskId, done: bool) -> StoreResult<()> {
    let n = conn
        .execute(
            "UPDATE member_tasks SET done_at = CASE WHEN ?2 THEN coalesce(done_at, ?3) END WHERE id = ?1",
            params![task.0, done, now()],
        )
        .ctx("updating a task")?;
    updated(n, || format!("task {task}"))
}

fn segment_row(r: &Row<'_>) -> rusqlite::Result<Segment> {
    Ok(Segment {
        id: SegmentId(r.get(0)?),
        name: r.get(1)?,
        filter: r.get(2)?,
        created_by: r.get(3)?,
        created_at: r.get(4)?,
    })
}

pub(crate) fn segments(conn: &Connection) -> StoreResult<Vec<Segment>> {
    conn.prepare_cached(
        "SELECT id, name, filter, created_by, created_at FROM segments ORDER BY name",
    )
    .and_then(|mut s| s.query_map([], segment_row)?.collect())
    .ctx("listing segments")
}

pub(crate) fn save_segment(
    conn: &Connection,
    name: &str,
    filter: &str,
    created_by: &str,
) -> StoreResult<Segment> {
    validate_label("a segment name", name)?;
    conn.query_row(
        "INSERT INTO segments (name, filter, created_by, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (name) DO UPDATE SET filter = excluded.filter, created_by = excluded.created_by,
                                          created_at = excluded.created_at
         RETURNING id, name, filter, created_by, created_at",
        params![name, filter, created_by, now()],
        segment_row,
    )
    .ctx("saving a segment")
}

pub(crate) fn delete_segment(conn: &Connection, segment: SegmentId) -> StoreResult<()> {
    let n = conn
        .execute("DELETE FROM segments WHERE id = ?1", [segment.0])
        .ctx("deleting a segment")?;
    updated(n, || format!("segment {segment}"))
}
