//! Transports: thin adapters that translate requests into service calls.

pub mod console;
mod deadline;
mod forwarded;
pub mod grpc;
pub mod mcp;
pub mod middleware;
pub mod rest;
pub mod server;

use axum::{
    extract::Request,
    http::header,
    response::{IntoResponse, Response},
};

use crate::{error::Error, telemetry};

/// What answers a path no route serves: a gRPC call gets a gRPC status
/// (`rpc_not_found`, `UNIMPLEMENTED` as gRPC clients expect), a browser
/// opening a console page the console, anything else the REST envelope
/// (`route_not_found`).
pub(crate) async fn route_not_found(request: Request) -> Response {
    let is_grpc = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if is_grpc {
        let trace_id = telemetry::current_trace_id();
        return grpc::status(Error::RpcNotFound, trace_id.as_deref())
            .into_http::<axum::body::Body>();
    }
    if console::serves_page(&request) {
        return console::page(&request);
    }
    rest::ApiError(Error::RouteNotFound).into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use axum::response::IntoResponse;
    use http_body_util::BodyExt;
    use tonic_types::StatusExt;

    use crate::{
        error::{Error, ErrorCode},
        telemetry,
    };

    /// docs/api.md §12: code → (HTTP status, gRPC code name).
    fn documented() -> BTreeMap<String, (u16, String)> {
        let doc = include_str!("../../docs/api.md");
        let section = doc
            .split("## 12. Error codes")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("docs/api.md has a §12");
        let mut rows = BTreeMap::new();
        for line in section.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells[1].trim_matches('`').to_string();
            let http = cells[2][..3].parse().expect("a numeric HTTP status");
            let grpc = cells[3].split('`').nth(1).expect("a gRPC code").to_string();
            assert!(
                rows.insert(code.clone(), (http, grpc)).is_none(),
                "{code} twice"
            );
        }
        rows
    }

    /// `InvalidArgument` → `INVALID_ARGUMENT`, as gRPC's documentation spells codes.
    fn screaming(code: tonic::Code) -> String {
        let mut out = String::new();
        for (i, c) in format!("{code:?}").chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
        }
        out
    }

    /// Every row of the code table, rendered by both adapters, agrees with
    /// itself and with the documented table.
    #[tokio::test]
    async fn every_error_code_renders_as_documented_through_rest_and_grpc() {
        let documented = documented();
        assert_eq!(
            documented.len(),
            ErrorCode::ALL.len(),
            "docs/api.md §12 rows"
        );
        for &code in ErrorCode::ALL {
            let (http, grpc) = &documented[code.as_str()];
            assert_eq!(code.http_status().as_u16(), *http, "{code} over HTTP");
            assert_eq!(&screaming(code.grpc_code()), grpc, "{code} over gRPC");

            let response = telemetry::with_trace_id("trace-1".into(), async {
                super::rest::ApiError(Error::example(code)).into_response()
            })
            .await;
            assert_eq!(response.status().as_u16(), *http, "{code}");
            let body = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            assert_eq!(body["error"]["code"], code.as_str());
            assert_eq!(body["error"]["status"], *http);
            assert_eq!(body["error"]["traceId"], "trace-1");

            let status = super::grpc::status(Error::example(code), Some("trace-1"));
            assert_eq!(&screaming(status.code()), grpc, "{code}");
            let info = status.get_details_error_info().expect("ErrorInfo");
            assert_eq!(info.reason, code.as_str());
            assert_eq!(info.metadata["traceId"], "trace-1");
        }
    }
}
