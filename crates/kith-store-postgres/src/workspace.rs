//! The team's own data (schema v3): accounts, sessions, API tokens, notes, tags, tasks and saved
//! segments, with the same tables and behaviour as the SQLite backend.

use kith_store::{
    Accounts, ApiToken, MemberId, MemberRecords, Note, NoteId, Role, Segment, SegmentId,
    SessionRecord, StoreError, StoreResult, Task, TaskId, TokenId, User, UserId, validate_label,
};
use postgres::error::SqlState;
use postgres::{GenericClient, Row};

use crate::{PgStore, col, db_err, flag, now_secs};

const USER_COLUMNS: &str =
    "u.id AS user_id, u.name AS user_name, u.role, u.created_at AS user_created_at, u.disabled";

fn user_row(row: &Row) -> StoreResult<User> {
    let role: String = col(row, "role")?;
    Ok(User {
        id: UserId(col(row, "user_id")?),
        name: col(row, "user_name")?,
        // An unknown role (written by a newer kith) gets the least power.
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        created_at: col(row, "user_created_at")?,
        disabled: flag(row, "disabled")?,
    })
}

const TOKEN_COLUMNS: &str = "t.id AS token_id, t.user_id AS token_user, t.name AS token_name, t.scopes, t.created_at AS token_created_at, t.revoked_at";

fn token_row(row: &Row) -> StoreResult<ApiToken> {
    let scopes: String = col(row, "scopes")?;
    Ok(ApiToken {
        id: TokenId(col(row, "token_id")?),
        user: UserId(col(row, "token_user")?),
        name: col(row, "token_name")?,
        scopes: scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        created_at: col(row, "token_created_at")?,
        revoked_at: col(row, "revoked_at")?,
    })
}

fn note_row(row: &Row) -> StoreResult<Note> {
    Ok(Note {
        id: NoteId(col(row, "id")?),
        member: MemberId(col(row, "member_id")?),
        author: col(row, "author")?,
        text: col(row, "text")?,
        created_at: col(row, "created_at")?,
    })
}

fn task_row(row: &Row) -> StoreResult<Task> {
    Ok(Task {
        id: TaskId(col(row, "id")?),
        member: MemberId(col(row, "member_id")?),
        title: col(row, "title")?,
        due: col(row, "due")?,
        created_by: col(row, "created_by")?,
        created_at: col(row, "created_at")?,
        done_at: col(row, "done_at")?,
    })
}

fn segment_row(row: &Row) -> StoreResult<Segment> {
    Ok(Segment {
        id: SegmentId(col(row, "id")?),
        name: col(row, "name")?,
        filter: col(row, "filter")?,
        created_by: col(row, "created_by")?,
        created_at: col(row, "created_at")?,
    })
}

fn found(n: u64, what: impl FnOnce() -> String) -> StoreResult<()> {
    if n == 0 {
        Err(StoreError::NotFound(what()))
    } else {
        Ok(())
    }
}

fn insert_user(
    tx: &mut impl GenericClient,
    name: &str,
    password_hash: &str,
    role: Role,
) -> StoreResult<User> {
    validate_label("an account name", name)?;
    let at = now_secs();
    let row = tx
        .query_one(
            "INSERT INTO users (name, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&name, &password_hash, &role.as_str(), &at],
        )
        .map_err(|e| {
            if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                StoreError::Conflict(format!("an account named `{name}` exists already"))
            } else {
                db_err("creating an account", e)
            }
        })?;
    Ok(User {
        id: UserId(col(&row, "id")?),
        name: name.to_owned(),
        role,
        created_at: at,
        disabled: false,
    })
}

fn member_exists(tx: &mut impl GenericClient, member: MemberId) -> StoreResult<()> {
    let row = tx
        .query_opt("SELECT 1 FROM members WHERE id = $1", &[&member.0])
        .map_err(|e| db_err("looking up a member", e))?;
    match row {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(format!("member {member}"))),
    }
}

impl Accounts for PgStore {
    fn users(&self) -> StoreResult<Vec<User>> {
        self.read("listing accounts", |tx| {
            tx.query(
                &format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.name"),
                &[],
            )
            .map_err(|e| db_err("listing accounts", e))?
            .iter()
            .map(user_row)
            .collect()
        })
    }

