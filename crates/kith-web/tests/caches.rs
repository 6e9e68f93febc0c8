//! What the web app keeps in memory to answer fast never outlives what it was made from:
//! sessions and tokens end at once when this server ends them, the member list, the overview
//! and the API's answers follow new imports, and large tables are answered a window at a time.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use kith_store::{Role, Store};
use kith_web::auth::secret_hash;
use kith_web::{AppState, WebConfig};
use serde_json::Value;
use tower::ServiceExt;

struct App {
    _dir: tempfile::TempDir,
    state: AppState,
}

fn ingest(store: &dyn Store, activities: Vec<kith_model::Activity>) {
    let n = activities.len() as u64;
    kith_import::ingest_records(
        store,
        "jsonl",
        vec!["test".into()],
        &Default::default(),
        &(),
        (n, None),
        |sink| {
            for a in activities {
                sink.activity(a);
            }
            Ok(())
        },
    )
    .unwrap();
}

/// A generated community of `activities` activities.
fn app(activities: u64) -> App {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(kith_store_sqlite::SqliteStore::open(&dir.path().join("k.db")).unwrap());
    let generated: Vec<_> = kith_gen::generate(kith_gen::GenConfig::new(activities, 7))
        .unwrap()
        .collect();
    ingest(store.as_ref(), generated);
    let state = AppState::new(store, false, WebConfig::default()).unwrap();
    App { _dir: dir, state }
}

