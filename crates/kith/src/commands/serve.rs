//! `kith serve`: the web app and API.

use std::net::SocketAddr;
use std::sync::Arc;

use kith_store::Store;
use kith_web::{AppState, WebConfig};

use super::Context;
use crate::cli::ServeArgs;
use crate::failure::Failure;

pub fn serve(cx: &Context, args: &ServeArgs) -> Result<(), Failure> {
    let bind = cx.settings.bind(args.bind)?;
    let store: Arc<dyn Store> = Arc::from(cx.open()?);
    serve_store(cx, store, bind, false)
}

/// Serves `store` on `bind` until Ctrl-C, printing the URL first. The analytics snapshot is
/// built before the server listens.
pub fn serve_store(
    cx: &Context,
    store: Arc<dyn Store>,
    bind: SocketAddr,
    demo: bool,
) -> Result<(), Failure> {
    let config = WebConfig {
        merge_threshold: cx.settings.merge_threshold(None)?,
        secure_cookies: std::env::var("KITH_SECURE_COOKIES").is_ok_and(|v| v == "1" || v == "true"),
        ..WebConfig::default()
    };
    // New and edited messages (imports through the web app or the API, or by another
    // process) are scored in the background; stopped when serving ends.
    let _scorer = super::score::BackgroundScorer::start(Arc::clone(&store));
    cx.out.note("building the analytics snapshot");
    let state = AppState::new(store, demo, config).map_err(|e| match e {
        kith_web::WebError::Unavailable(m) => Failure::Unavailable(m),
        other => Failure::Other(anyhow::anyhow!("{other}")),
    })?;
    // The build's read buffers and working maps are freed: hand them back now, not at the
    // allocator's next purge, which an idle server may not reach for a long time.
    crate::hand_back_freed_memory();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = kith_web::bind(bind)
            .await
            .map_err(|e| Failure::Usage(e.to_string()))?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}/");
        cx.out.result(&serde_json::json!({ "url": url, "demo": demo }), || {
            if demo {
                format!("kith is serving the DEMO community at {url} (you are logged in automatically; Ctrl-C to stop)")
            } else {
                format!("kith is serving {url} (Ctrl-C to stop)")
            }
        });
        kith_web::serve(state, listener).await?;
        Ok(())
    })
}