    fn create_user(&self, name: &str, password_hash: &str, role: Role) -> StoreResult<User> {
        self.write("creating an account", |tx, _| {
            insert_user(tx, name, password_hash, role)
        })
    }

    fn create_first_owner(&self, name: &str, password_hash: &str) -> StoreResult<User> {
        self.write("creating the first account", |tx, _| {
            // Serialises concurrent first-run set-ups: the second sees the first's account.
            tx.batch_execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
                .map_err(|e| db_err("locking the accounts", e))?;
            let any = tx
                .query_opt("SELECT 1 FROM users LIMIT 1", &[])
                .map_err(|e| db_err("checking for accounts", e))?;
            if any.is_some() {
                return Err(StoreError::Conflict(
                    "kith is set up already: an account exists; log in instead".into(),
                ));
            }
            insert_user(tx, name, password_hash, Role::Owner)
        })
    }

    fn user_credentials(&self, name: &str) -> StoreResult<Option<(User, String)>> {
        self.read("reading an account", |tx| {
            let row = tx
                .query_opt(
                    &format!(
                        "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.name = $1"
                    ),
                    &[&name],
                )
                .map_err(|e| db_err("reading an account", e))?;
            row.map(|r| Ok((user_row(&r)?, col(&r, "password_hash")?)))
                .transpose()
        })
    }

    fn set_user_role(&self, user: UserId, role: Role) -> StoreResult<()> {
        self.write("changing a role", |tx, _| {
            let n = tx
                .execute(
                    "UPDATE users SET role = $2 WHERE id = $1",
                    &[&user.0, &role.as_str()],
                )
                .map_err(|e| db_err("changing a role", e))?;
            found(n, || format!("account {user}"))
        })
    }

    fn set_user_password(&self, user: UserId, password_hash: &str) -> StoreResult<()> {
        self.write("changing a password", |tx, _| {
            let n = tx
                .execute(
                    "UPDATE users SET password_hash = $2 WHERE id = $1",
                    &[&user.0, &password_hash],
                )
                .map_err(|e| db_err("changing a password", e))?;
            found(n, || format!("account {user}"))
        })
    }

