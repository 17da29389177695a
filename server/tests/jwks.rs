//! Tokens of an external identity provider: RS256 and ES256, checked against a JWKS
//! that the test serves itself on 127.0.0.1, as Auth0, Keycloak or Cognito would.

mod common;

use axum::http::Method;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use common::TestServer;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ISSUER: &str = "https://idp.partway.test/";
const AUDIENCE: &str = "partway-api";

/// A signing key of the provider.
struct ProviderKey {
    kid: &'static str,
    alg: Algorithm,
    encoding: EncodingKey,
}

impl ProviderKey {
    fn rsa(kid: &'static str, der: &[u8]) -> Self {
        ProviderKey {
            kid,
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(der),
        }
    }

    fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.encoding, self.alg).expect("public half");
        jwk.common.key_id = Some(self.kid.into());
        jwk
    }

    /// A token with `claims`, its header naming `kid`.
    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signs")
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.kid, claims)
    }
}

fn rsa_a() -> ProviderKey {
    ProviderKey::rsa("rsa-a", include_bytes!("fixtures/rs256-a.der"))
}

fn rsa_b() -> ProviderKey {
    ProviderKey::rsa("rsa-b", include_bytes!("fixtures/rs256-b.der"))
}

fn ec() -> ProviderKey {
    ProviderKey {
        kid: "ec-1",
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(include_bytes!("fixtures/es256.der")),
    }
}

fn in_an_hour() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + 3600
}

fn claims(sub: &str) -> Value {
    json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": in_an_hour()})
}

/// The provider's key set endpoint: what it lists, and how often it was fetched.
#[derive(Clone)]
struct Provider {
    set: Arc<Mutex<JwkSet>>,
    fetches: Arc<AtomicUsize>,
    /// While set, the endpoint answers 500.
    failing: Arc<AtomicBool>,
    url: String,
}

