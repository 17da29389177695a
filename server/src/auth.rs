//! Bearer tokens: HS256 JWTs naming the user, and the extractor that checks them.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// What a token says: who, and until when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// The keys that issue and check tokens.
#[derive(Clone)]
pub struct AuthKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    token_ttl: u64,
}

impl AuthKeys {
    /// Keys from the server's secret; tokens live `token_ttl` seconds.
    pub fn new(secret: &[u8], token_ttl: u64) -> Self {
        let key = crate::secret::derive_key(secret, "partway bearer tokens v1");
        let mut validation = Validation::new(Algorithm::HS256);
        // Only this server (or its siblings, with the same secret and NTP) issues the
        // tokens, so a little leeway is enough.
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        AuthKeys {
            // A derived key is 32 bytes, never empty, so these cannot fail.
            encoding: EncodingKey::from_secret(&key).expect("HMAC key is not empty"),
            decoding: DecodingKey::from_secret(&key).expect("HMAC key is not empty"),
            validation,
            token_ttl,
        }
    }

    /// A token for `user`, valid for the configured lifetime.
    pub fn issue(&self, user: &str) -> Result<String, ApiError> {
        self.issue_until(user, crate::unix_now().saturating_add(self.token_ttl))
    }

    /// A token for `user` that expires at `exp` (seconds since the epoch).
    pub fn issue_until(&self, user: &str, exp: u64) -> Result<String, ApiError> {
        let claims = Claims {
            sub: user.to_string(),
            exp,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(format_args!("signing a token: {e}")))
    }

    /// The user a token names, if the token is genuine and current.
    pub fn verify(&self, token: &str) -> Result<String, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => {
                    ApiError::Unauthorized("Your sign-in has expired; please sign in again.".into())
                }
                _ => ApiError::Unauthorized("The sign-in token is not valid.".into()),
            })?;
        if !is_valid_user_id(&data.claims.sub) {
            return Err(ApiError::Unauthorized(
                "The sign-in token is not valid.".into(),
            ));
        }
        Ok(data.claims.sub)
    }
}

/// Whether `id` is a user id: 1 to 64 of `A-Z a-z 0-9 _ . -`.
pub fn is_valid_user_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The signed-in user of a request, from `Authorization: Bearer <token>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser(pub String);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::Unauthorized("Please sign in: this call needs a bearer token.".into())
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "The Authorization header must be `Bearer` followed by a token.".into(),
                )
            })?;
        state.keys.verify(token).map(AuthUser)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids() {
        assert!(is_valid_user_id("alice"));
        assert!(is_valid_user_id("a.b-c_1"));
        assert!(!is_valid_user_id(""));
        assert!(!is_valid_user_id("a/b"));
        assert!(!is_valid_user_id(&"x".repeat(65)));
    }

    #[test]
    fn tokens_round_trip_and_forgeries_fail() {
        let keys = AuthKeys::new(b"one", 60);
        let token = keys.issue("alice").expect("issues");
        assert_eq!(keys.verify(&token).expect("verifies"), "alice");
        assert!(AuthKeys::new(b"two", 60).verify(&token).is_err());
        let expired = keys.issue_until("alice", 1000).expect("issues");
        assert!(keys.verify(&expired).is_err());
    }
}
