//! Calls to the companion server's HTTP API (see `core::wire` for the bodies).

use crate::browser::batch::Batcher;
use crate::browser::json;
use crate::browser::token::Tokens;
use crate::core::wire::ErrorCode;
use crate::core::wire::{
    BatchResponse, BatchResult, CompleteUploadItem, CompleteUploadRequest, CompleteUploadResponse,
    CompleteUploadsRequest, CreateUploadRequest, CreateUploadResponse, CreateUploadsRequest,
    DevTokenRequest, ErrorBody, EventTicket, SignPartsRequest, SignPartsResponse, TokenResponse,
    UploadStatus,
};
use crate::core::{Failure, UploadId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestInit, Response};

/// The HTTP methods the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// A client of the API at `base` (empty for the page's own origin), signed in through
/// `tokens`. Its clones share one queue of creates and one of completes, which many
/// small files fill faster than the server answers: those go in batches.
#[derive(Clone)]
pub struct Api {
    base: String,
    tokens: Tokens,
    /// Aborts every call in flight when its owner goes away.
    signal: Option<AbortSignal>,
    creates: Batcher<CreateUploadRequest, CreateUploadResponse>,
    completes: Batcher<CompleteUploadItem, CompleteUploadResponse>,
}

impl Api {
    /// A client for the API under `base`, e.g. `""` or `"https://uploads.example.com"`.
    pub fn new(base: impl Into<String>, tokens: Tokens) -> Self {
        Api {
            base: base.into().trim_end_matches('/').to_string(),
            tokens,
            signal: None,
            creates: Batcher::new(),
            completes: Batcher::new(),
        }
    }

    /// The same client, its calls aborted when `signal` fires.
    pub fn with_signal(mut self, signal: AbortSignal) -> Self {
        self.signal = Some(signal);
        self
    }

    /// Asks a dev-mode server for a token for `user` (the demo and tests only).
    pub async fn dev_token(base: &str, user: &str) -> Result<String, Failure> {
        let api = Api::new(base, Tokens::fixed(None));
        let body = DevTokenRequest { user: user.into() };
        let res: TokenResponse = api
            .json(Method::Post, "/api/dev/token", Some(&body))
            .await?;
        Ok(res.token)
    }

    /// `POST /api/events/ticket`: what opens the event stream.
    pub async fn event_ticket(&self) -> Result<EventTicket, Failure> {
        self.json(Method::Post, "/api/events/ticket", None::<&()>)
            .await
    }

    /// The URL of the event stream, opened with `ticket`, replaying after `last`.
    pub fn events_url(&self, ticket: &str, last: Option<u64>) -> String {
        let mut url = format!("{}/api/events?ticket={}", self.base, encode(ticket));
        if let Some(last) = last {
            url.push_str(&format!("&last_event_id={last}"));
        }
        url
    }

    /// `POST /api/uploads`, alone or in a batch with the creates that wait beside it.
    pub async fn create(&self, req: &CreateUploadRequest) -> Result<CreateUploadResponse, Failure> {
        let api = self.clone();
        let send = move |calls| {
            let api = api.clone();
            async move { api.create_batch(calls).await }
        };
        self.creates.call(req.clone(), send).await
    }

    async fn create_batch(
        &self,
        mut calls: Vec<CreateUploadRequest>,
    ) -> Vec<Result<CreateUploadResponse, Failure>> {
        if calls.len() == 1 {
            let call = calls.remove(0);
            return vec![self.json(Method::Post, "/api/uploads", Some(&call)).await];
        }
        let n = calls.len();
        let body = CreateUploadsRequest { uploads: calls };
        let answer = self
            .json(Method::Post, "/api/uploads/batch", Some(&body))
            .await;
        each(answer, n)
    }

    /// `POST /api/uploads/{id}/parts`.
    pub async fn sign(
        &self,
        id: &UploadId,
        req: &SignPartsRequest,
    ) -> Result<SignPartsResponse, Failure> {
        let path = format!("/api/uploads/{}/parts", segment(id));
        self.json(Method::Post, &path, Some(req)).await
    }

    /// `POST /api/uploads/{id}/complete`, alone or in a batch with the completes that
    /// wait beside it.
    pub async fn complete(
        &self,
        id: &UploadId,
        req: &CompleteUploadRequest,
    ) -> Result<CompleteUploadResponse, Failure> {
        let api = self.clone();
        let send = move |calls| {
            let api = api.clone();
            async move { api.complete_batch(calls).await }
        };
        let item = CompleteUploadItem {
            upload_id: id.clone(),
            request: req.clone(),
        };
        self.completes.call(item, send).await
    }

    async fn complete_batch(
        &self,
        mut calls: Vec<CompleteUploadItem>,
    ) -> Vec<Result<CompleteUploadResponse, Failure>> {
        if calls.len() == 1 {
            let call = calls.remove(0);
            let path = format!("/api/uploads/{}/complete", segment(&call.upload_id));
            return vec![self.json(Method::Post, &path, Some(&call.request)).await];
        }
        let n = calls.len();
        let body = CompleteUploadsRequest { uploads: calls };
        let answer = self
            .json(Method::Post, "/api/uploads/batch/complete", Some(&body))
            .await;
        each(answer, n)
    }

