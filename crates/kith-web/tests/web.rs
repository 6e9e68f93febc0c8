//! The web app end to end through its router (no browser): accounts and sessions, CSRF, login
//! rate limiting, the authorisation of every route for every role, pages over a generated
//! community, merging, uploads, the ingest API and the OpenAPI document.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use kith_store::{Role, Store};
use kith_web::auth::{Action, secret_hash};
use kith_web::{AppState, WebConfig};
use tower::ServiceExt;

struct App {
    _dir: tempfile::TempDir,
    state: AppState,
}

/// A store with a generated community of `activities` activities (none when 0).
fn app(activities: u64, demo: bool) -> App {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(kith_store_sqlite::SqliteStore::open(&dir.path().join("k.db")).unwrap());
    if activities > 0 {
        let generator = kith_gen::generate(kith_gen::GenConfig::new(activities, 7)).unwrap();
        kith_import::ingest_records(
            store.as_ref(),
            "demo",
            vec!["gen".into()],
            &Default::default(),
            &(),
            (activities, None),
            |sink| {
                for a in generator {
                    sink.activity(a);
                }
                Ok(())
            },
        )
        .unwrap();
    }
    let config = WebConfig {
        merge_threshold: 0.9,
        ..WebConfig::default()
    };
    let state = AppState::new(store, demo, config).unwrap();
    App { _dir: dir, state }
}

impl App {
    fn router(&self) -> Router {
        kith_web::router(self.state.clone())
    }

