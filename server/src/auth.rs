//! Bearer tokens: JWTs naming the user, and the extractor that checks them.
//!
//! HS256 tokens are signed with the server's secret (by a site's own login, or by dev
//! mode with a key of its own); RS256/ES256 tokens by an identity provider whose keys
//! the server reads from `--jwks-url` ([`crate::jwks`]).

use crate::error::ApiError;
use crate::jwks::{Jwks, JwksError};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, TokenData, Validation};
use serde::{Deserialize, Serialize};

/// What a token says: who, and until when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// One HMAC key, both ways.
#[derive(Clone)]
struct Key {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Key {
    fn new(bytes: &[u8]) -> Result<Self, String> {
        let empty = |_| "the secret is empty".to_string();
        Ok(Key {
            encoding: EncodingKey::from_secret(bytes).map_err(empty)?,
            decoding: DecodingKey::from_secret(bytes).map_err(empty)?,
        })
    }
}

/// The keys that issue and check tokens.
#[derive(Clone)]
pub struct AuthKeys {
    /// The server's secret itself, so that a site's own login can sign tokens with it.
    site: Key,
    /// Dev mode's key, derived from the secret: dev tokens (anyone may ask for one) stop
    /// working as soon as the server runs without `--dev`.
    dev: Option<Key>,
    /// Event-stream tickets' key, derived from the secret: a ticket opens a stream and
    /// nothing else, and no bearer token opens a stream through the ticket parameter.
    tickets: Key,
    /// Tickets are made and checked here, by one clock: no leeway.
    ticket_validation: Validation,
    /// An external identity provider's keys, with `--jwks-url`.
    jwks: Option<std::sync::Arc<Jwks>>,
    validation: Validation,
    token_ttl: u64,
    max_lifetime: u64,
}

impl AuthKeys {
    /// Keys from the server's secret. Tokens this server issues live `token_ttl` seconds;
    /// none is accepted that expires more than `max_lifetime` seconds from now. With
    /// `dev`, dev tokens are issued and accepted too. Fails only on an empty secret.
    pub fn new(
        secret: &[u8],
        token_ttl: u64,
        max_lifetime: u64,
        dev: bool,
    ) -> Result<Self, String> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Clocks of the site's login and this server agree within NTP.
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let dev_key = crate::secret::derive_key(secret, "partway dev tokens v1");
        let ticket_key = crate::secret::derive_key(secret, "partway event tickets v1");
        let mut ticket_validation = validation.clone();
        ticket_validation.leeway = 0;
        Ok(AuthKeys {
            ticket_validation,
            site: Key::new(secret)?,
            tickets: Key::new(&ticket_key)?,
            dev: dev.then(|| Key::new(&dev_key)).transpose()?,
            jwks: None,
            validation,
            token_ttl,
            max_lifetime,
        })
    }

    /// These keys, also accepting the tokens of an identity provider.
    pub fn with_jwks(self, jwks: Option<Jwks>) -> Self {
        AuthKeys {
            jwks: jwks.map(std::sync::Arc::new),
            ..self
        }
    }

    /// A token for `user` signed as a site's own login would sign it, valid for the
    /// configured lifetime.
    pub fn issue(&self, user: &str) -> Result<String, ApiError> {
        self.issue_until(user, crate::unix_now().saturating_add(self.token_ttl))
    }

    /// A token for `user`, as the site would sign it, that expires at `exp` (seconds
    /// since the epoch).
    pub fn issue_until(&self, user: &str, exp: u64) -> Result<String, ApiError> {
        sign(&self.site, user, exp)
    }

    /// A dev-mode token for `user`; `None` without `--dev`.
    pub fn issue_dev(&self, user: &str) -> Option<Result<String, ApiError>> {
        let exp = crate::unix_now().saturating_add(self.token_ttl);
        self.dev.as_ref().map(|key| sign(key, user, exp))
    }

    /// A ticket that opens `user`'s event stream for the next `ttl` seconds.
    pub fn issue_ticket(&self, user: &str, ttl: u64) -> Result<String, ApiError> {
        sign(&self.tickets, user, crate::unix_now().saturating_add(ttl))
    }

    /// The user an event-stream ticket names, if it is genuine and current.
    pub fn verify_ticket(&self, ticket: &str) -> Result<String, ApiError> {
        match jsonwebtoken::decode::<Claims>(
            ticket,
            &self.tickets.decoding,
            &self.ticket_validation,
        ) {
            Ok(data) if is_valid_user_id(&data.claims.sub) => Ok(data.claims.sub),
            Err(e) if *e.kind() == ErrorKind::ExpiredSignature => Err(ApiError::Unauthorized(
                "This event-stream ticket has expired; ask for another.".into(),
            )),
            _ => Err(ApiError::Unauthorized(
                "This event-stream ticket is not valid.".into(),
            )),
        }
    }