    /// `GET /api/uploads/{id}`: the parts storage holds.
    pub async fn status(&self, id: &UploadId) -> Result<UploadStatus, Failure> {
        let path = format!("/api/uploads/{}", segment(id));
        self.json::<(), _>(Method::Get, &path, None).await
    }

    /// The API's base URL, resolved against the page for an empty base.
    pub fn endpoint(&self) -> String {
        if !self.base.is_empty() {
            return self.base.clone();
        }
        web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default()
    }

    /// `DELETE /api/uploads/{id}`.
    pub async fn abort(&self, id: &UploadId) -> Result<(), Failure> {
        let path = format!("/api/uploads/{}", segment(id));
        self.call::<()>(Method::Delete, &path, None)
            .await
            .map(|_| ())
    }

    async fn json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, Failure> {
        let res = self.call(method, path, body).await?;
        let value = promised(res.json())
            .await
            .map_err(|_| bad_answer("not JSON"))?;
        json::from_js(value).map_err(|e| bad_answer(&e))
    }

    /// Sends one call; a 401 is answered by asking for a fresh token once and sending
    /// the call again.
    async fn call<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Response, Failure> {
        let body = match body {
            Some(body) => Some(json::to_text(body).map_err(|e| bad_answer(&e))?),
            None => None,
        };
        let url = format!("{}{path}", self.base);
        let mut token = self.tokens.get(None).await?;
        let mut refreshed = false;
        loop {
            let res = self
                .fetch(method, &url, token.as_deref(), body.as_deref())
                .await?;
            if res.status() != 401 {
                return check(res).await;
            }
            if !refreshed && self.tokens.can_refresh(token.as_deref()) {
                refreshed = true;
                token = self.tokens.get(token.as_deref()).await?;
                continue;
            }
            let said = match check(res).await {
                Err(Failure::Status {
                    message: Some(said),
                    ..
                }) => Some(said),
                _ => None,
            };
            let message = match (refreshed, said) {
                (true, _) => "The upload server refused the sign-in, even with a fresh token from getToken(); sign in again.".to_string(),
                (false, Some(said)) => format!("The upload server refused the sign-in: {said}"),
                (false, None) => "The upload server refused the sign-in (401).".to_string(),
            };
            return Err(Failure::refused(401, ErrorCode::Unauthorized, message));
        }
    }

    async fn fetch(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Result<Response, Failure> {
        let headers = Headers::new().map_err(|_| Failure::Network)?;
        if let Some(token) = token {
            let _ = headers.set("Authorization", &format!("Bearer {token}"));
        }
        let init = RequestInit::new();
        init.set_method(method.as_str());
        if let Some(body) = body {
            let _ = headers.set("Content-Type", "application/json");
            init.set_body(&body.into());
        }
        init.set_headers(&headers);
        if let Some(signal) = &self.signal {
            init.set_signal(Some(signal));
        }
        let window = web_sys::window().ok_or(Failure::Network)?;
        let res = JsFuture::from(window.fetch_with_str_and_init(url, &init))
            .await
            .map_err(|_| Failure::Network)?;
        res.dyn_into::<Response>().map_err(|_| Failure::Network)
    }
}

/// Awaits a promise-returning call.
async fn promised(
    call: Result<js_sys::Promise, wasm_bindgen::JsValue>,
) -> Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue> {
    JsFuture::from(call?).await
}

/// An upload id as one URL path segment: ids come from records a page script could
/// have written, so nothing in one may reach another route.
fn segment(id: &UploadId) -> String {
    js_sys::encode_uri_component(&id.0).into()
}

/// Turns an error answer into a [`Failure`] carrying the server's message.
async fn check(res: Response) -> Result<Response, Failure> {
    if res.ok() {
        return Ok(res);
    }
    let status = res.status();
    let retry_after = res
        .headers()
        .get("Retry-After")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = match promised(res.json()).await {
        Ok(value) => json::from_js::<ErrorBody>(value).ok(),
        Err(_) => None,
    };
    Err(Failure::Status {
        status,
        retry_after,
        message: body.as_ref().map(|b| b.error.message.clone()),
        code: body.map(|b| b.error.code),
    })
}

/// Each call's result from a batch's answer; a batch that failed whole fails each call.
fn each<T>(answer: Result<BatchResponse<T>, Failure>, n: usize) -> Vec<Result<T, Failure>> {
    let results = match answer {
        Ok(answer) if answer.results.len() == n => answer.results,
        Ok(answer) => {
            let got = answer.results.len();
            let failure = bad_answer(&format!("{got} results for {n} calls"));
            return (0..n).map(|_| Err(failure.clone())).collect();
        }
        Err(failure) => return (0..n).map(|_| Err(failure.clone())).collect(),
    };
    results
        .into_iter()
        .map(|result| match result {
            BatchResult::Done { ok } => Ok(ok),
            BatchResult::Refused {
                status,
                error,
                retry_after,
            } => Err(Failure::Status {
                status,
                retry_after: retry_after.map(Duration::from_secs),
                message: Some(error.message),
                code: Some(error.code),
            }),
        })
        .collect()
}

fn bad_answer(detail: &str) -> Failure {
    Failure::Status {
        status: 502,
        retry_after: None,
        message: Some(format!("The server's answer was not understood: {detail}")),
        code: None,
    }
}

/// `s` as a URL query value (tickets are base64url and dots, but nothing is assumed).
fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}
