//! `kith serve`: the web app and API.

use std::net::SocketAddr;
use std::sync::Arc;

use kith_store::Store;
use kith_web::AppState;

use super::Context;
use crate::cli::ServeArgs;
use crate::failure::Failure;

pub fn serve(cx: &Context, args: &ServeArgs) -> Result<(), Failure> {
    let bind = cx.settings.bind(args.bind)?;
    let store: Arc<dyn Store> = Arc::from(cx.open()?);
    serve_store(cx, store, bind, false)
}

/// Serves `store` on `bind` until Ctrl-C, printing the URL first.
pub fn serve_store(
    cx: &Context,
    store: Arc<dyn Store>,
    bind: SocketAddr,
    demo: bool,
) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = kith_web::bind(bind)
            .await
            .map_err(|e| Failure::Usage(e.to_string()))?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}/");
        cx.out.result(&serde_json::json!({ "url": url }), || {
            format!("kith is serving {url} (Ctrl-C to stop)")
        });
        kith_web::serve(AppState { store, demo }, listener).await?;
        Ok(())
    })
}
