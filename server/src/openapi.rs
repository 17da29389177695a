//! The HTTP API as an OpenAPI 3.1 document, generated from the routes' annotations and
//! the wire types (the same types the widget uses), served at `/api/openapi.json` so
//! that other clients, backends and API fuzzers can work from it.

use crate::metrics;
use crate::routes::{batch, dev, events, files, health, uploads, usage};
use partway::core::wire::ErrorBody;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Partway companion server",
        description = "Multipart uploads from the browser straight to object storage: the \
            server checks, signs part URLs and records files; the bytes never pass through it. \
            Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        uploads::create,
        uploads::sign,
        uploads::status,
        uploads::complete,
        uploads::abort,
        batch::create_many,
        batch::complete_many,
        files::list,
        files::show,
        files::delete,
        usage::usage,
        events::ticket,
        events::stream,
        dev::token,
        health::health,
        metrics::serve,
    ),
    modifiers(&BearerAuth, &Links)
)]
struct ApiDoc;

/// The `bearer` scheme the paths name: a JWT (HS256 from the server's secret, or from the
/// site's identity provider through its JWKS).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// The refusals any authenticated call may answer with, beside its own.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // described in the document, never built
pub(crate) enum Refusals {
    /// A missing, forged or expired token: `unauthorized`.
    #[response(status = 401)]
    Unauthorized(#[to_schema] ErrorBody),
    /// Too many requests, or uploads in progress: `rate_limited` or `too_many_uploads`;
    /// see `Retry-After`.
    #[response(status = 429)]
    TooMany(#[to_schema] ErrorBody),
    /// Something broke on the server: `internal`; details are in its log.
    #[response(status = 500)]
    Internal(#[to_schema] ErrorBody),
    /// Busy (an upload being completed, a token provider unreachable): ask again after
    /// `Retry-After`.
    #[response(status = 503)]
    Busy(#[to_schema] ErrorBody),
}

/// Where an answer's ids lead: what a client (or a fuzzer) calls next with them.
struct Links;

impl Modify for Links {
    fn modify(&self, doc: &mut Document) {
        let upload = "$response.body#/upload_id";
        let file = "$response.body#/file/id";
        let created = [
            ("uploadStatus", upload),
            ("signParts", upload),
            ("completeUpload", upload),
            ("abortUpload", upload),
        ];
        let completed = [("getFile", file), ("deleteFile", file)];
        for (path, method, status, targets) in [
            ("/api/uploads", HttpMethod::Post, "201", &created[..]),
            (
                "/api/uploads/{id}/complete",
                HttpMethod::Post,
                "200",
                &completed[..],
            ),
        ] {
            let Some(item) = doc.paths.paths.get_mut(path) else {
                continue;
            };
            let operation = match method {
                HttpMethod::Post => item.post.as_mut(),
                _ => None,
            };
            let Some(utoipa::openapi::RefOr::T(response)) =
                operation.and_then(|op| op.responses.responses.get_mut(status))
            else {
                continue;
            };
            for (operation_id, value) in targets {
                let link = LinkBuilder::new()
                    .operation_id(*operation_id)
                    .parameter("id", *value)
                    .build();
                response
                    .links
                    .insert((*operation_id).to_string(), link.into());
            }
        }
    }
}

/// The document for a server in this mode, as JSON: the dev token route only where it
/// exists.
pub fn document(dev: bool) -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    if !dev {
        doc.paths.paths.remove("/api/dev/token");
    }
    let mut json = serde_json::to_value(doc).unwrap_or_default();
    camel_case_links(&mut json);
    json
}

/// utoipa 5.5 writes a link's `operationId` as `operation_id`, which no OpenAPI tool
/// reads: renamed in the JSON.
fn camel_case_links(json: &mut serde_json::Value) {
    let Some(paths) = json.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let links = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses")?.as_object_mut())
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.get_mut("links")?.as_object_mut())
        .flat_map(|links| links.values_mut())
        .filter_map(|link| link.as_object_mut());
    for link in links {
        if let Some(id) = link.remove("operation_id") {
            link.insert("operationId".into(), id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_schemas() {
        let json = document(true);
        assert_eq!(json["openapi"], "3.1.0");
        let paths = json["paths"].as_object().expect("paths");
        for path in [
            "/api/uploads",
            "/api/uploads/{id}",
            "/api/uploads/{id}/parts",
            "/api/uploads/{id}/complete",
            "/api/files",
            "/api/files/{id}",
            "/api/usage",
            "/api/dev/token",
            "/healthz",
        ] {
            assert!(paths.contains_key(path), "{path} is not documented");
        }
        let schemas = json["components"]["schemas"].as_object().expect("schemas");
        for schema in [
            "CreateUploadRequest",
            "PartChecksum",
            "FileInfo",
            "ErrorBody",
        ] {
            assert!(schemas.contains_key(schema), "{schema} is missing");
        }
        assert!(document(false)["paths"].get("/api/dev/token").is_none());
        let link =
            &json["paths"]["/api/uploads"]["post"]["responses"]["201"]["links"]["uploadStatus"];
        assert_eq!(link["operationId"], "uploadStatus");
    }

    #[test]
    fn the_readmes_api_table_lists_exactly_the_documented_calls() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
        let table = readme
            .lines()
            .skip_while(|l| !l.starts_with("| call | does |"))
            .take_while(|l| l.starts_with('|'));
        let mut listed = std::collections::BTreeSet::new();
        for row in table {
            let first_cell = row.split(" | ").next().unwrap_or_default();
            for call in first_cell.split('`').skip(1).step_by(2) {
                if let Some((method, path)) = call.split_once(' ') {
                    listed.insert((method.to_lowercase(), path.to_string()));
                }
            }
        }
        // The document itself is served beside the calls it describes.
        listed.remove(&("get".to_string(), "/api/openapi.json".to_string()));
        let doc = document(true);
        let mut documented = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("item").keys() {
                documented.insert((method.clone(), path.clone()));
            }
        }
        assert_eq!(
            listed, documented,
            "README's API table against /api/openapi.json"
        );
    }
}
