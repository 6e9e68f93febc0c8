//! Who is asking and what they may do: roles and the permission matrix, password hashing
//! (argon2id), session cookies, API tokens with scopes, CSRF protection and login rate
//! limiting. The checks run as layers (`authenticate`, `check_csrf`, `authorize`), never inside
//! handlers. Sessions and tokens found in the store are kept in memory for a few seconds
//! ([`CredentialCache`]); whatever this server changes about them takes effect at once.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use kith_store::{Role, SessionRecord, TokenId, User, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "kith_session";
/// The anti-forgery cookie of forms shown before logging in (login, first-run setup).
pub const PRE_COOKIE: &str = "kith_pre";
/// How long a session lasts.
pub const SESSION_DAYS: i64 = 14;
/// The demo account `kith demo` logs everyone in as.
pub const DEMO_USER: &str = "demo";

/// What a route does, for the permission matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Reachable without logging in (login, setup, health, styles).
    Public,
    /// Any logged-in account: read every page and the read API; own session and password.
    View,
    /// Create and revoke one's own API tokens.
    Tokens,
    /// Save and delete member segments.
    Segments,
    /// Notes, tags and tasks on members.
    Annotate,
    /// Merge and unmerge members.
    Merge,
    /// Import data (upload, ingest API) and set source base URLs.
    Import,
    /// Create accounts, change roles, disable accounts, see every token.
    ManageUsers,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::Public,
        Action::View,
        Action::Tokens,
        Action::Segments,
        Action::Annotate,
        Action::Merge,
        Action::Import,
        Action::ManageUsers,
    ];

    /// The API token scope an action needs.
    pub fn scope(self) -> &'static str {
        match self {
            Action::Public | Action::View => "read",
            Action::Segments | Action::Annotate | Action::Merge => "write",
            Action::Import => "ingest",
            Action::Tokens | Action::ManageUsers => "admin",
        }
    }
}

/// The scopes a token may carry.
pub const SCOPES: [&str; 4] = ["read", "write", "ingest", "admin"];

/// The permission matrix (docs/web.md has it as a table).
pub fn may(role: Role, action: Action) -> bool {
    use Action::*;
    match action {
        Public | View => true,
        Tokens | Segments => role != Role::Viewer,
        Annotate => matches!(role, Role::Owner | Role::Admin | Role::Moderator),
        Merge | Import | ManageUsers => matches!(role, Role::Owner | Role::Admin),
    }
}

/// The roles `actor` may give or take away: admins manage everyone but owners.
pub fn may_manage(actor: Role, target: Role) -> bool {
    match actor {
        Role::Owner => true,
        Role::Admin => target != Role::Owner,
        _ => false,
    }
}

/// How a request proved who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    Session { key_hash: String, csrf: String },
    Token { scopes: Vec<String> },
}

/// The logged-in account behind a request (a request extension).
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub credential: Credential,
}

impl Principal {
    pub fn may(&self, action: Action) -> bool {
        may(self.user.role, action)
            && match &self.credential {
                Credential::Session { .. } => true,
                Credential::Token { scopes } => scopes.iter().any(|s| s == action.scope()),
            }
    }

    /// The anti-forgery token to embed in forms ("" for token requests, which need none).
    pub fn csrf(&self) -> &str {
        match &self.credential {
            Credential::Session { csrf, .. } => csrf,
            Credential::Token { .. } => "",
        }
    }
}

/// 32 random bytes from the operating system-seeded CSPRNG, as hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of a secret: what the store keeps for session keys and API tokens. They are long
/// random values, so a fast hash is enough (passwords get argon2).
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// An argon2id hash in PHC format.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash of a password nobody has: logins with unknown names verify against it, so that they
/// take as long as logins with a wrong password.
pub static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&random_token()).unwrap_or_default());

/// What a password must be.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < 10 {
        return Err("a password needs at least 10 characters".into());
    }
    if password.len() > 1024 {
        return Err("a password can have at most 1024 bytes".into());
    }
    Ok(())
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when configured (behind TLS).
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("kith_invalid=1"))
}

/// Whether responses should mark cookies Secure: configured, or the request came through a
/// TLS-terminating proxy.
pub fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Starts a session for `user`: stores it and returns the cookie to set.
pub fn start_session(
    state: &AppState,
    user: &User,
    headers: &HeaderMap,
) -> Result<(HeaderValue, SessionRecord), kith_store::StoreError> {
    let key = random_token();
    let csrf = random_token();
    let expires = now() + SESSION_DAYS * 86_400;
    state
        .store
        .create_session(&secret_hash(&key), user.id, &csrf, expires)?;
    let cookie = set_cookie(
        SESSION_COOKIE,
        &key,
        SESSION_DAYS * 86_400,
        secure(state, headers),
    );
    Ok((
        cookie,
        SessionRecord {
            user: user.clone(),
            csrf,
            created_at: now(),
            expires_at: expires,
        },
    ))
}

