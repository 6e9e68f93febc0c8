//! The team's own data, as opposed to the community's: the people who use kith (accounts,
//! roles, sessions, API tokens) and what they keep about members (notes, tags, tasks, saved
//! segments). Schema version 3 added these tables to both backends.
//!
//! Secrets never reach the store in clear: passwords arrive as argon2 hashes, session keys and
//! API tokens as SHA-256 hashes, all made by the caller.

use serde::{Deserialize, Serialize};

use crate::{MemberId, StoreResult};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}

id_type! {
    UserId;
    TokenId;
    NoteId;
    TaskId;
    SegmentId;
}

/// What a person may do in kith (SPEC §7), from most to least trusted. The permission matrix
/// itself lives with the web app; the store only keeps the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Moderator,
    Analyst,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Moderator,
        Role::Analyst,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person who uses kith.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    /// Epoch seconds.
    pub created_at: i64,
    /// A disabled account cannot log in; its sessions and tokens stop working.
    pub disabled: bool,
}

/// A live login session, found by the hash of its cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRecord {
    pub user: User,
    /// The session's anti-forgery token, embedded in every form it is shown.
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An API token (its secret is shown once, at creation, and stored only as a hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub user: UserId,
    pub name: String,
    /// What the token may do (`read`, `write`, `ingest`, `admin`), interpreted by the web app.
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub id: NoteId,
    pub member: MemberId,
    /// The user name of who wrote it.
    pub author: String,
    pub text: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    pub id: TaskId,
    pub member: MemberId,
    pub title: String,
    /// Epoch seconds.
    pub due: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub done_at: Option<i64>,
}

/// A saved member filter. The filter is JSON the web app writes and reads; the store keeps it
/// as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub id: SegmentId,
    pub name: String,
    pub filter: String,
    pub created_by: String,
    pub created_at: i64,
}

/// Accounts, sessions and API tokens.
pub trait Accounts: Send + Sync {
    /// Every account, by name.
    fn users(&self) -> StoreResult<Vec<User>>;
    /// Creates an account. [`crate::StoreError::Conflict`] if the name is taken.
    fn create_user(&self, name: &str, password_hash: &str, role: Role) -> StoreResult<User>;
    /// Creates the first account, an owner, only while no account exists (first-run setup);
    /// [`crate::StoreError::Conflict`] once one does, so two racing set-ups cannot both win.
    fn create_first_owner(&self, name: &str, password_hash: &str) -> StoreResult<User>;
    /// The account named `name` with its password hash, for logging in.
    fn user_credentials(&self, name: &str) -> StoreResult<Option<(User, String)>>;
    fn set_user_role(&self, user: UserId, role: Role) -> StoreResult<()>;
    fn set_user_password(&self, user: UserId, password_hash: &str) -> StoreResult<()>;
    /// Disabling also ends the account's sessions.
    fn set_user_disabled(&self, user: UserId, disabled: bool) -> StoreResult<()>;

    /// Stores a session under the hash of its key.
    fn create_session(
        &self,
        key_hash: &str,
        user: UserId,
        csrf: &str,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// The session with this key hash, unless it expired by `now` or its account is disabled.
    fn session(&self, key_hash: &str, now: i64) -> StoreResult<Option<SessionRecord>>;
    fn delete_session(&self, key_hash: &str) -> StoreResult<()>;
    /// Ends every session of an account (after a password change, say).
    fn delete_user_sessions(&self, user: UserId) -> StoreResult<()>;

    fn create_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        scopes: &[String],
    ) -> StoreResult<ApiToken>;
    /// The unrevoked token with this hash and its account, if the account is enabled.
    fn token(&self, token_hash: &str) -> StoreResult<Option<(ApiToken, User)>>;
    /// Tokens of one account, or of all when `user` is `None`, newest first.
    fn tokens(&self, user: Option<UserId>) -> StoreResult<Vec<ApiToken>>;
    fn revoke_token(&self, token: TokenId) -> StoreResult<()>;
}

/// What the team keeps about members: notes, tags, tasks, and saved segments.
pub trait MemberRecords: Send + Sync {
    /// Notes on a member, oldest first.
    fn notes(&self, member: MemberId) -> StoreResult<Vec<Note>>;
    fn add_note(&self, member: MemberId, author: &str, text: &str) -> StoreResult<Note>;
    fn delete_note(&self, note: NoteId) -> StoreResult<()>;

    /// Tags of a member, sorted.
    fn tags(&self, member: MemberId) -> StoreResult<Vec<String>>;
    /// Every (member, tag) pair, by member then tag: what the member list filters on.
    fn all_tags(&self) -> StoreResult<Vec<(MemberId, String)>>;
    /// Adding a tag the member has is not an error.
    fn add_tag(&self, member: MemberId, tag: &str) -> StoreResult<()>;
    fn remove_tag(&self, member: MemberId, tag: &str) -> StoreResult<()>;

    /// Tasks of one member (or of all), open first by due date, then done ones.
    fn tasks(&self, member: Option<MemberId>) -> StoreResult<Vec<Task>>;
    fn add_task(
        &self,
        member: MemberId,
        title: &str,
        due: Option<i64>,
        created_by: &str,
    ) -> StoreResult<Task>;
    /// Marks a task done (`done`) or open again.
    fn set_task_done(&self, task: TaskId, done: bool) -> StoreResult<()>;

    /// Saved segments, by name.
    fn segments(&self) -> StoreResult<Vec<Segment>>;
    /// Saves a segment; a segment with the same name is replaced.
    fn save_segment(&self, name: &str, filter: &str, created_by: &str) -> StoreResult<Segment>;
    fn delete_segment(&self, segment: SegmentId) -> StoreResult<()>;
}

/// Checks a user or tag name: 1–64 characters, no control characters, not only spaces.
pub fn validate_label(what: &str, value: &str) -> StoreResult<()> {
    let trimmed = value.trim();
    if trimmed.is_empty() || value.chars().count() > 64 || value.chars().any(char::is_control) {
        return Err(crate::StoreError::Invalid(format!(
            "{what} must be 1 to 64 characters without control characters, got `{}`",
            value.escape_debug()
        )));
    }
    Ok(())
}
