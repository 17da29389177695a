//! Partway's companion server: decides who may upload what, signs part URLs, and
//! records what storage holds. File bytes go to storage, not through the API.
//!
//! [`app`] builds the whole HTTP service from an [`AppState`], so tests drive it with
//! `app(state).oneshot(request)` and no socket; [`run`] is what the binary does.

pub mod auth;
pub mod complete;
pub mod config;
pub mod db;
pub mod error;
pub mod jobs;
pub mod json;
pub mod jwks;
pub mod lingering;
pub mod metrics;
pub mod openapi;
pub mod path;
pub mod policy;
pub mod quota;
pub mod rate_limit;
pub mod routes;
pub mod secret;
mod state;
pub mod stats;
pub mod storage;
pub mod sweep;

use state::io_context;
pub use state::{build_state, AppState, SetupError};

use crate::config::{Config, StorageKind};
use crate::storage::s3::S3Storage;
use axum::extract::Request;
use axum::serve::ListenerExt;
use axum::Router;
use std::time::{SystemTime, UNIX_EPOCH};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The whole HTTP service: `/api`, `/healthz`, the storage backend's own routes, and
/// the static directory if one is configured.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .merge(routes::health::router())
        .route("/metrics", axum::routing::get(metrics::serve))
        .nest(
            "/api",
            routes::api(state.config.dev)
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    rate_limit::by_address,
                ))
                // Outermost, so that refusals carry CORS headers the page can read.
                .layer(routes::cors::api_cors(&state.config.cors_origins)),
        )
        .with_state(state.clone());
    if let Some(storage_routes) = state.storage.router() {
        router = router.merge(storage_routes);
    }
    if let Some(dir) = &state.config.static_dir {
        let index = ServeFile::new(dir.join("index.html"));
        router = router.fallback_service(ServeDir::new(dir).fallback(index));
    }
    router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                // The path only: a signed URL's query string is a credential.
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        id = %id,
                        method = %req.method(),
                        path = %req.uri().path()
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        // Outermost: every log line and answer of a request carries its id.
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Runs the server until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn run(mut config: Config) -> Result<(), SetupError> {
    config.check().map_err(SetupError::Config)?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(io_context(format!("listening on {}", config.bind)))?;
    let addr = listener
        .local_addr()
        .map_err(io_context("reading the bound address"))?;
    // With port 0 the real port is known only now, and signed URLs must carry it.
    if config.public_url.is_none() {
        config.public_url = Some(format!("http://{addr}"));
    }
    let state = build_state(&config).await?;
    if config.storage == StorageKind::S3 {
        warn_if_cors_blocks(&config).await;
    }
    if config.sweep_interval > 0 {
        tokio::spawn(sweep::run(state.clone()));
    }
    state.db.spawn_listener(&config.database_url());
    for _ in 0..config.job_workers {
        tokio::spawn(jobs::run(state.clone()));
    }
    let closing = state.closing_sender();
    println!("partway-server listening on http://{addr}");
    // The peer's address, for the per-address rate limit.
    let service = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Without TCP_NODELAY, an answer written in two pieces can wait for the client's
    // delayed ACK (up to 40 ms). Not measured to matter on loopback; it costs nothing.
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY not set: {e}");
        }
    });
    axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Event streams never end by themselves: they are told to.
            let _ = closing.send(true);
        })
        .await
        .map_err(io_context("serving"))
}

/// Checks, as a browser on each allowed origin would, that the bucket lets it PUT
/// parts; says loudly what to run when it does not. Serving goes on either way.
async fn warn_if_cors_blocks(config: &Config) {
    let Ok(s3) = S3Storage::new(&config.s3) else {
        return;
    };
    if config.cors_origins.iter().any(|o| o == "*") {
        // Which pages will embed the widget is unknown; the bucket's rules name them.
        tracing::info!(
            "--cors-origins is *: the bucket's CORS rules decide which pages may upload; \
             list your pages' origins in --cors-origins to have them checked at start-up"
        );
        return;
    }
    for origin in &config.cors_origins {
        if let Err(why) = s3.check_cors(origin).await {
            tracing::warn!("browsers will be blocked: {why}");
        }
    }
}

/// Runs a one-off administration command (`partway-server storage ...`, `quota ...`).
pub async fn run_command(config: &Config, command: &config::Command) -> Result<String, String> {
    match command {
        config::Command::Quota { action } => {
            let db = db::Db::connect(&config.database_url())
                .await
                .map_err(|e| format!("database: {e}"))?;
            let user = match action {
                config::QuotaAction::Set { user, bytes, files } => {
                    let limits = db::UserLimits {
                        max_bytes: *bytes,
                        max_files: *files,
                    };
                    db.set_limits(user, &limits)
                        .await
                        .map_err(|e| e.to_string())?;
                    user
                }
                config::QuotaAction::Show { user } => user,
            };
            let (held, own) = db.usage(user).await.map_err(|e| e.to_string())?;
            let usage = quota::Limits::of(&own, config).usage(&held);
            serde_json::to_string_pretty(&usage).map_err(|e| e.to_string())
        }
        config::Command::Storage {
            action: config::StorageAction::SetupCors { origins },
        } => {
            if config.storage != StorageKind::S3 {
                return Err(
                    "setup-cors applies to S3 storage: pass --storage s3 and its settings".into(),
                );
            }
            let s3 = S3Storage::new(&config.s3).map_err(|e| e.to_string())?;
            s3.put_bucket_cors(origins)
                .await
                .map_err(|e| e.to_string())?;
            for origin in origins {
                s3.check_cors(origin).await?;
            }
            Ok(format!(
                "CORS set: {} may PUT parts and read ETags",
                origins.join(", ")
            ))
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (what service managers send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Seconds since the Unix epoch, as SQL stores them.
pub fn unix_now_i64() -> i64 {
    i64::try_from(unix_now()).unwrap_or(i64::MAX)
}
