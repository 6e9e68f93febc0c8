//! Logging in and out, first-run setup, one's own account (password, API tokens), and the
//! accounts page for admins.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use kith_store::{Role, TokenId, UserId};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Me, Who, shell};
use crate::auth::{
    self, Action, Credential, PRE_COOKIE, SCOPES, check_password, hash_password, may_manage,
    verify_password,
};
use crate::ui::{self, Shell};
use crate::{AppState, WebError, blocking};

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        ui::CSS,
    )
        .into_response()
}

/// The pre-login anti-forgery token: the browser's `kith_pre` cookie, or a new one to set.
fn pre_token(state: &AppState, headers: &HeaderMap) -> (String, Option<header::HeaderValue>) {
    match auth::cookie(headers, PRE_COOKIE) {
        Some(t) if t.len() == 64 => (t.to_owned(), None),
        _ => {
            let t = auth::random_token();
            let c = auth::set_cookie(PRE_COOKIE, &t, 86_400, auth::secure(state, headers));
            (t.clone(), Some(c))
        }
    }
}

fn public_page(state: &AppState, title: &str, body: Markup) -> Markup {
    ui::page(
        &Shell {
            title,
            current: "",
            principal: None,
            demo: state.demo,
        },
        body,
    )
}

fn with_cookie(markup: Markup, cookie: Option<header::HeaderValue>) -> Response {
    let mut r = markup.into_response();
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only local paths: `next` must never send a person to another site after logging in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn login_markup(
    state: &AppState,
    token: &str,
    next: &str,
    name: &str,
    error: Option<&str>,
) -> Markup {
    public_page(
        state,
        "Log in",
        html! {
            h1 { "Log in to kith" }
            (ui::flash(None, error))
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                p { label { "Account name" input type="text" name="name" autocomplete="username" required value=(name); } }
                p { label { "Password" input type="password" name="password" autocomplete="current-password" required; } }
                p { button type="submit" { "Log in" } }
            }
        },
    )
}

