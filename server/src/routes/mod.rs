//! The API's routes, one module per resource.

pub mod batch;
pub mod cors;
pub mod dev;
pub mod events;
pub mod files;
pub mod health;
pub mod uploads;
pub mod usage;

use crate::error::{api_method_not_allowed, api_not_found};
use crate::AppState;
use axum::Router;

/// Everything under `/api` (to be nested there). Unknown paths and methods answer in
/// the API's JSON error shape; the dev routes exist only in dev mode.
pub fn api(dev: bool) -> Router<AppState> {
    // Built once: it depends only on the mode.
    let doc = std::sync::Arc::new(crate::openapi::document(dev));
    let mut api = Router::new()
        .route(
            "/openapi.json",
            axum::routing::get(move || async move { axum::Json(doc.as_ref().clone()) }),
        )
        .merge(uploads::router())
        .merge(batch::router())
        .merge(events::router())
        .merge(files::router())
        .merge(usage::router());
    if dev {
        api = api.merge(dev::router());
    }
    api.fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
}
