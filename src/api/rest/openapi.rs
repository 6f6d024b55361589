//! The OpenAPI 3.1 document of the REST façade. Operations come from the
//! handlers' `#[utoipa::path]` attributes as they are routed; this module adds
//! what is common to all of them: the bearer scheme and the error envelope.

use axum::{
    Extension,
    body::Bytes,
    http::{StatusCode, header},
    response::IntoResponse,
};
use utoipa::{
    OpenApi,
    openapi::{
        ContentBuilder, RefOr, ResponseBuilder,
        security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme},
    },
};

use super::{ErrorEnvelope, content};

/// The parts of the document that no handler owns.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tessera",
        description = "Self-hosted image asset service. Success bodies are `{\"data\": ...}`; \
                       failures are the error envelope with a stable `code`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(content::public_content),
    components(schemas(ErrorEnvelope)),
    tags(
        (name = "assets", description = "Upload, list, read, change and delete assets"),
        (name = "skills", description = "Processing skills run on assets"),
        (name = "public", description = "Anonymous access to public assets"),
        (name = "auth", description = "Sessions for users"),
        (name = "apikeys", description = "Keys for scripts and services"),
        (name = "users", description = "User management"),
        (name = "storage", description = "Storage provider profiles"),
        (name = "ai", description = "AI provider profiles"),
        (name = "workflows", description = "Saved pipelines of skills, run on assets"),
        (name = "uploads", description = "Resumable uploads: the tus 1.0.0 protocol at /api/v1/uploads (POST, HEAD, PATCH, DELETE, OPTIONS; see docs/api.md), and this JSON view"),
        (name = "system", description = "Health, readiness, metrics and discovery"),
    )
)]
pub struct ApiDoc;

/// Name of the security scheme every authenticated operation refers to.
const BEARER: &str = "bearer";

/// Adds the bearer scheme as the default requirement and the error envelope
/// as every operation's `default` response: any status not listed carries it.
pub fn complete(openapi: &mut utoipa::openapi::OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A JWT access token from `/api/v1/auth/login`, or an API key.",
                ))
                .build(),
        ),
    );
    openapi.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    let error = ResponseBuilder::new()
        .description("The error envelope; `error.code` says what went wrong.")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ErrorEnvelope",
                ))))
                .build(),
        )
        .build();
    for item in openapi.paths.paths.values_mut() {
        for operation in operations(item) {
            let responses = &mut operation.responses.responses;
            for (status, response) in responses.iter_mut() {
                // OpenAPI requires a description; the status's name is one.
                if let RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    response.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|code| StatusCode::from_u16(code).ok())
                        .and_then(|code| code.canonical_reason())
                        .unwrap_or("Success")
                        .to_string();
                }
            }
            responses
                .entry("default".to_string())
                .or_insert_with(|| RefOr::T(error.clone()));
        }
    }
}

fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
        item.head.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The document, serialised once when the router is built.
#[derive(Clone)]
pub struct OpenApiJson(pub Bytes);

/// This document.
#[utoipa::path(
    get,
    operation_id = "getOpenApi",
    path = "/openapi.json",
    tag = "system",
    security(()),
    responses((status = OK, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub async fn document(Extension(OpenApiJson(json)): Extension<OpenApiJson>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json)
}
