//! A JSON extractor whose rejections use the API's error shape.
//!
//! axum's own `Json` answers a malformed body with plain text; the widget shows error
//! messages from `{"error": {...}}` bodies, so every rejection becomes
//! [`ApiError::InvalidRequest`].

use crate::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A JSON body in (as an extractor) or out (as a response).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(ApiError::invalid(format!(
                "The request body is not what this call expects: {}",
                rejection.body_text()
            ))),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