impl Provider {
    async fn start(keys: &[&ProviderKey]) -> Provider {
        let set = Arc::new(Mutex::new(JwkSet { keys: Vec::new() }));
        let fetches = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(AtomicBool::new(false));
        let app = Router::new().route(
            "/.well-known/jwks.json",
            get({
                let (set, fetches, failing) = (set.clone(), fetches.clone(), failing.clone());
                move || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    if failing.load(Ordering::SeqCst) {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
                    }
                    let set = set.lock().expect("lock").clone();
                    Json(set).into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let provider = Provider {
            set,
            fetches,
            failing,
            url: format!("http://{addr}/.well-known/jwks.json"),
        };
        provider.publish(keys);
        provider
    }

    fn publish(&self, keys: &[&ProviderKey]) {
        self.set.lock().expect("lock").keys = keys.iter().map(|k| k.jwk()).collect();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn server_trusting(url: &str, min_refetch: u64) -> TestServer {
    let url = url.to_string();
    TestServer::with(move |c| {
        c.dev = false;
        c.jwt.jwks_url = Some(url);
        c.jwt.issuer = Some(ISSUER.into());
        c.jwt.audience = vec![AUDIENCE.into()];
        c.jwt.min_refetch = min_refetch;
    })
    .await
}

/// The answer to an authenticated call made with `token`.
async fn files_with(server: &TestServer, token: &str) -> common::Answer {
    server
        .api(Method::GET, "/api/files", Some(token), None)
        .await
}

#[tokio::test]
async fn rs256_and_es256_tokens_of_the_provider_sign_in() {
    let (a, e) = (rsa_a(), ec());
    let provider = Provider::start(&[&a, &e]).await;
    let server = server_trusting(&provider.url, 30).await;

    for token in [a.sign(&claims("alice")), e.sign(&claims("alice"))] {
        let answer = files_with(&server, &token).await;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    // The provider's user is this server's user: an upload made with one of its tokens
    // is listed for it and for no one else.
    let data = common::random_bytes(1000);
    let token = a.sign(&claims("alice"));
    server.upload(&token, "a.bin", &data, 1000).await;
    let mine = files_with(&server, &e.sign(&claims("alice"))).await.json();
    assert_eq!(mine["files"].as_array().map(Vec::len), Some(1), "{mine}");
    let theirs = files_with(&server, &a.sign(&claims("bob"))).await.json();
    assert_eq!(
        theirs["files"].as_array().map(Vec::len),
        Some(0),
        "{theirs}"
    );
    // The server's own HS256 tokens still work beside the provider's.
    assert_eq!(
        files_with(&server, &server.token("carol")).await.status,
        200
    );
    assert_eq!(provider.fetches(), 1, "the set is cached");
}

#[tokio::test]
async fn tokens_for_someone_else_or_forged_are_refused() {
    let (a, b, e) = (rsa_a(), rsa_b(), ec());
    let provider = Provider::start(&[&a, &e]).await;
    let server = server_trusting(&provider.url, 30).await;
    let with = |field: &str, value: Value| {
        let mut c = claims("alice");
        c[field] = value;
        c
    };
    let without = |field: &str| {
        let mut c = claims("alice");
        c.as_object_mut().map(|o| o.remove(field));
        c
    };
    let refused = [
        (
            "another issuer",
            a.sign(&with("iss", json!("https://evil.test/"))),
        ),
        ("another audience", a.sign(&with("aud", json!("other-app")))),
        ("no audience", a.sign(&without("aud"))),
        ("no issuer", a.sign(&without("iss"))),
        ("expired", a.sign(&with("exp", json!(1000)))),
        (
            "lives too long",
            a.sign(&with("exp", json!(in_an_hour() + 30 * 86_400))),
        ),
        ("a user id with a slash", a.sign(&claims("a/b"))),
        // Signed by a key the set does not list, but naming one it does.
        (
            "signed by another key",
            b.sign_as("rsa-a", &claims("alice")),
        ),
        // The EC key named, an RSA signature given.
        ("key of another family", a.sign_as("ec-1", &claims("alice"))),
        ("no key id", {
            let header = Header::new(Algorithm::RS256);
            jsonwebtoken::encode(&header, &claims("alice"), &a.encoding).expect("signs")
        }),
        // The classic confusion: the public key used as an HMAC secret.
        ("HS256 with the public key as secret", {
            let n = a.jwk();
            let secret = serde_json::to_vec(&n).expect("json");
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some("rsa-a".into());
            jsonwebtoken::encode(
                &header,
                &claims("alice"),
                &EncodingKey::from_secret(&secret).expect("key"),
            )
            .expect("signs")
        }),
        ("alg none", {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!(
                "{}.{}.",
                b64.encode(r#"{"alg":"none","kid":"rsa-a"}"#),
                b64.encode(claims("alice").to_string())
            )
        }),
    ];
    for (what, token) in refused {
        let answer = files_with(&server, &token).await;
        assert_eq!(answer.status, 401, "{what}");
        assert_eq!(answer.code(), "unauthorized", "{what}");
    }
}

#[tokio::test]
async fn a_rotated_key_is_fetched_but_unknown_ids_cannot_flood_the_provider() {
    let (a, b) = (rsa_a(), rsa_b());
    let provider = Provider::start(&[&a]).await;
    let server = server_trusting(&provider.url, 1).await;
    assert_eq!(
        files_with(&server, &a.sign(&claims("alice"))).await.status,
        200
    );
    assert_eq!(provider.fetches(), 1);

    // Forged key ids in a burst: at most one fetch per --jwks-min-refetch.
    for i in 0..20 {
        let forged = a.sign_as(&format!("forged-{i}"), &claims("alice"));
        files_with(&server, &forged)
            .await
            .assert_error(401, "unauthorized");
    }
    assert!(provider.fetches() <= 2, "{} fetches", provider.fetches());

    // The provider rotates: b is published, and a token signed with it is accepted once
    // the refetch interval has passed.
    provider.publish(&[&a, &b]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = provider.fetches();
    assert_eq!(
        files_with(&server, &b.sign(&claims("alice"))).await.status,
        200
    );
    assert_eq!(provider.fetches(), before + 1);
    // And a key the provider withdrew stops working at the next fetch.
    provider.publish(&[&b]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    files_with(&server, &a.sign_as("rsa-gone", &claims("alice")))
        .await
        .assert_error(401, "unauthorized");
    files_with(&server, &a.sign(&claims("alice")))
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_answers_busy_not_unauthorized() {
    // A port nothing listens on: bind one, then let it go.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let server = server_trusting(&format!("http://{addr}/jwks.json"), 30).await;
    let answer = files_with(&server, &rsa_a().sign(&claims("alice"))).await;
    answer.assert_error(503, "busy");
    assert!(answer.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn a_failing_provider_is_asked_at_most_once_per_interval_and_recovers() {
    let a = rsa_a();
    let provider = Provider::start(&[&a]).await;
    provider.failing.store(true, Ordering::SeqCst);
    let server = server_trusting(&provider.url, 1).await;
    for _ in 0..5 {
        files_with(&server, &a.sign(&claims("alice")))
            .await
            .assert_error(503, "busy");
    }
    assert_eq!(
        provider.fetches(),
        1,
        "every request asked the failing provider"
    );
    provider.failing.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        files_with(&server, &a.sign(&claims("alice"))).await.status,
        200
    );
    assert_eq!(provider.fetches(), 2);
}
