//! A path-parameter extractor whose rejections use the API's error shape.
//!
//! axum's own `Path` answers an id that is not valid UTF-8 (or a part number that is not
//! a number) with plain text; every API and storage route answers JSON instead. Such a
//! parameter can name nothing that exists, so the answer is 404.

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// Path parameters, as `axum::extract::Path` reads them.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(_) => Err(ApiError::NotFound(
                "There is nothing at this address.".into(),
            )),
        }
    }
}
