//! The web console: a single-page app built from `web/` and embedded in the
//! binary, so serving it needs neither Node.js nor files beside the binary.
//! It talks to tessera over grpc-web only; this module just hands it out.

use std::sync::OnceLock;

use axum::{
    Router,
    body::Body,
    extract::Request,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use sha2::{Digest, Sha256};

/// One embedded file with the validator browsers revalidate it by.
struct ConsoleFile {
    body: &'static [u8],
    content_type: &'static str,
    etag: OnceLock<String>,
}

impl ConsoleFile {
    const fn new(body: &'static [u8], content_type: &'static str) -> Self {
        ConsoleFile {
            body,
            content_type,
            etag: OnceLock::new(),
        }
    }

    /// A digest of the body, computed once.
    fn etag(&self) -> &str {
        self.etag.get_or_init(|| {
            let digest = Sha256::digest(self.body);
            format!("\"{}\"", hex::encode(&digest[..16]))
        })
    }
}

static INDEX: ConsoleFile = ConsoleFile::new(
    include_bytes!("../../web/dist/index.html"),
    "text/html; charset=utf-8",
);
static SCRIPT: ConsoleFile = ConsoleFile::new(
    include_bytes!("../../web/dist/app.js"),
    "text/javascript; charset=utf-8",
);
static STYLE: ConsoleFile = ConsoleFile::new(
    include_bytes!("../../web/dist/app.css"),
    "text/css; charset=utf-8",
);

/// Same-origin scripts, styles and calls only; images may also come from a
/// storage backend's public URLs and from the app's own blob: URLs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src * blob: data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Paths the console must never shadow: unknown ones there keep their
/// JSON `route_not_found`.
const NOT_CONSOLE: [&str; 4] = ["/api/", "/content/", "/_console/", "/mcp"];

/// The console's own routes; every other page of it is reached through
/// [`serves_page`] in the fallback.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|headers: HeaderMap| async move { serve(&INDEX, &headers) }),
        )
        .route(
            "/_console/app.js",
            get(|headers: HeaderMap| async move { serve(&SCRIPT, &headers) }),
        )
        .route(
            "/_console/app.css",
            get(|headers: HeaderMap| async move { serve(&STYLE, &headers) }),
        )
}

/// Whether an unrouted request is a browser opening one of the console's
/// pages (`/gallery`, `/assets/{id}`, ...): a page load asks for HTML.
pub fn serves_page(request: &Request) -> bool {
    let path = request.uri().path();
    matches!(*request.method(), Method::GET | Method::HEAD)
        && !NOT_CONSOLE.iter().any(|prefix| path.starts_with(prefix))
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

/// The console's `index.html`, for [`serves_page`] requests.
pub fn page(request: &Request) -> Response {
    serve(&INDEX, request.headers())
}

fn serve(file: &ConsoleFile, request: &HeaderMap) -> Response {
    let etag = file.etag();
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|candidate| candidate.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(file.body))
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    // Revalidated on each load, so a new release is picked up at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