    /// The user a token names, if the token is genuine and current.
    pub async fn verify(&self, token: &str) -> Result<String, ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        let decoded = match (&self.jwks, header.alg) {
            (_, Algorithm::HS256) => self.verify_hs256(token),
            (Some(jwks), alg) if Jwks::handles(alg) => {
                let key = jwks
                    .key(header.kid.as_deref(), alg)
                    .await
                    .map_err(|e| match e {
                        JwksError::Fetch(_) => ApiError::Unavailable(
                            "Sign-in cannot be checked right now; try again shortly.".into(),
                        ),
                        refused => ApiError::Unauthorized(format!("{}.", capitalised(&refused))),
                    })?;
                jsonwebtoken::decode::<Claims>(token, &key, &jwks.validation(alg))
            }
            _ => return Err(invalid()),
        };
        let claims = match decoded {
            Ok(data) => data.claims,
            Err(e) if *e.kind() == ErrorKind::ExpiredSignature => {
                return Err(ApiError::Unauthorized(
                    "Your sign-in has expired; please sign in again.".into(),
                ))
            }
            Err(_) => return Err(invalid()),
        };
        if claims.exp
            > crate::unix_now()
                .saturating_add(self.max_lifetime)
                .saturating_add(self.validation.leeway)
        {
            return Err(ApiError::Unauthorized(format!(
                "The sign-in token lives too long: this server accepts tokens that expire \
                 within {} seconds.",
                self.max_lifetime
            )));
        }
        if !is_valid_user_id(&claims.sub) {
            return Err(ApiError::Unauthorized(
                "The sign-in token's user id (`sub`) must be 1 to 64 of A-Z a-z 0-9 _ . -".into(),
            ));
        }
        Ok(claims.sub)
    }

    /// A token signed with the server's secret, or in dev mode with the dev key.
    fn verify_hs256(&self, token: &str) -> jsonwebtoken::errors::Result<TokenData<Claims>> {
        jsonwebtoken::decode::<Claims>(token, &self.site.decoding, &self.validation).or_else(|e| {
            match (e.kind(), &self.dev) {
                (ErrorKind::InvalidSignature, Some(dev)) => {
                    jsonwebtoken::decode::<Claims>(token, &dev.decoding, &self.validation)
                }
                _ => Err(e),
            }
        })
    }
}

fn invalid() -> ApiError {
    ApiError::Unauthorized("The sign-in token is not valid.".into())
}

/// `the key…` → `The key…`, for a message that starts a sentence.
fn capitalised(e: &JwksError) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn sign(key: &Key, user: &str, exp: u64) -> Result<String, ApiError> {
    let claims = Claims {
        sub: user.to_string(),
        exp,
    };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key.encoding)
        .map_err(|e| ApiError::internal(format_args!("signing a token: {e}")))
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
        // The scheme is case-insensitive (RFC 9110 section 11.1).
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.trim_start().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "The Authorization header must be `Bearer` followed by a token.".into(),
                )
            })?;
        let user = state.keys.verify(token).await?;
        state.limits.check_user(&user)?;
        Ok(AuthUser(user))
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

    #[tokio::test]
    async fn tokens_round_trip_and_forgeries_fail() {
        let keys = AuthKeys::new(b"one", 60, 3600, false).expect("keys");
        let token = keys.issue("alice").expect("issues");
        assert_eq!(keys.verify(&token).await.expect("verifies"), "alice");
        assert!(AuthKeys::new(b"two", 60, 3600, false)
            .expect("keys")
            .verify(&token)
            .await
            .is_err());
        let expired = keys.issue_until("alice", 1000).expect("issues");
        assert!(keys.verify(&expired).await.is_err());
        let too_long = keys
            .issue_until("alice", crate::unix_now() + 7200)
            .expect("issues");
        assert!(keys.verify(&too_long).await.is_err());
    }

    #[tokio::test]
    async fn dev_tokens_need_dev_mode() {
        let dev = AuthKeys::new(b"one", 60, 3600, true).expect("keys");
        let token = dev.issue_dev("alice").expect("dev mode").expect("issues");
        assert_eq!(
            dev.verify(&token).await.expect("verifies in dev mode"),
            "alice"
        );
        let production = AuthKeys::new(b"one", 60, 3600, false).expect("keys");
        assert!(production.issue_dev("alice").is_none());
        assert!(production.verify(&token).await.is_err());
        // A site's token works in both.
        let site = production.issue("bob").expect("issues");
        assert_eq!(dev.verify(&site).await.expect("verifies"), "bob");
    }
}