    fn set_user_disabled(&self, user: UserId, disabled: bool) -> StoreResult<()> {
        self.write("disabling an account", |tx, _| {
            let n = tx
                .execute(
                    "UPDATE users SET disabled = $2 WHERE id = $1",
                    &[&user.0, &i16::from(disabled)],
                )
                .map_err(|e| db_err("disabling an account", e))?;
            found(n, || format!("account {user}"))?;
            if disabled {
                tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&user.0])
                    .map_err(|e| db_err("ending an account's sessions", e))?;
            }
            Ok(())
        })
    }

    fn create_session(
        &self,
        key_hash: &str,
        user: UserId,
        csrf: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.write("starting a session", |tx, _| {
            tx.execute(
                "INSERT INTO sessions (key_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                &[&key_hash, &user.0, &csrf, &now_secs(), &expires_at],
            )
            .map_err(|e| db_err("starting a session", e))?;
            Ok(())
        })
    }

    fn session(&self, key_hash: &str, now: i64) -> StoreResult<Option<SessionRecord>> {
        self.read("reading a session", |tx| {
            let row = tx
                .query_opt(
                    &format!(
                        "SELECT {USER_COLUMNS}, s.csrf, s.created_at, s.expires_at
                         FROM sessions s JOIN users u ON u.id = s.user_id
                         WHERE s.key_hash = $1 AND s.expires_at > $2 AND u.disabled = 0"
                    ),
                    &[&key_hash, &now],
                )
                .map_err(|e| db_err("reading a session", e))?;
            row.map(|r| {
                Ok(SessionRecord {
                    user: user_row(&r)?,
                    csrf: col(&r, "csrf")?,
                    created_at: col(&r, "created_at")?,
                    expires_at: col(&r, "expires_at")?,
                })
            })
            .transpose()
        })
    }

    fn delete_session(&self, key_hash: &str) -> StoreResult<()> {
        self.write("ending a session", |tx, _| {
            // Expired sessions of anyone go with it: the table stays small without a sweeper.
            tx.execute(
                "DELETE FROM sessions WHERE key_hash = $1 OR expires_at <= $2",
                &[&key_hash, &now_secs()],
            )
            .map_err(|e| db_err("ending a session", e))?;
            Ok(())
        })
    }

    fn delete_user_sessions(&self, user: UserId) -> StoreResult<()> {
        self.write("ending sessions", |tx, _| {
            tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&user.0])
                .map_err(|e| db_err("ending an account's sessions", e))?;
            Ok(())
        })
    }

    fn create_token(
        &self,
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
        self.write("creating an API token", |tx, _| {
            let at = now_secs();
            let row = tx
                .query_one(
                    "INSERT INTO api_tokens (user_id, name, token_hash, scopes, created_at)
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    &[&user.0, &name, &token_hash, &scopes.join(" "), &at],
                )
                .map_err(|e| db_err("creating an API token", e))?;
            Ok(ApiToken {
                id: TokenId(col(&row, "id")?),
                user,
                name: name.to_owned(),
                scopes: scopes.to_vec(),
                created_at: at,
                revoked_at: None,
            })
        })
    }

    fn token(&self, token_hash: &str) -> StoreResult<Option<(ApiToken, User)>> {
        self.read("reading an API token", |tx| {
            let row = tx
                .query_opt(
                    &format!(
                        "SELECT {TOKEN_COLUMNS}, {USER_COLUMNS}
                         FROM api_tokens t JOIN users u ON u.id = t.user_id
                         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0"
                    ),
                    &[&token_hash],
                )
                .map_err(|e| db_err("reading an API token", e))?;
            row.map(|r| Ok((token_row(&r)?, user_row(&r)?))).transpose()
        })
    }

    fn tokens(&self, user: Option<UserId>) -> StoreResult<Vec<ApiToken>> {
        let filter = user.map_or(-1, |u| u.0);
        self.read("listing API tokens", |tx| {
            tx.query(
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE $1::BIGINT = -1 OR t.user_id = $1::BIGINT ORDER BY t.id DESC"
                ),
                &[&filter],
            )
            .map_err(|e| db_err("listing API tokens", e))?
            .iter()
            .map(token_row)
            .collect()
        })
    }

    fn revoke_token(&self, token: TokenId) -> StoreResult<()> {
        self.write("revoking an API token", |tx, _| {
            let n = tx
                .execute(
                    "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                    &[&token.0, &now_secs()],
                )
                .map_err(|e| db_err("revoking an API token", e))?;
            found(n, || format!("API token {token}"))
        })
    }
}

impl MemberRecords for PgStore {
    fn notes(&self, member: MemberId) -> StoreResult<Vec<Note>> {
        self.read("reading notes", |tx| {
            tx.query(
                "SELECT id, member_id, author, text, created_at FROM member_notes WHERE member_id = $1 ORDER BY id",
                &[&member.0],
            )
            .map_err(|e| db_err("reading notes", e))?
            .iter()
            .map(note_row)
            .collect()
        })
    }

    fn add_note(&self, member: MemberId, author: &str, text: &str) -> StoreResult<Note> {
        if text.trim().is_empty() {
            return Err(StoreError::Invalid("a note cannot be empty".into()));
        }
        self.write("adding a note", |tx, _| {
            member_exists(tx, member)?;
            let row = tx
                .query_one(
                    "INSERT INTO member_notes (member_id, author, text, created_at) VALUES ($1, $2, $3, $4)
                     RETURNING id, member_id, author, text, created_at",
                    &[&member.0, &author, &text, &now_secs()],
                )
                .map_err(|e| db_err("adding a note", e))?;
            note_row(&row)
        })
    }

    fn delete_note(&self, note: NoteId) -> StoreResult<()> {
        self.write("deleting a note", |tx, _| {
            let n = tx
                .execute("DELETE FROM member_notes WHERE id = $1", &[&note.0])
                .map_err(|e| db_err("deleting a note", e))?;
            found(n, || format!("note {note}"))
        })
    }

    fn tags(&self, member: MemberId) -> StoreResult<Vec<String>> {
        self.read("reading tags", |tx| {
            tx.query(
                "SELECT tag FROM member_tags WHERE member_id = $1 ORDER BY tag COLLATE \"C\"",
                &[&member.0],
            )
            .map_err(|e| db_err("reading tags", e))?
            .iter()
            .map(|r| col(r, "tag"))
            .collect()
        })
    }