/// How long a session or token found in the store is trusted without asking it again. Changes
/// made through this server (logging out, a password or role change, disabling an account,
/// revoking a token) take effect at once; changes made by another process (the `kith users`
/// command, another kith node on the same PostgreSQL database) within this time.
pub const CREDENTIAL_TTL: Duration = Duration::from_secs(5);

/// Credentials kept at most; beyond, the expired ones go, then all.
const MAX_CREDENTIALS: usize = 10_000;

struct CachedCredential {
    principal: Principal,
    found: Instant,
    /// The session's own end (epoch seconds).
    expires_at: Option<i64>,
    token: Option<TokenId>,
}

/// Sessions and API tokens recently found in the store, by the SHA-256 of their secret (the
/// secret itself is never kept). Only credentials that exist are kept: unknown ones are asked
/// of the store every time, so guessing cannot fill the cache.
#[derive(Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<String, CachedCredential>>,
    /// Moves on every change of credentials: what a request read from the store before a
    /// change is not kept after it (a logout racing a request must not be undone).
    generation: std::sync::atomic::AtomicU64,
}

impl CredentialCache {
    fn get(&self, key: &str) -> Option<Principal> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let c = map.get(key)?;
        let fresh = c.found.elapsed() < CREDENTIAL_TTL && c.expires_at.is_none_or(|e| e > now());
        fresh.then(|| c.principal.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Keeps what was read from the store when the generation was `seen`, unless credentials
    /// changed since.
    fn put(
        &self,
        key: String,
        principal: Principal,
        expires_at: Option<i64>,
        token: Option<TokenId>,
        seen: u64,
    ) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if self.generation() != seen {
            return;
        }
        if map.len() >= MAX_CREDENTIALS {
            map.retain(|_, c| c.found.elapsed() < CREDENTIAL_TTL);
            if map.len() >= MAX_CREDENTIALS {
                map.clear();
            }
        }
        map.insert(
            key,
            CachedCredential {
                principal,
                found: Instant::now(),
                expires_at,
                token,
            },
        );
    }

    /// Forgets one session (by the hash of its key): after logging out.
    pub fn forget_session(&self, key_hash: &str) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        map.remove(&format!("s:{key_hash}"));
    }

    /// Forgets every session and token of an account: after its password, role or state
    /// changed.
    pub fn forget_user(&self, user: UserId) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        map.retain(|_, c| c.principal.user.id != user);
    }

    /// Forgets a revoked token.
    pub fn forget_token(&self, token: TokenId) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        map.retain(|_, c| c.token != Some(token));
    }

    /// Credentials held (for tests).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Finds the principal of a bearer token or session key: from memory when it was found within
/// [`CREDENTIAL_TTL`], else from the store (on a blocking thread).
async fn principal_of(
    state: &AppState,
    bearer: Option<String>,
    session_key: Option<String>,
) -> Result<Option<Principal>, crate::WebError> {
    let key = match (&bearer, &session_key) {
        (Some(token), _) => format!("t:{}", secret_hash(token)),
        (None, Some(key)) => format!("s:{}", secret_hash(key)),
        (None, None) => return Ok(None),
    };
    if let Some(p) = state.credentials.get(&key) {
        return Ok(Some(p));
    }
    let seen = state.credentials.generation();
    let store = state.store.clone();
    let hash = key[2..].to_owned();
    let found = crate::blocking(move || {
        if bearer.is_some() {
            return Ok(store.token(&hash)?.map(|(t, user)| {
                let id = t.id;
                (
                    Principal {
                        user,
                        credential: Credential::Token { scopes: t.scopes },
                    },
                    None,
                    Some(id),
                )
            }));
        }
        Ok(store.session(&hash, now())?.map(|s| {
            (
                Principal {
                    user: s.user,
                    credential: Credential::Session {
                        key_hash: hash.clone(),
                        csrf: s.csrf,
                    },
                },
                Some(s.expires_at),
                None,
            )
        }))
    })
    .await?;
    Ok(found.map(|(principal, expires_at, token)| {
        state
            .credentials
            .put(key, principal.clone(), expires_at, token, seen);
        principal
    }))
}

