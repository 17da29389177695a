//! Calls to the companion server's HTTP API (see `core::wire` for the bodies).

use crate::core::wire::{
    CompleteUploadRequest, CompleteUploadResponse, CreateUploadRequest, CreateUploadResponse,
    DevTokenRequest, ErrorBody, SignPartsRequest, SignPartsResponse, TokenResponse, UploadStatus,
};
use crate::core::{Failure, UploadId};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// A client of the API at `base` (empty for the page's own origin), acting with `token`.
#[derive(Clone, Debug)]
pub struct Api {
    base: String,
    token: Option<String>,
}

impl Api {
    /// A client for the API under `base`, e.g. `""` or `"https://uploads.example.com"`.
    pub fn new(base: impl Into<String>, token: Option<String>) -> Self {
        Api {
            base: base.into().trim_end_matches('/').to_string(),
            token,
        }
    }

    /// Asks a dev-mode server for a token for `user` (the demo and tests only).
    pub async fn dev_token(base: &str, user: &str) -> Result<String, Failure> {
        let api = Api::new(base, None);
        let body = DevTokenRequest { user: user.into() };
        let res: TokenResponse = api.send(api.post("/api/dev/token"), Some(&body)).await?;
        Ok(res.token)
    }

    /// `POST /api/uploads`.
    pub async fn create(&self, req: &CreateUploadRequest) -> Result<CreateUploadResponse, Failure> {
        self.send(self.post("/api/uploads"), Some(req)).await
    }

    /// `POST /api/uploads/{id}/parts`.
    pub async fn sign(
        &self,
        id: &UploadId,
        req: &SignPartsRequest,
    ) -> Result<SignPartsResponse, Failure> {
        self.send(self.post(&format!("/api/uploads/{id}/parts")), Some(req))
            .await
    }

    /// `POST /api/uploads/{id}/complete`.
    pub async fn complete(
        &self,
        id: &UploadId,
        req: &CompleteUploadRequest,
    ) -> Result<CompleteUploadResponse, Failure> {
        self.send(self.post(&format!("/api/uploads/{id}/complete")), Some(req))
            .await
    }

    /// `GET /api/uploads/{id}`: the parts storage holds.
    pub async fn status(&self, id: &UploadId) -> Result<UploadStatus, Failure> {
        let req = self.authorize(Request::get(&format!("{}/api/uploads/{id}", self.base)));
        self.send::<(), _>(req, None).await
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
        let req = self.authorize(Request::delete(&format!("{}/api/uploads/{id}", self.base)));
        let res = req.send().await.map_err(|_| Failure::Network)?;
        check(res).await.map(|_| ())
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.authorize(Request::post(&format!("{}{path}", self.base)))
    }

    fn authorize(&self, req: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(token) => req.header("Authorization", &format!("Bearer {token}")),
            None => req,
        }
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        body: Option<&B>,
    ) -> Result<T, Failure> {
        let req = match body {
            Some(body) => req.json(body).map_err(|e| bad_answer(&e.to_string()))?,
            None => req.build().map_err(|e| bad_answer(&e.to_string()))?,
        };
        let res = req.send().await.map_err(|_| Failure::Network)?;
        let res = check(res).await?;
        res.json::<T>()
            .await
            .map_err(|e| bad_answer(&e.to_string()))
    }
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
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let message = res.json::<ErrorBody>().await.ok().map(|b| b.error.message);
    Err(Failure::Status {
        status,
        retry_after,
        message,
    })
}

fn bad_answer(detail: &str) -> Failure {
    Failure::Status {
        status: 502,
        retry_after: None,
        message: Some(format!("The server's answer was not understood: {detail}")),
    }
}