    fn all_tags(&self) -> StoreResult<Vec<(MemberId, String)>> {
        self.read("reading tags", |tx| {
            tx.query(
                "SELECT member_id, tag FROM member_tags ORDER BY member_id, tag COLLATE \"C\"",
                &[],
            )
            .map_err(|e| db_err("reading tags", e))?
            .iter()
            .map(|r| Ok((MemberId(col(r, "member_id")?), col(r, "tag")?)))
            .collect()
        })
    }

    fn add_tag(&self, member: MemberId, tag: &str) -> StoreResult<()> {
        validate_label("a tag", tag)?;
        self.write("tagging a member", |tx, _| {
            member_exists(tx, member)?;
            tx.execute(
                "INSERT INTO member_tags (member_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&member.0, &tag.trim()],
            )
            .map_err(|e| db_err("tagging a member", e))?;
            Ok(())
        })
    }

    fn remove_tag(&self, member: MemberId, tag: &str) -> StoreResult<()> {
        self.write("removing a tag", |tx, _| {
            tx.execute(
                "DELETE FROM member_tags WHERE member_id = $1 AND tag = $2",
                &[&member.0, &tag],
            )
            .map_err(|e| db_err("removing a tag", e))?;
            Ok(())
        })
    }

    fn tasks(&self, member: Option<MemberId>) -> StoreResult<Vec<Task>> {
        let filter = member.map_or(-1, |m| m.0);
        self.read("reading tasks", |tx| {
            tx.query(
                "SELECT id, member_id, title, due, created_by, created_at, done_at FROM member_tasks
                 WHERE $1::BIGINT = -1 OR member_id = $1::BIGINT
                 ORDER BY done_at IS NOT NULL, COALESCE(due, 9223372036854775807), id",
                &[&filter],
            )
            .map_err(|e| db_err("reading tasks", e))?
            .iter()
            .map(task_row)
            .collect()
        })
    }

    fn add_task(
        &self,
        member: MemberId,
        title: &str,
        due: Option<i64>,
        created_by: &str,
    ) -> StoreResult<Task> {
        if title.trim().is_empty() {
            return Err(StoreError::Invalid("a task needs a title".into()));
        }
        self.write("adding a task", |tx, _| {
            member_exists(tx, member)?;
            let row = tx
                .query_one(
                    "INSERT INTO member_tasks (member_id, title, due, created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5)
                     RETURNING id, member_id, title, due, created_by, created_at, done_at",
                    &[&member.0, &title, &due, &created_by, &now_secs()],
                )
                .map_err(|e| db_err("adding a task", e))?;
            task_row(&row)
        })
    }

    fn set_task_done(&self, task: TaskId, done: bool) -> StoreResult<()> {
        self.write("updating a task", |tx, _| {
            let n = tx
                .execute(
                    "UPDATE member_tasks SET done_at = CASE WHEN $2 THEN COALESCE(done_at, $3) END WHERE id = $1",
                    &[&task.0, &done, &now_secs()],
                )
                .map_err(|e| db_err("updating a task", e))?;
            found(n, || format!("task {task}"))
        })
    }

    fn segments(&self) -> StoreResult<Vec<Segment>> {
        self.read("listing segments", |tx| {
            tx.query(
                "SELECT id, name, filter, created_by, created_at FROM segments ORDER BY name COLLATE \"C\"",
                &[],
            )
            .map_err(|e| db_err("listing segments", e))?
            .iter()
            .map(segment_row)
            .collect()
        })
    }

    fn save_segment(&self, name: &str, filter: &str, created_by: &str) -> StoreResult<Segment> {
        validate_label("a segment name", name)?;
        self.write("saving a segment", |tx, _| {
            let row = tx
                .query_one(
                    "INSERT INTO segments (name, filter, created_by, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (name) DO UPDATE SET filter = EXCLUDED.filter,
                         created_by = EXCLUDED.created_by, created_at = EXCLUDED.created_at
                     RETURNING id, name, filter, created_by, created_at",
                    &[&name, &filter, &created_by, &now_secs()],
                )
                .map_err(|e| db_err("saving a segment", e))?;
            segment_row(&row)
        })
    }

    fn delete_segment(&self, segment: SegmentId) -> StoreResult<()> {
        self.write("deleting a segment", |tx, _| {
            let n = tx
                .execute("DELETE FROM segments WHERE id = $1", &[&segment.0])
                .map_err(|e| db_err("deleting a segment", e))?;
            found(n, || format!("segment {segment}"))
        })
    }
}