impl App {
    /// A session for a new account: (cookie header, csrf token, account).
    fn session(&self, role: Role) -> (String, String, kith_store::User) {
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
        (format!("kith_session={key}"), csrf, user)
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, String) {
        let res = kith_web::router(self.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn get(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        self.send(
            Request::get(path)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn json(&self, path: &str, cookie: &str) -> Value {
        let (status, body) = self.get(path, cookie).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn post_form(&self, path: &str, cookie: &str, form: &str) -> StatusCode {
        self.send(
            Request::post(path)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.to_owned()))
                .unwrap(),
        )
        .await
        .0
    }
}

/// A post by a member nobody has seen, an hour after everything else.
fn newcomer_post(after: i64) -> kith_model::Activity {
    let mut author = kith_model::Author::new("u-newcomer");
    author.name = Some("zz-newcomer".into());
    let mut a = kith_model::Activity::new(
        "late",
        "1",
        kith_model::Kind::Post,
        kith_model::Timestamp::from_secs(after + 3_600),
        Some(author),
    );
    a.thread = Some("t".into());
    a
}

#[tokio::test]
async fn logging_out_ends_the_session_at_once_though_sessions_are_kept_in_memory() {
    let app = app(1_000);
    let (cookie, csrf, _) = app.session(Role::Viewer);
    assert_eq!(app.get("/api/v1/summary", &cookie).await.0, StatusCode::OK);
    assert!(
        !app.state.credentials.is_empty(),
        "the session is kept in memory after its first use"
    );
    let status = app
        .post_form("/logout", &cookie, &format!("csrf={csrf}"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/summary", &cookie).await.0,
        StatusCode::UNAUTHORIZED,
        "the next request with the old cookie is anonymous"
    );
}

#[tokio::test]
async fn a_role_change_or_a_disabled_account_applies_to_the_accounts_next_request() {
    let app = app(1_000);
    let (admin, admin_csrf, _) = app.session(Role::Admin);
    let (cookie, _, user) = app.session(Role::Viewer);
    assert_eq!(
        app.get("/admin/users", &cookie).await.0,
        StatusCode::FORBIDDEN,
        "a viewer may not manage accounts"
    );
    let status = app
        .post_form(
            &format!("/admin/users/{}", user.id),
            &admin,
            &format!("csrf={admin_csrf}&role=admin"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/admin/users", &cookie).await.0,
        StatusCode::OK,
        "promoted: the cached viewer session is not used again"
    );
    let status = app
        .post_form(
            &format!("/admin/users/{}", user.id),
            &admin,
            &format!("csrf={admin_csrf}&role=admin&disabled=1"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/summary", &cookie).await.0,
        StatusCode::UNAUTHORIZED,
        "a disabled account's session stops working"
    );
}

#[tokio::test]
async fn a_password_change_logs_out_the_other_sessions_at_once() {
    let app = app(500);
    let hash = kith_web::auth::hash_password("the old password").unwrap();
    let user = app
        .state
        .store
        .create_user("ada", &hash, Role::Analyst)
        .unwrap();
    let mut cookies = Vec::new();
    for _ in 0..2 {
        let key = kith_web::auth::random_token();
        let csrf = kith_web::auth::random_token();
        app.state
            .store
            .create_session(&secret_hash(&key), user.id, &csrf, i64::MAX / 2)
            .unwrap();
        cookies.push((format!("kith_session={key}"), csrf));
    }
    for (c, _) in &cookies {
        assert_eq!(app.get("/api/v1/summary", c).await.0, StatusCode::OK);
    }
    let (here, csrf) = &cookies[0];
    let status = app
        .post_form(
            "/account/password",
            here,
            &format!("csrf={csrf}&current=the+old+password&password=a+new+long+password"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/summary", &cookies[1].0).await.0,
        StatusCode::UNAUTHORIZED,
        "the other browser is logged out"
    );
}

#[tokio::test]
async fn a_revoked_token_stops_working_at_once() {
    let app = app(500);
    let (admin, csrf, user) = app.session(Role::Admin);
    let token = app
        .state
        .store
        .create_token(user.id, "t", &secret_hash("kith_secret"), &["read".into()])
        .unwrap();
    let bearer = |path: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, "Bearer kith_secret")
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(app.send(bearer("/api/v1/summary")).await.0, StatusCode::OK);
    let status = app
        .post_form(
            &format!("/account/tokens/{}/revoke", token.id),
            &admin,
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.send(bearer("/api/v1/summary")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn member_pages_concatenate_to_the_whole_sorted_list_and_follow_new_imports() {
    let app = app(3_000);
    let (cookie, _, _) = app.session(Role::Viewer);
    let all = app
        .json("/api/v1/members?limit=1000&sort=recent", &cookie)
        .await;
    let total = all["total"].as_u64().unwrap() as usize;
    let everyone = all["members"].as_array().unwrap();
    assert_eq!(everyone.len(), total.min(1000));
    // The definition of "recent": latest participation first (members without one last),
    // ties by member id.
    let key = |m: &Value| {
        (
            std::cmp::Reverse(m["last_active"].as_i64()),
            m["id"].as_i64().unwrap(),
        )
    };
    assert!(
        everyone.windows(2).all(|w| key(&w[0]) < key(&w[1])),
        "sorted by last participation, then id"
    );
    // Pages of 7 are the same list, cut.
    let mut paged = Vec::new();
    for offset in (0..everyone.len()).step_by(7) {
        let page = app
            .json(
                &format!("/api/v1/members?limit=7&offset={offset}&sort=recent"),
                &cookie,
            )
            .await;
        paged.extend(page["members"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(&paged, everyone);
    // Search by name: the answer holds exactly the members whose name contains the text.
    let some = everyone[0]["name"].as_str().unwrap().to_lowercase();
    let needle: String = some.chars().take(3).collect();
    let found = app
        .json(
            &format!(
                "/api/v1/members?limit=1000&q={}",
                kith_web::ui::url_encode(&needle.to_ascii_uppercase())
            ),
            &cookie,
        )
        .await;
    let names: Vec<&str> = found["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.to_lowercase() == some));
    // A newcomer posts after everyone else: the next list has them first.
    let as_of = all["as_of"].as_i64().unwrap();
    ingest(app.state.store.as_ref(), vec![newcomer_post(as_of)]);
    assert!(app.state.analytics.refresh().unwrap());
    let after = app
        .json("/api/v1/members?limit=1&sort=recent", &cookie)
        .await;
    assert_eq!(after["total"].as_u64(), Some(total as u64 + 1));
    assert_eq!(after["members"][0]["name"], "zz-newcomer");
}

#[tokio::test]
async fn the_overview_and_the_metrics_answer_follow_new_imports() {
    let app = app(2_000);
    let (cookie, _, _) = app.session(Role::Viewer);
    let before = app.json("/api/v1/metrics", &cookie).await;
    let again = app.json("/api/v1/metrics", &cookie).await;
    assert_eq!(before, again, "the same answer while the data stays");
    let w1 = app.state.analytics.watermark();
    let (_, page) = app.get("/", &cookie).await;
    assert!(
        page.contains(&format!("at change {w1}.")),
        "rendered at {w1}"
    );
    let as_of = before["report"]["as_of"].as_i64().unwrap();
    ingest(app.state.store.as_ref(), vec![newcomer_post(as_of)]);
    assert!(app.state.analytics.refresh().unwrap());
    let w2 = app.state.analytics.watermark();
    assert!(w2 > w1);
    let (_, page) = app.get("/", &cookie).await;
    assert!(
        page.contains(&format!("at change {w2}.")),
        "the overview is rendered again from the new data"
    );
    let after = app.json("/api/v1/metrics", &cookie).await;
    assert_eq!(
        after["report"]["as_of"].as_i64(),
        Some(as_of + 3_600),
        "the API answers from the new data"
    );
}

#[tokio::test]
async fn api_tables_are_answered_a_window_of_rows_at_a_time_with_their_total() {
    let app = app(3_000);
    let (cookie, _, _) = app.session(Role::Viewer);
    let all = app.json("/api/v1/metrics?limit=all", &cookie).await;
    let two = app.json("/api/v1/metrics?limit=2&offset=1", &cookie).await;
    let mut checked = 0;
    for (m_all, m_two) in all["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .zip(two["metrics"].as_array().unwrap())
    {
        assert_eq!(m_all["metric"], m_two["metric"]);
        for (t_all, t_two) in m_all["tables"]
            .as_array()
            .unwrap()
            .iter()
            .zip(m_two["tables"].as_array().unwrap())
        {
            let rows = t_all["rows"].as_array().unwrap();
            assert_eq!(t_all["total_rows"].as_u64(), Some(rows.len() as u64));
            assert_eq!(t_two["total_rows"].as_u64(), Some(rows.len() as u64));
            // Rows 2 and 3 of the whole table (offset 1, limit 2), fewer when it is shorter.
            let window: Vec<Value> = rows.iter().skip(1).take(2).cloned().collect();
            assert_eq!(t_two["rows"].as_array().unwrap(), &window);
            checked += 1;
        }
    }
    assert!(checked > 20, "every table of every metric ({checked})");
    let one = app
        .json("/api/v1/metrics/active_members?limit=1", &cookie)
        .await;
    for t in one["metric"]["tables"].as_array().unwrap() {
        assert!(t["rows"].as_array().unwrap().len() <= 1);
    }
    let (status, body) = app.get("/api/v1/metrics?limit=0", &cookie).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn after_new_data_the_member_list_is_prepared_only_if_pages_use_it() {
    let app = app(1_000);
    let (cookie, _, _) = app.session(Role::Viewer);
    let a = &app.state.analytics;
    let as_of = app.json("/api/v1/metrics", &cookie).await["report"]["as_of"]
        .as_i64()
        .unwrap();
    let mut late = newcomer_post(as_of);
    ingest(app.state.store.as_ref(), vec![late.clone()]);
    assert!(a.refresh().unwrap());
    a.warm().unwrap();
    assert!(
        a.directory_cached().is_none(),
        "nobody asked for the member list: nothing is built"
    );
    assert_eq!(app.get("/members", &cookie).await.0, StatusCode::OK);
    late.id = "2".into();
    ingest(app.state.store.as_ref(), vec![late]);
    assert!(a.refresh().unwrap());
    assert!(a.directory_cached().is_none(), "the old list is stale");
    a.warm().unwrap();
    assert!(
        a.directory_cached().is_some(),
        "the list pages used is ready for the new data"
    );
}
