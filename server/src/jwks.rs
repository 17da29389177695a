//! Keys of an external identity provider, read from its JSON Web Key Set, so that its
//! RS256 and ES256 tokens sign users in.
//!
//! The set is cached. A token naming a key id the cache lacks (the provider rotated its
//! keys) fetches the set again, at most once per `--jwks-min-refetch`, so forged key ids
//! cannot turn this server into a flood of requests to the provider.

use crate::config::JwtConfig;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// How long a fetched set is trusted before it is fetched again.
const MAX_AGE: Duration = Duration::from_secs(3600);
/// How long one fetch of the set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The asymmetric algorithms accepted from the provider. HMAC never: a public key
/// set must not become a shared secret.
const ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Why no key could be found for a token.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The token's header does not name a key id.
    #[error("the sign-in token names no key (`kid`)")]
    NoKeyId,
    /// The provider's set has no usable key of that id, even after fetching it again.
    #[error("the sign-in token is signed by a key the identity provider does not list")]
    UnknownKey,
    /// The set could not be fetched and no copy of the key is cached.
    #[error("the identity provider's keys could not be fetched: {0}")]
    Fetch(String),
}

/// One usable key of the set.
#[derive(Clone)]
struct Key {
    decoding: DecodingKey,
    /// The algorithm the set pins the key to, if it says.
    algorithm: Option<Algorithm>,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, Key>,
    /// When the set was last fetched successfully.
    fetched: Option<Instant>,
    /// When a fetch was last tried, successful or not: the bound on fetches.
    attempted: Option<Instant>,
    /// Why the last fetch failed, while no later one succeeded.
    failure: Option<String>,
}

/// The provider's keys and the claims its tokens must carry.
pub struct Jwks {
    url: String,
    http: reqwest::Client,
    issuer: String,
    audience: Vec<String>,
    /// The shortest time between two fetches triggered by unknown key ids.
    min_refetch: Duration,
    cache: RwLock<Cache>,
    /// Held while fetching, so that concurrent requests wait for one fetch.
    fetching: tokio::sync::Mutex<()>,
}

/// The wire shape of a set: keys are parsed one by one, so that one key of a type this
/// server does not know does not hide the others.
#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

impl Jwks {
    /// The provider of `config`, or `None` when no `--jwks-url` is set. Nothing is
    /// fetched yet.
    pub fn new(config: &JwtConfig) -> Result<Option<Jwks>, String> {
        let Some(url) = &config.jwks_url else {
            return Ok(None);
        };
        // reqwest is built without a default TLS provider; ring is the light one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| format!("--jwks-url: {e}"))?;
        Ok(Some(Jwks {
            url: url.clone(),
            http,
            issuer: config.issuer.clone().unwrap_or_default(),
            audience: config.audience.clone(),
            min_refetch: Duration::from_secs(config.min_refetch),
            cache: RwLock::default(),
            fetching: tokio::sync::Mutex::new(()),
        }))
    }

    /// Whether tokens signed with `alg` are this provider's to check.
    pub fn handles(alg: Algorithm) -> bool {
        ALGORITHMS.contains(&alg)
    }

    /// What a token of the provider must satisfy, besides its signature.
    pub fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audience);
        validation
    }

    /// The key a token names by `kid`, for `alg`; fetches the set when the cache is
    /// stale or lacks the key, at most once per `--jwks-min-refetch` whatever the
    /// outcome. While a fetch runs, a known key serves at once instead of waiting.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, JwksError> {
        let kid = kid.ok_or(JwksError::NoKeyId)?;
        if let Some(key) = self.cached(kid, alg, MAX_AGE) {
            return Ok(key);
        }
        let known = self.cached(kid, alg, Duration::MAX);
        let _fetching = match (self.fetching.try_lock(), &known) {
            (Ok(guard), _) => guard,
            (Err(_), Some(key)) => return Ok(key.clone()),
            (Err(_), None) => self.fetching.lock().await,
        };
        // Another request may have fetched while this one waited.
        if let Some(key) = self.cached(kid, alg, MAX_AGE) {
            return Ok(key);
        }
        let recently = self
            .read()
            .attempted
            .is_some_and(|at| at.elapsed() < self.min_refetch);
        if !recently {
            self.write().attempted = Some(Instant::now());
            let fetched = self.fetch().await;
            let mut cache = self.write();
            match fetched {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched = Some(Instant::now());
                    cache.failure = None;
                }
                Err(why) => {
                    // A provider that is down for a moment does not sign everyone out:
                    // keys already known stay good until it answers again.
                    tracing::warn!("fetching {}: {why}", self.url);
                    cache.failure = Some(why);
                }
            }
        }
        if let Some(key) = self.cached(kid, alg, Duration::MAX) {
            return Ok(key);
        }
        match self.read().failure.clone() {
            Some(why) => Err(JwksError::Fetch(why)),
            None => Err(JwksError::UnknownKey),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached key `kid` if the set is younger than `max_age` and the key may sign
    /// with `alg`.
    fn cached(&self, kid: &str, alg: Algorithm, max_age: Duration) -> Option<DecodingKey> {
        let cache = self.read();
        if cache.fetched.is_none_or(|at| at.elapsed() >= max_age) {
            return None;
        }
        let key = cache.keys.get(kid)?;
        let fits = key.decoding.family() == alg.family() && key.algorithm.is_none_or(|a| a == alg);
        fits.then(|| key.decoding.clone())
    }

    /// The usable signing keys of the set, by key id.
    async fn fetch(&self) -> Result<HashMap<String, Key>, String> {
        let answer = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?;
        let body = answer.bytes().await.map_err(|e| e.to_string())?;
        let set: RawSet =
            serde_json::from_slice(&body).map_err(|e| format!("not a key set: {e}"))?;
        Ok(set.keys.into_iter().filter_map(usable).collect())
    }
}

/// A key of the set this server can verify signatures with, and its id.
fn usable(value: serde_json::Value) -> Option<(String, Key)> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    let kid = jwk.common.key_id.clone()?;
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    let algorithm = match jwk.common.key_algorithm {
        Some(alg) => Some(alg.to_string().parse::<Algorithm>().ok()?),
        None => None,
    };
    if algorithm.is_some_and(|a| !Jwks::handles(a)) {
        return None;
    }
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    if !ALGORITHMS.iter().any(|a| a.family() == decoding.family()) {
        return None;
    }
    Some((
        kid,
        Key {
            decoding,
            algorithm,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_signing_keys_of_known_types_are_kept() {
        let rsa = json!({"kty": "RSA", "kid": "r", "alg": "RS256", "use": "sig",
            "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
            "e": "AQAB"});
        let enc = json!({"kty": "RSA", "kid": "e", "use": "enc", "n": rsa["n"], "e": "AQAB"});
        let oct = json!({"kty": "oct", "kid": "o", "k": "c2VjcmV0"});
        let hs = json!({"kty": "RSA", "kid": "h", "alg": "HS256", "n": rsa["n"], "e": "AQAB"});
        let nameless = json!({"kty": "RSA", "n": rsa["n"], "e": "AQAB"});
        let strange = json!({"kty": "XYZ", "kid": "x"});
        let kept: Vec<String> = [rsa, enc, oct, hs, nameless, strange]
            .into_iter()
            .filter_map(usable)
            .map(|(kid, _)| kid)
            .collect();
        assert_eq!(kept, ["r"]);
    }

    #[test]
    fn hmac_is_never_the_providers() {
        assert!(!Jwks::handles(Algorithm::HS256));
        assert!(Jwks::handles(Algorithm::RS256));
        assert!(Jwks::handles(Algorithm::ES256));
    }
}