    /// A session for a new account with `role`: (cookie header, csrf token).
    fn session(&self, role: Role) -> (String, String) {
        let name = format!(
            "{role}-{}",
            kith_web::auth::random_token().get(..8).unwrap()
        );
        let user = self.state.store.create_user(&name, "x", role).unwrap();
        let key = kith_web::auth::random_token();
        let csrf = kith_web::auth::random_token();
        self.state
            .store
            .create_session(&secret_hash(&key), user.id, &csrf, i64::MAX / 2)
            .unwrap();
        (format!("kith_session={key}"), csrf)
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, header::HeaderMap, String) {
        let res = self.router().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    async fn get(
        &self,
        path: &str,
        cookie: Option<&str>,
    ) -> (StatusCode, header::HeaderMap, String) {
        let mut b = Request::get(path);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    async fn post_form(
        &self,
        path: &str,
        cookie: &str,
        form: &str,
    ) -> (StatusCode, header::HeaderMap, String) {
        let req = Request::post(path)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        self.send(req).await
    }
}

fn member_ids(state: &AppState, n: usize) -> Vec<i64> {
    state
        .store
        .members(None, 200)
        .unwrap()
        .into_iter()
        .filter(|m| !m.anonymous)
        .take(n)
        .map(|m| m.id.0)
        .collect()
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_permission_matrix_says() {
    let app = app(3_000, false);
    let members = member_ids(&app.state, 3);
    let thread = app
        .state
        .analytics
        .with_snapshot(|s| (0..s.slots() as i64).find_map(|i| s.thread_of_activity(i + 1)));
    let token_user = app
        .state
        .store
        .create_user("token-owner", "x", Role::Viewer)
        .unwrap();
    let token = app
        .state
        .store
        .create_token(token_user.id, "t", "h", &["read".into()])
        .unwrap();
    let sample = |path: &str| {
        path.replace(
            "{id}",
            &match path {
                p if p.starts_with("/conversations/threads") => thread.unwrap_or(1).to_string(),
                p if p.starts_with("/account/tokens") => token.id.to_string(),
                p if p.starts_with("/admin/users") => token_user.id.to_string(),
                p if p.starts_with("/sources/imports") => "1".to_string(),
                _ => members[0].to_string(),
            },
        )
        .replace("{merge}", "999999")
        .replace("{name}", "active_members")
    };
    let mut checked = 0;
    for route in kith_web::routes::routes() {
        let path = sample(route.path);
        // Anonymous: public routes open, everything else asks to log in.
        // With the pre-login form token, as the login and setup forms send it.
        let pre = "a".repeat(64);
        let anon = Request::builder()
            .method(route.method.clone())
            .uri(&path)
            .header(header::COOKIE, format!("kith_pre={pre}"))
            .header("x-csrf-token", &pre)
            .body(Body::empty())
            .unwrap();
        let (status, headers, _) = app.send(anon).await;
        if route.action == Action::Public {
            assert!(
                status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                "{} {path} is public, got {status}",
                route.method
            );
        } else if route.method == axum::http::Method::GET && !path.starts_with("/api/") {
            assert_eq!(
                status,
                StatusCode::SEE_OTHER,
                "{} {path} sends the anonymous to log in",
                route.method
            );
            assert!(
                headers[header::LOCATION]
                    .to_str()
                    .unwrap()
                    .starts_with("/login"),
                "{path}"
            );
        } else {
            assert!(
                status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN,
                "{} {path} refuses the anonymous, got {status}",
                route.method
            );
        }
        for role in Role::ALL {
            let (cookie, csrf) = app.session(role);
            let req = Request::builder()
                .method(route.method.clone())
                .uri(&path)
                .header(header::COOKIE, &cookie)
                .header("x-csrf-token", &csrf)
                .body(Body::empty())
                .unwrap();
            let (status, _, body) = app.send(req).await;
            let allowed = kith_web::auth::may(role, route.action);
            if allowed {
                assert!(
                    status != StatusCode::FORBIDDEN
                        && status != StatusCode::UNAUTHORIZED
                        && !status.is_server_error(),
                    "{role} may {:?}: {} {path} answered {status}: {}",
                    route.action,
                    route.method,
                    &body[..body.len().min(300)]
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} may not {:?}: {} {path}",
                    route.action,
                    route.method
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 5 * 45,
        "the table covers the app ({checked} checks)"
    );
}

#[tokio::test]
async fn the_permission_matrix_grows_with_the_role() {
    use Role::*;
    // Each role may do everything the role below it may (viewer < analyst < moderator < admin < owner).
    let order = [Viewer, Analyst, Moderator, Admin, Owner];
    for w in order.windows(2) {
        for a in Action::ALL {
            if kith_web::auth::may(w[0], a) {
                assert!(
                    kith_web::auth::may(w[1], a),
                    "{} may {a:?} but {} may not",
                    w[0],
                    w[1]
                );
            }
        }
    }
    assert!(!kith_web::auth::may(Viewer, Action::Tokens));
    assert!(!kith_web::auth::may(Analyst, Action::Annotate));
    assert!(!kith_web::auth::may(Moderator, Action::Merge));
    assert!(kith_web::auth::may(Admin, Action::ManageUsers));
}

#[tokio::test]
async fn first_run_setup_creates_the_owner_then_closes() {
    let app = app(0, false);
    let (status, headers, _) = app.get("/", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/setup",
        "no account yet: set kith up first"
    );
    let (status, headers, body) = app.get("/setup", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Create the owner account"));
    let pre = headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = pre.split('=').nth(1).unwrap().to_owned();
    // Without the form token: refused.
    let (status, _, _) = app
        .post_form(
            "/setup",
            &pre,
            "name=ada&password=long+enough+pw&confirm=long+enough+pw",
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a setup form without its CSRF token is refused"
    );
    let (status, _, body) = app
        .post_form(
            "/setup",
            &pre,
            &format!("csrf={token}&name=ada&password=short&confirm=short"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("at least 10 characters"));
    let (status, headers, _) = app
        .post_form(
            "/setup",
            &pre,
            &format!("csrf={token}&name=ada&password=long+enough+pw&confirm=long+enough+pw"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        session.starts_with("kith_session=")
            && session.contains("HttpOnly")
            && session.contains("SameSite=Lax"),
        "{session}"
    );
    let users = app.state.store.users().unwrap();
    assert_eq!((users.len(), users[0].role), (1, Role::Owner));
    assert!(users[0].name == "ada");
    // Setup is closed once an owner exists.
    let (status, _, _) = app
        .post_form(
            "/setup",
            &pre,
            &format!("csrf={token}&name=eve&password=long+enough+pw&confirm=long+enough+pw"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, headers, _) = app.get("/setup", None).await;
    assert_eq!(headers[header::LOCATION], "/login");
}

#[tokio::test]
async fn login_with_argon2_and_rate_limiting_after_five_failures() {
    let app = app(0, false);
    let hash = kith_web::auth::hash_password("the right password").unwrap();
    app.state
        .store
        .create_user("ada", &hash, Role::Analyst)
        .unwrap();
    let (_, headers, _) = app.get("/login", None).await;
    let pre = headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = pre.split('=').nth(1).unwrap().to_owned();
    let (status, headers, _) = app
        .post_form(
            "/login",
            &pre,
            &format!("csrf={token}&name=ada&password=the+right+password&next=%2Fmembers"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/members",
        "back where the person was going"
    );
    let (status, headers, _) = app
        .post_form(
            "/login",
            &pre,
            &format!("csrf={token}&name=ada&password=x&next=https%3A%2F%2Fevil.example"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        headers
            .get(header::SET_COOKIE)
            .is_none_or(|c| !c.to_str().unwrap().starts_with("kith_session"))
    );
    for _ in 0..4 {
        let (status, _, _) = app
            .post_form(
                "/login",
                &pre,
                &format!("csrf={token}&name=ada&password=wrong"),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Five failures: even the right password waits now.
    let (status, headers, body) = app
        .post_form(
            "/login",
            &pre,
            &format!("csrf={token}&name=ada&password=the+right+password"),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn forms_without_the_session_token_or_from_another_site_are_refused() {
    let app = app(1_000, false);
    let (cookie, csrf) = app.session(Role::Owner);
    let member = member_ids(&app.state, 1)[0];
    let path = format!("/members/{member}/tags");
    let (status, _, _) = app.post_form(&path, &cookie, "tag=speaker").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no token");
    let (status, _, _) = app
        .post_form(
            &path,
            &cookie,
            &format!("tag=speaker&csrf={}", "0".repeat(64)),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another session's token");
    let req = Request::post(&path)
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "https://evil.example")
        .header(header::HOST, "kith.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("tag=speaker&csrf={csrf}")))
        .unwrap();
    assert_eq!(
        app.send(req).await.0,
        StatusCode::FORBIDDEN,
        "a foreign origin"
    );
    assert!(
        app.state
            .store
            .tags(kith_store::MemberId(member))
            .unwrap()
            .is_empty(),
        "nothing was tagged"
    );
    let (status, _, _) = app
        .post_form(&path, &cookie, &format!("tag=speaker&csrf={csrf}"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.state.store.tags(kith_store::MemberId(member)).unwrap(),
        ["speaker"]
    );
}

#[tokio::test]
async fn the_demo_logs_visitors_in_as_the_demo_account_and_says_so() {
    let app = app(1_000, true);
    let (status, headers, body) = app.get("/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("DEMO"), "the demo is marked loudly");
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("kith_session=")
    );
    let demo = app.state.store.user_credentials("demo").unwrap().unwrap().0;
    assert_eq!(demo.role, Role::Owner);
}

#[tokio::test]
async fn pages_render_the_generated_community() {
    let app = app(5_000, false);
    let (cookie, _) = app.session(Role::Viewer);
    for (path, expect) in [
        ("/", "Active members (28 days)"),
        ("/?period=week&team=1", "Active members per period"),
        ("/members", "members"),
        ("/members?q=a&sort=name", "Members"),
        ("/members/candidates", "Merge candidates"),
        ("/conversations", "Needs a reply"),
        ("/onboarding", "Activation"),
        ("/retention", "Cohort retention"),
        ("/network", "Network"),
        ("/sources", "Import audits"),
        ("/definitions", "active_members"),
        ("/account", "Your account"),
    ] {
        let (status, _, body) = app.get(path, Some(&cookie)).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{path}: {}",
            &body[..body.len().min(400)]
        );
        assert!(body.contains(expect), "{path} shows {expect:?}");
        assert!(
            !body.contains("http://") || path == "/definitions" || !body.contains("<script"),
            "{path}: no external asset"
        );
        assert!(!body.contains("<script"), "{path} needs no script");
    }
    // Generic metric tables show durations in a unit, not seconds (first response's median).
    let (_, _, conversations) = app.get("/conversations", Some(&cookie)).await;
    let segments = conversations
        .split("<caption>segments</caption>")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("the first-response table");
    assert!(
        segments.contains("<th scope=\"col\">median s</th>")
            && [" s</td>", " min</td>", " h</td>", " days</td>"]
                .iter()
                .any(|unit| segments.contains(unit)),
        "durations read as durations: {segments}"
    );
    // The overview's numbers come from the same computation as the API.
    let (_, _, overview) = app.get("/", Some(&cookie)).await;
    assert!(overview.contains("<svg"), "charts are inline SVG");
    assert!(
        overview.contains("has a text score yet"),
        "before the scoring pass, the sentiment section says why it is empty"
    );
    let (status, _, body) = app
        .get("/?from=2999-01-01&to=2998-01-01", Some(&cookie))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn members_filter_and_a_merge_can_be_undone() {
    let app = app(3_000, false);
    let (cookie, csrf) = app.session(Role::Admin);
    let ids = member_ids(&app.state, 2);
    let (a, b) = (ids[0], ids[1]);
    app.state
        .store
        .add_tag(kith_store::MemberId(b), "champion")
        .unwrap();
    let (_, _, body) = app.get("/members?tag=champion&team=1", Some(&cookie)).await;
    assert!(
        body.contains(&format!("href=\"/members/{b}\"")),
        "the tagged member is listed"
    );
    assert!(
        !body.contains(&format!("href=\"/members/{a}\"")),
        "the untagged one is not"
    );
    let (status, headers, _) = app
        .post_form(
            "/members/merge",
            &cookie,
            &format!("csrf={csrf}&into={a}&from={b}&reason=same+person"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], format!("/members/{a}").as_str());
    let merged = app.state.store.member(kith_store::MemberId(b)).unwrap();
    assert_eq!(merged.member.merged_into, Some(kith_store::MemberId(a)));
    let (_, _, profile) = app.get(&format!("/members/{a}"), Some(&cookie)).await;
    assert!(
        profile.contains("same person") && profile.contains("Unmerge"),
        "the merge is logged on the profile"
    );
    let merge = app.state.store.merges().unwrap().last().unwrap().id;
    let (status, _, _) = app
        .post_form(
            &format!("/members/unmerge/{merge}"),
            &cookie,
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.state
            .store
            .member(kith_store::MemberId(b))
            .unwrap()
            .member
            .merged_into,
        None
    );
}

#[tokio::test]
async fn an_upload_imports_the_file_and_the_progress_page_shows_the_audit() {
    let app = app(0, false);
    let (cookie, csrf) = app.session(Role::Admin);
    let jsonl = "{\"v\":1,\"source\":\"forum\",\"id\":\"1\",\"kind\":\"post\",\"ts\":\"2024-05-01T10:00:00Z\",\"author\":{\"id\":\"u1\",\"name\":\"Ada\"},\"thread\":\"t1\",\"text\":\"How do I start?\"}\n\
                 {\"v\":1,\"source\":\"forum\",\"id\":\"2\",\"kind\":\"reply\",\"ts\":\"2024-05-01T11:00:00Z\",\"author\":{\"id\":\"u2\",\"name\":\"Bo\"},\"thread\":\"t1\",\"reply_to\":\"1\",\"text\":\"Like this.\"}\n";
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\njsonl\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../export.jsonl\"\r\nContent-Type: application/octet-stream\r\n\r\n{jsonl}\r\n--{boundary}--\r\n"
    );
    let req = Request::post(format!("/sources/upload?csrf={csrf}"))
        .header(header::COOKIE, &cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let (status, headers, text) = app.send(req).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{text}");
    let job = headers[header::LOCATION].to_str().unwrap().to_owned();
    let mut page = String::new();
    for _ in 0..100 {
        let (status, headers, body) = app.get(&job, Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK);
        page = body;
        if !headers.contains_key("refresh") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(page.contains("Imported: 2 new activities"), "{page}");
    assert_eq!(app.state.store.counts().unwrap().activities, 2);
    // The pages see the new data without a restart.
    let (_, _, overview) = app.get("/", Some(&cookie)).await;
    assert!(!overview.contains("No data yet"));
}

/// An admin account `bot-admin` with an API token `kith_SCOPE` of each scope.
fn api_tokens(app: &App, scopes: &[&str]) {
    let admin = app
        .state
        .store
        .create_user("bot-admin", "x", Role::Admin)
        .unwrap();
    for scope in scopes {
        app.state
            .store
            .create_token(
                admin.id,
                scope,
                &secret_hash(&format!("kith_{scope}")),
                &[(*scope).into()],
            )
            .unwrap();
    }
}

/// `POST /api/v1/activities` of JSON lines with bearer `token`.
fn ingest_request(token: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post("/api/v1/activities")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn the_ingest_api_is_idempotent_and_needs_the_ingest_scope() {
    let app = app(0, false);
    api_tokens(&app, &["ingest", "read"]);
    let batch = "{\"v\":1,\"source\":\"chat\",\"id\":\"m1\",\"kind\":\"post\",\"ts\":\"2024-05-01T10:00:00Z\",\"author\":{\"id\":\"u1\"},\"thread\":\"m1\"}\n{\"v\":1,\"source\":\"chat\",\"id\":\"m2\",\"kind\":\"nonsense\",\"ts\":\"2024-05-01T10:00:00Z\"}\n";
    let send = |token: &str, body: &'static str| ingest_request(token, body);
    let (status, _, body) = app.send(send("kith_read", batch)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a read token cannot ingest: {body}"
    );
    let (status, _, body) = app.send(send("kith_ingest", batch)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            v["imported"].as_u64(),
            v["problems"].as_array().map(Vec::len)
        ),
        (Some(1), Some(1)),
        "{v}"
    );
    let (_, _, body) = app.send(send("kith_ingest", batch)).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["imported"].as_u64(),
        Some(0),
        "the same batch again stores nothing: {v}"
    );
    assert_eq!(app.state.store.counts().unwrap().activities, 1);
    let (status, _, body) = app.send(send("kith_ingest", "{not json\n")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, body) = app.send(send("nope", batch)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // A read token reads.
    let req = Request::get("/api/v1/metrics/active_members")
        .header(header::AUTHORIZATION, "Bearer kith_read")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = app.send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"metric\":\"active_members\""));
}

#[tokio::test]
async fn live_events_of_known_members_skip_identity_resolution() {
    let app = app(0, false);
    api_tokens(&app, &["ingest"]);
    let post = |body: String| ingest_request("kith_ingest", body);
    let event = |source: &str, id: &str, author: &str| {
        format!(
            "{{\"v\":1,\"source\":\"{source}\",\"id\":\"{id}\",\"kind\":\"post\",\"ts\":\"2024-05-01T10:00:00Z\",\"author\":{author},\"thread\":\"{id}\",\"text\":\"hello\"}}\n"
        )
    };
    let ada = r#"{"id":"u1","name":"Ada Lovelace","email":"ada@example.org"}"#;
    let runs = |app: &App| {
        let r = &app.state.resolver;
        (
            r.runs.load(std::sync::atomic::Ordering::Relaxed),
            r.skipped.load(std::sync::atomic::Ordering::Relaxed),
        )
    };
    // A new member: resolved (the server's first ingest resolves in any case).
    let (status, _, body) = app.send(post(event("chat", "m1", ada))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(runs(&app), (1, 0));
    // More events by the same member, with the same details: no identity changed, no run.
    for id in ["m2", "m3"] {
        let (status, _, body) = app.send(post(event("chat", id, ada))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(runs(&app), (1, 2), "known members' events resolve nothing");
    // A changed detail of a known identity is a change: resolved.
    let renamed = r#"{"id":"u1","name":"Ada King","email":"ada@example.org"}"#;
    app.send(post(event("chat", "m4", renamed))).await;
    assert_eq!(runs(&app), (2, 2), "a renamed identity is resolved again");
    // The same person on another platform, by e-mail: resolved and merged at once.
    let other = r#"{"id":"gh-7","name":"Ada King","email":"ADA@example.org"}"#;
    let (status, _, body) = app.send(post(event("forum", "f1", other))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(runs(&app).0, 3);
    let members: Vec<_> = app
        .state
        .store
        .members(None, 10)
        .unwrap()
        .into_iter()
        .filter(|m| m.merged_into.is_none())
        .collect();
    assert_eq!(members.len(), 1, "one person, merged: {members:?}");
    let (_, _, metrics) = app.get("/metrics", None).await;
    assert!(
        metrics.contains("kith_identity_resolutions_total 3")
            && metrics.contains("kith_identity_resolutions_skipped_total 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn openapi_describes_exactly_the_api_routes() {
    let spec = kith_web::openapi::spec();
    let paths = spec["paths"].as_object().unwrap();
    let mut described: Vec<String> = paths
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {p}", m.to_uppercase()))
        })
        .collect();
    let mut routed: Vec<String> = kith_web::routes::routes()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v1/") && r.path != "/api/v1/openapi.json")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    described.sort();
    routed.sort();
    assert_eq!(described, routed);
}

#[tokio::test]
async fn health_and_prometheus_metrics() {
    let app = app(1_000, false);
    let (status, _, body) = app.get("/healthz", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    let (cookie, _) = app.session(Role::Viewer);
    app.get("/", Some(&cookie)).await;
    let (status, headers, body) = app.get("/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert!(
        body.contains("kith_http_requests_total{route=\"/\",method=\"GET\",status=\"2xx\"} 1"),
        "{body}"
    );
    assert!(body.contains(
        "kith_http_request_duration_seconds_bucket{route=\"/\",method=\"GET\",le=\"+Inf\"} 1"
    ));
    assert!(body.contains("kith_snapshot_activities "));
}

#[tokio::test]
async fn results_are_computed_once_per_selection_and_database_state() {
    use std::sync::atomic::Ordering;
    let app = app(2_000, false);
    let a = &app.state.analytics;
    let q = kith_web::analytics::PeriodQuery::default();
    let first = a.computed(&q, chrono_tz::UTC).unwrap();
    let again = a.computed(&q, chrono_tz::UTC).unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "the same selection at the same state is computed once"
    );
    assert_eq!(a.stats.computations.load(Ordering::Relaxed), 1);
    let weekly = kith_web::analytics::PeriodQuery {
        period: Some("week".into()),
        ..Default::default()
    };
    a.computed(&weekly, chrono_tz::UTC).unwrap();
    assert_eq!(
        a.stats.computations.load(Ordering::Relaxed),
        2,
        "another selection is computed"
    );
    assert!(
        !a.refresh().unwrap(),
        "nothing changed: the refresh reads nothing"
    );
    // A new activity moves the watermark: the cached result is stale and is computed again.
    let mut late = kith_model::Activity::new(
        "late",
        "1",
        kith_model::Kind::Post,
        kith_model::Timestamp::from_secs(first.as_of + 3_600),
        Some(kith_model::Author::new("newcomer")),
    );
    late.thread = Some("t".into());
    kith_import::ingest_records(
        app.state.store.as_ref(),
        "jsonl",
        vec![],
        &Default::default(),
        &(),
        (1, None),
        |sink| {
            sink.activity(late);
            Ok(())
        },
    )
    .unwrap();
    assert!(a.refresh().unwrap(), "the refresh sees the import");
    let after = a.computed(&q, chrono_tz::UTC).unwrap();
    assert_eq!(
        after.as_of,
        first.as_of + 3_600,
        "the default as-of moves to the new latest activity"
    );
    assert_eq!(a.stats.computations.load(Ordering::Relaxed), 3);
}

/// Stores canonical activities given as JSON lines.
fn ingest_lines(store: &dyn Store, lines: &[&str]) {
    let acts: Vec<kith_model::Activity> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| kith_model::jsonl::parse_line(l, i as u64 + 1).unwrap())
        .collect();
    kith_import::ingest_records(
        store,
        "jsonl",
        vec!["test".into()],
        &Default::default(),
        &(),
        (acts.len() as u64, None),
        |sink| {
            for a in acts {
                sink.activity(a);
            }
            Ok(())
        },
    )
    .unwrap();
}

/// The store id of the activity with platform id `ext`.
fn activity_id(store: &dyn Store, ext: &str) -> i64 {
    let mut found = None;
    store
        .export_activities(&mut |e| {
            if e.activity.id == ext {
                found = Some(e.id.0);
            }
            Ok(())
        })
        .unwrap();
    found.unwrap()
}

// The issue's acceptance: scores are "shown in member timelines and thread views with their
// explanation". A hand-written thread: ann asks, bob answers warmly, ann thanks him (a
// resolution), dan insults bob (hostile); the scoring pass stores their scores as
// `kith import` does after its commit. A message stored later is pending until the next pass.
#[tokio::test]
async fn message_scores_show_with_their_evidence_in_timelines_threads_and_the_api() {
    let app = app(2_000, false);
    let store = app.state.store.clone();
    let line = |id: &str, kind: &str, who: &str, ts: &str, reply: &str, text: &str| {
        format!(
            "{{\"v\":1,\"source\":\"forum\",\"id\":\"{id}\",\"kind\":\"{kind}\",\"ts\":\"{ts}\",\"author\":{{\"id\":\"{who}\",\"name\":\"{who}\"}},\"thread\":\"q1\"{reply},\"text\":\"{text}\"}}"
        )
    };
    let lines = [
        line(
            "q1",
            "post",
            "ann",
            "2020-01-06T10:00:00Z",
            // Labels on the platform: the thread's topics.
            ",\"attrs\":{\"tags\":[\"proxy\",\"setup\"]}",
            "How do I configure the proxy? It keeps failing with a timeout.",
        ),
        line(
            "r1",
            "reply",
            "bob",
            "2020-01-06T10:20:00Z",
            ",\"reply_to\":\"q1\"",
            "Set proxy = true in kith.toml, that works great for me.",
        ),
        line(
            "r2",
            "reply",
            "ann",
            "2020-01-06T10:40:00Z",
            ",\"reply_to\":\"r1\"",
            "Thanks, that worked! You saved my day.",
        ),
        line(
            "r3",
            "reply",
            "dan",
            "2020-01-06T11:00:00Z",
            ",\"reply_to\":\"r1\"",
            "You are an idiot, nobody wants you here.",
        ),
    ];
    ingest_lines(
        store.as_ref(),
        &lines.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let pass = kith_scoring::run(store.as_ref(), &kith_scoring::Pass::stale(), &()).unwrap();
    assert!(pass.scored >= 4, "{pass:?}");
    let late = line(
        "r4",
        "reply",
        "eve",
        "2020-01-06T12:00:00Z",
        ",\"reply_to\":\"q1\"",
        "Same problem here.",
    );
    ingest_lines(store.as_ref(), &[late.as_str()]);
    app.state.analytics.refresh().unwrap();
    let (cookie, _) = app.session(Role::Viewer);

    let ids: Vec<i64> = ["q1", "r2", "r3", "r4"]
        .iter()
        .map(|e| activity_id(store.as_ref(), e))
        .collect();
    let thread = app
        .state
        .analytics
        .with_snapshot(|s| s.thread_of_activity(ids[0]))
        .unwrap();
    let (status, _, page) = app
        .get(&format!("/conversations/threads/{thread}"), Some(&cookie))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for expect in [
        "Conversation quality",
        "reciprocity",
        ">question<",
        ">thanks<",
        "badge hostile",
        "(insult)",
        "<summary>why</summary>",
        "Not scored yet",
    ] {
        assert!(page.contains(expect), "the thread page shows {expect:?}");
    }
    // ann's timeline: her question and her thanks, each with its evidence.
    let ann = app
        .state
        .analytics
        .with_snapshot(|s| {
            let slot = s.slot_of(ids[1])?;
            s.member_store_id(s.member_of(slot as usize))
        })
        .unwrap();
    let (status, _, page) = app.get(&format!("/members/{ann}"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(">thanks<") && page.contains(">question<"),
        "ann's timeline"
    );
    assert!(
        page.contains("<q>worked</q>")
            || page.contains("<q>saved</q>")
            || page.contains("<q>thanks</q>"),
        "sentiment words shown"
    );

    // The API: the same record, with the stored numbers and the explanation.
    let get = |id: i64| {
        Request::get(format!("/api/v1/activities/{id}/scores"))
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, body) = app.send(get(ids[1])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "scored", "{v}");
    assert_eq!(v["activity"], ids[1]);
    assert!(
        v["intents"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("thanks")),
        "{v}"
    );
    assert_eq!(v["current"], true);
    assert!(v["score"]["sentiment"].as_i64().unwrap() > 500, "{v}");
    assert!(
        !v["explanation"]["sentiment_words"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{v}"
    );
    let (_, _, body) = app.send(get(ids[2])).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["score"]["hostile"], true, "{v}");
    let kinds: Vec<&str> = v["explanation"]["hostility"]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"insult"), "{v}");
    let (_, _, body) = app.send(get(ids[3])).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "pending", "stored after the pass: {v}");
    let (status, _, _) = app.send(get(i64::MAX)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The overview's sentiment cards replace the placeholder.
    let (_, _, page) = app
        .get(
            "/?from=2020-01-01&to=2020-01-31&as_of=2020-01-31",
            Some(&cookie),
        )
        .await;
    assert!(
        page.contains("Positive messages") && page.contains("Hostile messages"),
        "overview sentiment"
    );
    assert!(!page.contains("Not measured yet"));
    // By topic: the thread's labels, each with the thread's messages.
    assert!(page.contains("By topic"), "overview sentiment by topic");
    assert!(
        page.contains("<td>proxy</td>") && page.contains("<td>setup</td>"),
        "both topics listed"
    );
}
