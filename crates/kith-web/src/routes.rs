//! Every route of the app, with the action it needs. The router is built from this table and
//! the authorisation test walks it with every role, so a route cannot be added without its
//! permission being declared and tested.

use axum::Router;
use axum::http::Method;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, get, post};

use crate::auth::{Action, authenticate, authorize, check_csrf};
use crate::pages::{account, conversations, insights, members, overview, sources};
use crate::{AppState, api, openapi, prom};

/// One route.
pub struct Route {
    pub method: Method,
    /// The axum path pattern.
    pub path: &'static str,
    pub action: Action,
    pub handler: MethodRouter<AppState>,
}

fn r(method: Method, path: &'static str, action: Action, handler: MethodRouter<AppState>) -> Route {
    Route {
        method,
        path,
        action,
        handler,
    }
}

/// The route table.
pub fn routes() -> Vec<Route> {
    use Action::*;
    let (g, p) = (Method::GET, Method::POST);
    vec![
        // Public: logging in, first-run setup, health, styles, the API description.
        r(g.clone(), "/login", Public, get(account::login_form)),
        r(p.clone(), "/login", Public, post(account::login)),
        r(g.clone(), "/setup", Public, get(account::setup_form)),
        r(p.clone(), "/setup", Public, post(account::setup)),
        r(g.clone(), "/healthz", Public, get(api::healthz)),
        r(g.clone(), "/metrics", Public, get(prom::metrics)),
        r(
            g.clone(),
            "/static/kith.css",
            Public,
            get(account::stylesheet),
        ),
        r(
            g.clone(),
            "/api/v1/openapi.json",
            Public,
            get(openapi::document),
        ),
        // Pages every account may read.
        r(p.clone(), "/logout", View, post(account::logout)),
        r(g.clone(), "/", View, get(overview::overview)),
        r(g.clone(), "/definitions", View, get(overview::definitions)),
        r(g.clone(), "/members", View, get(members::list)),
        r(
            g.clone(),
            "/members/candidates",
            View,
            get(members::candidates),
        ),
        r(g.clone(), "/members/{id}", View, get(members::profile)),
        r(g.clone(), "/conversations", View, get(conversations::queue)),
        r(
            g.clone(),
            "/conversations/threads/{id}",
            View,
            get(conversations::thread),
        ),
        r(g.clone(), "/onboarding", View, get(insights::onboarding)),
        r(g.clone(), "/retention", View, get(insights::retention)),
        r(g.clone(), "/network", View, get(insights::network)),
        r(g.clone(), "/sources", View, get(sources::list)),
        r(g.clone(), "/sources/imports/{id}", View, get(sources::job)),
        r(g.clone(), "/account", View, get(account::account)),
        r(
            p.clone(),
            "/account/password",
            View,
            post(account::change_password),
        ),
        // API tokens of one's own.
        r(
            p.clone(),
            "/account/tokens",
            Tokens,
            post(account::create_token),
        ),
        r(
            p.clone(),
            "/account/tokens/{id}/revoke",
            Tokens,
            post(account::revoke_token),
        ),
        // Segments.
        r(
            p.clone(),
            "/members/segments",
            Segments,
            post(members::save_segment),
        ),
        r(
            p.clone(),
            "/members/segments/{id}/delete",
            Segments,
            post(members::delete_segment),
        ),
        // Notes, tags and tasks.
        r(
            p.clone(),
            "/members/{id}/notes",
            Annotate,
            post(members::add_note),
        ),
        r(
            p.clone(),
            "/members/{id}/tags",
            Annotate,
            post(members::add_tag),
        ),
        r(
            p.clone(),
            "/members/{id}/tags/remove",
            Annotate,
            post(members::remove_tag),
        ),
        r(
            p.clone(),
            "/members/{id}/tasks",
            Annotate,
            post(members::add_task),
        ),
        r(
            p.clone(),
            "/tasks/{id}/done",
            Annotate,
            post(members::task_done),
        ),
        // Merging.
        r(p.clone(), "/members/merge", Merge, post(members::merge)),
        r(
            p.clone(),
            "/members/unmerge/{merge}",
            Merge,
            post(members::unmerge),
        ),
        // Importing.
        r(p.clone(), "/sources/upload", Import, post(sources::upload)),
        r(
            p.clone(),
            "/sources/base-url",
            Import,
            post(sources::set_base_url),
        ),
        // Accounts.
        r(g.clone(), "/admin/users", ManageUsers, get(account::users)),
        r(
            p.clone(),
            "/admin/users",
            ManageUsers,
            post(account::create_user),
        ),
        r(
            p.clone(),
            "/admin/users/{id}",
            ManageUsers,
            post(account::update_user),
        ),
        // The JSON API.
        r(g.clone(), "/api/v1/summary", View, get(api::summary)),
        r(g.clone(), "/api/v1/metrics", View, get(api::metrics)),
        r(g.clone(), "/api/v1/metrics/{name}", View, get(api::metric)),
        r(g.clone(), "/api/v1/members", View, get(api::members)),
        r(g.clone(), "/api/v1/members/{id}", View, get(api::member)),
        r(
            g.clone(),
            "/api/v1/needs-reply",
            View,
            get(api::needs_reply),
        ),
        r(g.clone(), "/api/v1/sources", View, get(api::sources)),
        r(
            g.clone(),
            "/api/v1/activities/{id}/scores",
            View,
            get(api::activity_scores),
        ),
        r(p.clone(), "/api/v1/members/merge", Merge, post(api::merge)),
        r(
            p.clone(),
            "/api/v1/members/{id}/tags",
            Annotate,
            post(api::add_tag),
        ),
        r(p, "/api/v1/activities", Import, post(api::ingest)),
    ]
}

/// The router: each route behind its authorisation, all behind authentication, CSRF checks and
/// request metrics.
pub fn router(state: AppState) -> Router {
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for route in routes() {
        let guarded = route
            .handler
            .route_layer(from_fn_with_state((state.clone(), route.action), authorize));
        match by_path.iter_mut().find(|(p, _)| *p == route.path) {
            Some((_, existing)) => {
                let merged = std::mem::take(existing).merge(guarded);
                *existing = merged;
            }
            None => by_path.push((route.path, guarded)),
        }
    }
    let mut router = Router::new();
    for (path, handler) in by_path {
        router = router.route(path, handler);
    }
    let limit = state.config.upload_limit;
    router
        .layer(from_fn(check_csrf))
        .layer(from_fn_with_state(state.clone(), authenticate))
        .layer(from_fn_with_state(state.clone(), prom::measure))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}