/// Layer: finds who is asking (bearer token, else session cookie; in the demo, logs everyone
/// in as the demo account) and puts the [`Principal`] into the request.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_owned);
    let session_key = cookie(headers, SESSION_COOKIE).map(str::to_owned);
    let has_authorization = headers.contains_key(header::AUTHORIZATION);
    let mut principal = match principal_of(&state, bearer, session_key).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mut set = None;
    if principal.is_none() && state.demo && !has_authorization {
        match demo_login(&state, req.headers()).await {
            Ok((cookie, p)) => {
                set = Some(cookie);
                principal = Some(p);
            }
            Err(e) => return e.into_response(),
        }
    }
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    let mut response = next.run(req).await;
    if let Some(cookie) = set {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `kith demo`: the demo account (an owner with a random password nobody knows) gets a new
/// session for every browser that arrives without one.
async fn demo_login(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(HeaderValue, Principal), crate::WebError> {
    let state2 = state.clone();
    let headers = headers.clone();
    tokio::task::spawn_blocking(move || {
        let store = &state2.store;
        let user = match store.user_credentials(DEMO_USER)? {
            Some((user, _)) => user,
            None => {
                let hash = hash_password(&random_token()).map_err(crate::WebError::Internal)?;
                match store.create_user(DEMO_USER, &hash, Role::Owner) {
                    Ok(u) => u,
                    // Two first requests raced: the other created it.
                    Err(kith_store::StoreError::Conflict(_)) => store
                        .user_credentials(DEMO_USER)?
                        .map(|(u, _)| u)
                        .ok_or_else(|| {
                            crate::WebError::Internal("the demo account vanished".into())
                        })?,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let (cookie, session) = start_session(&state2, &user, &headers)?;
        let key_hash = String::new();
        Ok((
            cookie,
            Principal {
                user: session.user,
                credential: Credential::Session {
                    key_hash,
                    csrf: session.csrf,
                },
            },
        ))
    })
    .await
    .map_err(|e| crate::WebError::Internal(e.to_string()))?
}

/// Layer on each route: lets the request through if its principal may do `action`; otherwise
/// sends browsers to log in (or to set kith up) and answers 401/403 to everyone else.
pub async fn authorize(
    State((state, action)): State<(AppState, Action)>,
    req: Request,
    next: Next,
) -> Response {
    if action == Action::Public {
        return next.run(req).await;
    }
    let principal = req.extensions().get::<Principal>();
    match principal {
        Some(p) if p.may(action) => next.run(req).await,
        Some(p) => crate::WebError::Forbidden(format!(
            "your role ({}) may not do this{}",
            p.user.role,
            match &p.credential {
                Credential::Token { .. } => format!(
                    " with this token (it needs the `{}` scope and a role that allows it)",
                    action.scope()
                ),
                Credential::Session { .. } => String::new(),
            }
        ))
        .into_response(),
        None => {
            let api = req.uri().path().starts_with("/api/");
            if api || req.method() != Method::GET {
                return (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Bearer realm=\"kith\"")],
                    axum::Json(serde_json::json!({"error": "log in, or send an API token as `Authorization: Bearer <token>`"})),
                )
                    .into_response();
            }
            let store = state.store.clone();
            let no_users = tokio::task::spawn_blocking(move || store.users().map(|u| u.is_empty()))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(false);
            if no_users {
                return Redirect::to("/setup").into_response();
            }
            let next_path = req
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            Redirect::to(&format!(
                "/login?next={}",
                crate::ui::url_encode(&next_path)
            ))
            .into_response()
        }
    }
}

/// Largest form body the CSRF layer reads (forms are small; uploads are multipart).
const FORM_LIMIT: usize = 1 << 20;

/// Layer: every state-changing request made with a cookie must carry the anti-forgery token
/// (form field `csrf`, header `X-CSRF-Token`, or `?csrf=` for uploads) of its session, or of the
/// pre-login cookie for the login and setup forms; a foreign `Origin` is refused outright.
/// Requests authenticated by a bearer token need none (browsers never send one by themselves).
pub async fn check_csrf(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    // Bearer tokens are never sent by a browser on its own: no forgery to fear. (An unknown
    // token is refused by `authorize` with 401.)
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    let principal = req.extensions().get::<Principal>().cloned();
    if bearer {
        return next.run(req).await;
    }
    let headers = req.headers();
    if let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        let origin = origin.to_str().unwrap_or("");
        let host = host.to_str().unwrap_or("");
        let origin_host = origin.split("://").nth(1).unwrap_or(origin);
        if origin != "null" && origin_host != host {
            return crate::WebError::Forbidden("the request came from another site".into())
                .into_response();
        }
    }
    let expected = match &principal {
        Some(p) => p.csrf().to_owned(),
        None => cookie(headers, PRE_COOKIE).unwrap_or("").to_owned(),
    };
    let mut given = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query_value(req.uri().query().unwrap_or(""), "csrf"));
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let req = if given.is_none() && form {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
            Ok(b) => b,
            Err(_) => {
                return crate::WebError::BadRequest("the form is too large".into()).into_response();
            }
        };
        given = query_value(&String::from_utf8_lossy(&bytes), "csrf");
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    match given {
        Some(g) if !expected.is_empty() && constant_time_eq(g.as_bytes(), expected.as_bytes()) => {
            next.run(req).await
        }
        _ => crate::WebError::Forbidden(
            "the form's security token is missing or stale: reload the page and try again".into(),
        )
        .into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The decoded value of `name` in a `application/x-www-form-urlencoded` string.
pub fn query_value(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| crate::ui::url_decode(v))
}

/// The client address (the socket's, since kith does not trust forwarding headers for limits).
pub fn client_ip(req_ext: &axum::http::Extensions) -> Option<IpAddr> {
    req_ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// Failed logins allowed per address and per account name within [`LoginLimiter::WINDOW`].
pub const MAX_FAILURES: usize = 5;

/// Counts failed logins by client address and by account name; after [`MAX_FAILURES`] in the
/// window, further attempts are refused until the oldest failure leaves the window. In memory:
/// a restart forgets, and several kith nodes count separately (docs/web.md says so).
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    pub const WINDOW: Duration = Duration::from_secs(15 * 60);

    fn keys(ip: Option<IpAddr>, name: &str) -> [String; 2] {
        [
            format!(
                "ip:{}",
                ip.map_or_else(|| "unknown".into(), |i| i.to_string())
            ),
            format!("name:{}", name.to_lowercase()),
        ]
    }

    /// `Err(seconds to wait)` when either key is over the limit.
    pub fn check(&self, ip: Option<IpAddr>, name: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = 0;
        for key in Self::keys(ip, name) {
            if let Some(times) = map.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < Self::WINDOW);
                if times.len() >= MAX_FAILURES {
                    let oldest = times[0];
                    let left = Self::WINDOW.saturating_sub(now.duration_since(oldest));
                    wait = wait.max(left.as_secs().max(1));
                }
            }
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    pub fn failed(&self, ip: Option<IpAddr>, name: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded memory under a flood: forget everything rather than grow without limit.
        if map.len() > 100_000 {
            map.clear();
        }
        for key in Self::keys(ip, name) {
            map.entry(key).or_default().push(now);
        }
    }

    pub fn succeeded(&self, ip: Option<IpAddr>, name: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let [_, by_name] = Self::keys(ip, name);
        map.remove(&by_name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_against_their_argon2_hash_only() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_sixth_failure_within_the_window_is_refused_per_address_and_per_name() {
        let l = LoginLimiter::default();
        let ip: Option<IpAddr> = "10.0.0.1".parse().ok();
        for _ in 0..MAX_FAILURES {
            assert!(l.check(ip, "ada").is_ok());
            l.failed(ip, "ada");
        }
        assert!(
            l.check(ip, "ada").is_err(),
            "5 failures: the next try waits"
        );
        assert!(
            l.check(ip, "bob").is_err(),
            "the address is limited for any name"
        );
        let other: Option<IpAddr> = "10.0.0.2".parse().ok();
        assert!(
            l.check(other, "ada").is_err(),
            "the name is limited from any address"
        );
        assert!(l.check(other, "bob").is_ok());
    }

    #[test]
    fn tokens_need_the_scope_and_the_role() {
        let user = |role| User {
            id: kith_store::UserId(1),
            name: "x".into(),
            role,
            created_at: 0,
            disabled: false,
        };
        let p = |role, scopes: &[&str]| Principal {
            user: user(role),
            credential: Credential::Token {
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            },
        };
        assert!(p(Role::Admin, &["ingest"]).may(Action::Import));
        assert!(
            !p(Role::Admin, &["read"]).may(Action::Import),
            "scope missing"
        );
        assert!(
            !p(Role::Analyst, &["ingest"]).may(Action::Import),
            "role too weak"
        );
        assert!(p(Role::Viewer, &["read"]).may(Action::View));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; kith_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, "kith_session"), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