pub async fn login_form(
    State(state): State<AppState>,
    Who(who): Who,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    if who.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    let store = state.store.clone();
    if blocking(move || Ok(store.users()?.is_empty())).await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let (token, cookie) = pre_token(&state, &headers);
    let next = safe_next(q.next.as_deref());
    Ok(with_cookie(
        login_markup(&state, &token, &next, "", None),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let ip = auth::client_ip(request.extensions());
    let Form(form) = Form::<LoginForm>::from_request(request, &state)
        .await
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let name = form.name.trim().to_owned();
    if let Err(wait) = state.limiter.check(ip, &name) {
        return Err(WebError::TooMany(wait));
    }
    let (s2, n2, password) = (state.clone(), name.clone(), form.password);
    let user = blocking(move || {
        let found = s2.store.user_credentials(&n2)?;
        // Unknown names cost the same argon2 work as wrong passwords: no timing oracle.
        let (user, hash) = match found {
            Some((u, h)) if !u.disabled => (Some(u), h),
            _ => (None, auth::DUMMY_HASH.as_str().to_owned()),
        };
        let ok = verify_password(&password, &hash);
        Ok(user.filter(|_| ok))
    })
    .await?;
    let next = safe_next(form.next.as_deref());
    let Some(user) = user else {
        state.limiter.failed(ip, &name);
        let (token, cookie) = pre_token(&state, &headers);
        let mut r = with_cookie(
            login_markup(
                &state,
                &token,
                &next,
                &name,
                Some("Wrong account name or password."),
            ),
            cookie,
        );
        *r.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        return Ok(r);
    };
    state.limiter.succeeded(ip, &name);
    let s2 = state.clone();
    let cookie = blocking(move || Ok(auth::start_session(&s2, &user, &headers)?.0)).await?;
    let mut r = Redirect::to(&next).into_response();
    r.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(r)
}

use axum::extract::FromRequest;

pub async fn setup_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let store = state.store.clone();
    if !blocking(move || Ok(store.users()?.is_empty())).await? {
        return Ok(Redirect::to("/login").into_response());
    }
    let (token, cookie) = pre_token(&state, &headers);
    Ok(with_cookie(setup_markup(&state, &token, "", None), cookie))
}

fn setup_markup(state: &AppState, token: &str, name: &str, error: Option<&str>) -> Markup {
    public_page(
        state,
        "Set up kith",
        html! {
            h1 { "Set up kith" }
            p { "No account exists yet. Create the owner account: it can do everything, including creating the other accounts." }
            (ui::flash(None, error))
            form method="post" action="/setup" {
                input type="hidden" name="csrf" value=(token);
                p { label { "Account name" input type="text" name="name" autocomplete="username" required value=(name); } }
                p { label { "Password (at least 10 characters)" input type="password" name="password" autocomplete="new-password" required minlength="10"; } }
                p { label { "Password again" input type="password" name="confirm" autocomplete="new-password" required; } }
                p { button type="submit" { "Create the owner account" } }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct SetupForm {
    name: String,
    password: String,
    confirm: String,
}

pub async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response, WebError> {
    let name = form.name.trim().to_owned();
    let problem = if form.password != form.confirm {
        Some("The two passwords differ.".to_owned())
    } else {
        check_password(&form.password).err()
    };
    if let Some(p) = problem {
        let (token, cookie) = pre_token(&state, &headers);
        let mut r = with_cookie(setup_markup(&state, &token, &name, Some(&p)), cookie);
        *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        return Ok(r);
    }
    let s2 = state.clone();
    let cookie = blocking(move || {
        let hash = hash_password(&form.password).map_err(WebError::Internal)?;
        let user = s2.store.create_first_owner(&name, &hash)?;
        Ok(auth::start_session(&s2, &user, &headers)?.0)
    })
    .await?;
    let mut r = Redirect::to("/").into_response();
    r.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(r)
}

pub async fn logout(
    State(state): State<AppState>,
    Me(me): Me,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if let Credential::Session { key_hash, .. } = &me.credential {
        let (store, key) = (state.store.clone(), key_hash.clone());
        let deleted = blocking(move || Ok(store.delete_session(&key)?)).await;
        // After the store's change: a request that read the session before it is not kept.
        state.credentials.forget_session(key_hash);
        deleted?;
    }
    let mut r = Redirect::to(if state.demo { "/" } else { "/login" }).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(auth::SESSION_COOKIE, "", 0, auth::secure(&state, &headers)),
    );
    Ok(r)
}

#[derive(Deserialize, Default)]
pub struct Flash {
    ok: Option<String>,
    error: Option<String>,
    /// A token secret, shown once after creation.
    token: Option<String>,
}

pub async fn account(
    State(state): State<AppState>,
    Me(me): Me,
    Query(f): Query<Flash>,
) -> Result<Markup, WebError> {
    let (store, id) = (state.store.clone(), me.user.id);
    let tokens = blocking(move || Ok(store.tokens(Some(id))?)).await?;
    let body = html! {
        h1 { "Your account" }
        (ui::flash(f.ok.as_deref(), f.error.as_deref()))
        p { "Logged in as " strong { (me.user.name) } ", role " strong { (me.user.role) } ". "
            a href="/definitions#roles" { "What each role may do" } }
        @if let Some(secret) = &f.token {
            div.ok role="status" {
                p { strong { "Your new API token (shown once; copy it now):" } }
                pre { (secret) }
                p { "Send it as " code { "Authorization: Bearer " (secret) } "." }
            }
        }
        h2 { "Change password" }
        form method="post" action="/account/password" {
            (ui::csrf_field(Some(&me)))
            p { label { "Current password" input type="password" name="current" autocomplete="current-password" required; } }
            p { label { "New password (at least 10 characters)" input type="password" name="password" autocomplete="new-password" required minlength="10"; } }
            p { button type="submit" { "Change password" } }
        }
        h2 { "API tokens" }
        @if me.may(Action::Tokens) {
            p.muted { "A token acts for you with the scopes it has, never with more than your role allows. "
                a href="/api/v1/openapi.json" { "The API (OpenAPI)" } }
            form.inline method="post" action="/account/tokens" {
                (ui::csrf_field(Some(&me)))
                label { "Name" input type="text" name="name" required placeholder="e.g. nightly import"; }
                @for s in SCOPES {
                    label { (s) input type="checkbox" name="scope" value=(s) checked[s == "read"]; }
                }
                button type="submit" { "Create token" }
            }
            @if tokens.is_empty() { p { "No tokens yet." } } @else {
                table { thead { tr { th { "Name" } th { "Scopes" } th { "Created" } th { "State" } th {} } }
                    tbody { @for t in &tokens { tr {
                        td { (t.name) } td { (t.scopes.join(", ")) } td { (ui::when(t.created_at)) }
                        td { @if let Some(r) = t.revoked_at { "revoked " (ui::when(r)) } @else { "active" } }
                        td { @if t.revoked_at.is_none() {
                            form method="post" action={ "/account/tokens/" (t.id) "/revoke" } {
                                (ui::csrf_field(Some(&me))) button.quiet type="submit" { "Revoke" }
                            }
                        } }
                    } } }
                }
            }
        } @else {
            p { "Your role (" (me.user.role) ") cannot create API tokens." }
        }
    };
    Ok(shell(&state, &me, "Your account", "/account", body))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    Me(me): Me,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    if let Err(p) = check_password(&form.password) {
        return Ok(Redirect::to(&format!("/account?error={}", ui::url_encode(&p))).into_response());
    }
    let s2 = state.clone();
    let user = me.user.clone();
    let cookie = blocking(move || {
        let Some((_, hash)) = s2.store.user_credentials(&user.name)? else {
            return Err(WebError::NotFound(format!("account {}", user.name)));
        };
        if !verify_password(&form.current, &hash) {
            return Ok(None);
        }
        let new = hash_password(&form.password).map_err(WebError::Internal)?;
        s2.store.set_user_password(user.id, &new)?;
        // Every other session of the account ends; this browser gets a fresh one.
        s2.store.delete_user_sessions(user.id)?;
        s2.credentials.forget_user(user.id);
        Ok(Some(auth::start_session(&s2, &user, &headers)?.0))
    })
    .await?;
    let Some(cookie) = cookie else {
        return Ok(Redirect::to("/account?error=The+current+password+is+wrong.").into_response());
    };
    let mut r = Redirect::to("/account?ok=Password+changed%3B+other+sessions+were+logged+out.")
        .into_response();
    r.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(r)
}

pub async fn create_token(
    State(state): State<AppState>,
    Me(me): Me,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    // Repeated `scope` fields: parsed by hand (serde_urlencoded cannot collect them).
    let text = String::from_utf8_lossy(&body);
    let mut name = String::new();
    let mut scopes = Vec::new();
    for (k, v) in text.split('&').filter_map(|kv| kv.split_once('=')) {
        match k {
            "name" => name = ui::url_decode(v),
            "scope" => scopes.push(ui::url_decode(v)),
            _ => {}
        }
    }
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(WebError::BadRequest(format!(
            "unknown scope `{bad}`; scopes are {}",
            SCOPES.join(", ")
        )));
    }
    if scopes.is_empty() {
        return Ok(Redirect::to("/account?error=Choose+at+least+one+scope.").into_response());
    }
    let secret = format!("kith_{}", auth::random_token());
    let (store, id, hash) = (state.store.clone(), me.user.id, auth::secret_hash(&secret));
    blocking(move || Ok(store.create_token(id, name.trim(), &hash, &scopes)?)).await?;
    // Shown once on the account page, which is sent with no-store.
    let mut r = Redirect::to(&format!("/account?token={secret}")).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Me(me): Me,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let store = state.store.clone();
    let admin = me.may(Action::ManageUsers);
    let result = blocking(move || {
        let mine = store
            .tokens(Some(me.user.id))?
            .iter()
            .any(|t| t.id == TokenId(id));
        if !mine && !admin {
            return Err(WebError::NotFound(format!("API token {id}")));
        }
        Ok(store.revoke_token(TokenId(id))?)
    })
    .await;
    state.credentials.forget_token(TokenId(id));
    result?;
    Ok(Redirect::to("/account?ok=Token+revoked.").into_response())
}

pub async fn users(
    State(state): State<AppState>,
    Me(me): Me,
    Query(f): Query<Flash>,
) -> Result<Markup, WebError> {
    let store = state.store.clone();
    let (users, tokens) = blocking(move || Ok((store.users()?, store.tokens(None)?))).await?;
    let roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| may_manage(me.user.role, *r))
        .collect();
    let body = html! {
        h1 { "Accounts" }
        (ui::flash(f.ok.as_deref(), f.error.as_deref()))
        table {
            thead { tr { th { "Name" } th { "Role" } th { "Created" } th { "State" } th { "Change" } } }
            tbody { @for u in &users { tr {
                td { (u.name) } td { (u.role) } td { (ui::day(u.created_at)) }
                td { @if u.disabled { "disabled" } @else { "active" } }
                td { @if may_manage(me.user.role, u.role) && u.id != me.user.id {
                    form.inline method="post" action={ "/admin/users/" (u.id) } {
                        (ui::csrf_field(Some(&me)))
                        label { "Role" select name="role" { @for r in &roles { option value=(r.as_str()) selected[*r == u.role] { (r) } } } }
                        label { "Disabled" input type="checkbox" name="disabled" value="1" checked[u.disabled]; }
                        label { "New password" input type="password" name="password" autocomplete="new-password"; }
                        button type="submit" { "Save" }
                    }
                } }
            } } }
        }
        h2 { "New account" }
        form.inline method="post" action="/admin/users" {
            (ui::csrf_field(Some(&me)))
            label { "Name" input type="text" name="name" required; }
            label { "Password (at least 10 characters)" input type="password" name="password" required minlength="10" autocomplete="new-password"; }
            label { "Role" select name="role" { @for r in &roles { option value=(r.as_str()) selected[*r == Role::Viewer] { (r) } } } }
            button type="submit" { "Create" }
        }
        h2 { "API tokens of every account" }
        table { thead { tr { th { "Account" } th { "Name" } th { "Scopes" } th { "Created" } th { "State" } } }
            tbody { @for t in &tokens {
                @let owner = users.iter().find(|u| u.id == t.user).map_or("?", |u| u.name.as_str());
                tr { td { (owner) } td { (t.name) } td { (t.scopes.join(", ")) } td { (ui::when(t.created_at)) }
                    td { @if t.revoked_at.is_some() { "revoked" } @else {
                        form method="post" action={ "/account/tokens/" (t.id) "/revoke" } { (ui::csrf_field(Some(&me))) button.quiet type="submit" { "Revoke" } }
                    } } }
            } }
        }
    };
    Ok(shell(&state, &me, "Accounts", "/admin/users", body))
}

#[derive(Deserialize)]
pub struct NewUserForm {
    name: String,
    password: String,
    role: String,
}

fn role(s: &str) -> Result<Role, WebError> {
    Role::parse(s).ok_or_else(|| WebError::BadRequest(format!("unknown role `{s}`")))
}

pub async fn create_user(
    State(state): State<AppState>,
    Me(me): Me,
    Form(form): Form<NewUserForm>,
) -> Result<Response, WebError> {
    let role = role(&form.role)?;
    if !may_manage(me.user.role, role) {
        return Err(WebError::Forbidden(format!(
            "a {} cannot create an {role} account",
            me.user.role
        )));
    }
    if let Err(p) = check_password(&form.password) {
        return Ok(
            Redirect::to(&format!("/admin/users?error={}", ui::url_encode(&p))).into_response(),
        );
    }
    let store = state.store.clone();
    let result = blocking(move || {
        let hash = hash_password(&form.password).map_err(WebError::Internal)?;
        Ok(store.create_user(form.name.trim(), &hash, role)?)
    })
    .await;
    Ok(match result {
        Ok(u) => Redirect::to(&format!(
            "/admin/users?ok={}",
            ui::url_encode(&format!("Account {} created.", u.name))
        )),
        Err(WebError::Conflict(m) | WebError::BadRequest(m)) => {
            Redirect::to(&format!("/admin/users?error={}", ui::url_encode(&m)))
        }
        Err(e) => return Err(e),
    }
    .into_response())
}

#[derive(Deserialize)]
pub struct UpdateUserForm {
    role: String,
    disabled: Option<String>,
    password: Option<String>,
}

pub async fn update_user(
    State(state): State<AppState>,
    Me(me): Me,
    Path(id): Path<i64>,
    Form(form): Form<UpdateUserForm>,
) -> Result<Response, WebError> {
    let new_role = role(&form.role)?;
    let store = state.store.clone();
    let result = blocking(move || {
        let target = store
            .users()?
            .into_iter()
            .find(|u| u.id == UserId(id))
            .ok_or_else(|| WebError::NotFound(format!("account {id}")))?;
        if target.id == me.user.id {
            return Err(WebError::Forbidden(
                "change your own account on the account page".into(),
            ));
        }
        if !may_manage(me.user.role, target.role) || !may_manage(me.user.role, new_role) {
            return Err(WebError::Forbidden(format!(
                "a {} cannot change {} accounts",
                me.user.role, target.role
            )));
        }
        if let Some(p) = form.password.as_deref().filter(|p| !p.is_empty()) {
            check_password(p).map_err(WebError::BadRequest)?;
            store.set_user_password(target.id, &hash_password(p).map_err(WebError::Internal)?)?;
            store.delete_user_sessions(target.id)?;
        }
        store.set_user_role(target.id, new_role)?;
        store.set_user_disabled(target.id, form.disabled.is_some())?;
        Ok(())
    })
    .await;
    // Whatever was changed before any failure applies to the account's next request.
    state.credentials.forget_user(UserId(id));
    result?;
    Ok(Redirect::to("/admin/users?ok=Saved.").into_response())
}
