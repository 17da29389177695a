//! Prometheus metrics at `/metrics`: requests by route, method and status, their
//! latency, error answers by code (quota refusals and rate limits among them), parts
//! signed, and files and bytes completed.
//!
//! Every server state has a registry of its own (no global recorder), so tests that run
//! many servers in one process each read their own numbers.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use partway::core::wire::ErrorCode;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use std::time::Instant;

/// The server's counters and histograms.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    errors: IntCounterVec,
    /// Part URLs signed.
    pub parts_signed: IntCounter,
    /// Files completed.
    pub files_completed: IntCounter,
    /// Bytes of the files completed.
    pub bytes_completed: IntCounter,
    /// Event streams (`GET /api/events`) open now.
    pub event_streams: IntGauge,
    /// Jobs ended, by outcome: `done`, `quarantined`, `failed`, `retried`.
    pub jobs: IntCounterVec,
    /// Jobs waiting or running.
    pub job_queue: IntGauge,
}

/// The error code an answer carries, left on the response for the metrics layer.
#[derive(Clone, Copy, Debug)]
pub struct AnsweredCode(pub ErrorCode);

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("partway".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer").buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
            ]),
            &["route"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new("api_errors_total", "Error answers, by error code"),
            &["code"],
        )?;
        let parts_signed = IntCounter::new("parts_signed_total", "Part URLs signed")?;
        let files_completed = IntCounter::new("files_completed_total", "Files completed")?;
        let bytes_completed =
            IntCounter::new("bytes_completed_total", "Bytes of the files completed")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(parts_signed.clone()))?;
        registry.register(Box::new(files_completed.clone()))?;
        registry.register(Box::new(bytes_completed.clone()))?;
        let event_streams = IntGauge::new("event_streams", "Event streams open now")?;
        registry.register(Box::new(event_streams.clone()))?;
        let jobs = IntCounterVec::new(
            Opts::new("jobs_total", "Jobs after upload, by outcome"),
            &["outcome"],
        )?;
        registry.register(Box::new(jobs.clone()))?;
        let job_queue = IntGauge::new("job_queue_depth", "Jobs waiting or running")?;
        registry.register(Box::new(job_queue.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            errors,
            parts_signed,
            files_completed,
            bytes_completed,
            event_streams,
            jobs,
            job_queue,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into memory fails only on a metric the registry itself refused.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format.", body = String, content_type = "text/plain")
    )
)]
pub async fn serve(State(state): State<AppState>) -> Response {
    (
        [(CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        state.metrics.render(),
    )
        .into_response()
}

/// Middleware over every route: counts and times each answer. Labels come from the
/// route that matched, never from the raw path: random paths must not grow the registry.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    let status = response.status();
    let m = &state.metrics;
    m.requests
        .with_label_values(&[route.as_str(), method, status.as_str()])
        .inc();
    m.latency
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    if let Some(AnsweredCode(code)) = response.extensions().get::<AnsweredCode>() {
        m.errors.with_label_values(&[code.as_str()]).inc();
    }
    response
}

/// The methods the server answers, and `other` for any a client invents.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::PUT), "PUT");
        let invented = Method::from_bytes(b"BREW").expect("a method");
        assert_eq!(method_label(&invented), "other");
    }

    #[test]
    fn a_fresh_registry_renders_its_metrics() {
        let m = Metrics::new().expect("registers");
        m.parts_signed.inc_by(3);
        let text = m.render();
        assert!(text.contains("partway_parts_signed_total 3"), "{text}");
    }
}
