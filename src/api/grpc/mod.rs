//! gRPC adapter: proto <-> domain conversion and the one mapping of domain
//! errors to gRPC statuses (with `ErrorInfo.reason` = the REST error code).

mod ai_providers;
mod api_keys;
mod assets;
mod auth;
mod public_assets;
mod storage_profiles;
mod uploads;
mod users;
mod workflows;

pub use ai_providers::AiProvidersGrpc;
pub use api_keys::ApiKeysGrpc;
pub use assets::AssetsGrpc;
pub use auth::AuthGrpc;
pub use public_assets::PublicAssetsGrpc;
pub use storage_profiles::StorageProfilesGrpc;
pub use uploads::UploadsGrpc;
pub use users::UsersGrpc;
pub use workflows::WorkflowsGrpc;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tonic::{Request, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::middleware::{RequestContext, TRACE_ID_HEADER};
use crate::{domain::Principal, error::Error};

/// Generated types and services of `proto/tessera/v1`.
pub mod proto {
    #![allow(clippy::all, clippy::pedantic)]
    tonic::include_proto!("tessera.v1");

    /// Descriptor set for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/tessera_descriptor.bin"));
}

/// The domain used in `ErrorInfo`.
pub const ERROR_DOMAIN: &str = "tessera";

/// A domain error as a status carrying `google.rpc.ErrorInfo`.
pub fn status(err: Error, trace_id: Option<&str>) -> Status {
    let metadata = trace_id
        .map(|id| HashMap::from([("traceId".to_string(), id.to_string())]))
        .unwrap_or_default();
    let mut metadata = metadata;
    if let Error::UploadOffsetMismatch { current } = &err {
        // Where to resume, without another call.
        metadata.insert("currentOffset".to_string(), current.to_string());
    }
    let code = err.code();
    let details = ErrorDetails::with_error_info(code.as_str(), ERROR_DOMAIN, metadata);
    Status::with_error_details(code.grpc_code(), err.to_string(), details)
}

/// The principal and trace id of a call, from the shared request layer
/// (`lenient` lets refused credentials count as anonymous).
#[derive(Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub trace_id: Option<String>,
}

impl Authenticated {
    pub fn of<T>(request: &Request<T>) -> Result<Authenticated, Status> {
        let Some(context) = request.extensions().get::<RequestContext>() else {
            return Ok(Authenticated {
                principal: Principal::Anonymous,
                trace_id: None,
            });
        };
        let trace_id = Some(context.trace_id.clone());
        match context.principal() {
            Ok(principal) => Ok(Authenticated {
                principal,
                trace_id,
            }),
            Err(err) => Err(status(err, trace_id.as_deref())),
        }
    }

    /// For calls that need no credentials (login, refresh, the public
    /// gallery): refused credentials count as anonymous instead of failing.
    pub fn lenient<T>(request: &Request<T>) -> Authenticated {
        Authenticated::of(request).unwrap_or_else(|_| Authenticated {
            principal: Principal::Anonymous,
            trace_id: request
                .extensions()
                .get::<RequestContext>()
                .map(|c| c.trace_id.clone()),
        })
    }

    /// Maps a domain error with this call's trace id.
    pub fn fail(&self, err: Error) -> Status {
        let mut status = status(err, self.trace_id.as_deref());
        if let Some(Ok(value)) = self.trace_id.as_deref().map(str::parse) {
            status.metadata_mut().insert(TRACE_ID_HEADER, value);
        }
        status
    }
}

/// proto3 cannot send `null`: in patches an empty string clears the field.
pub fn cleared(value: Option<String>) -> Option<Option<String>> {
    value.map(|v| Some(v).filter(|v| !v.is_empty()))
}

/// `google.protobuf.Struct` parameters as the JSON the service validates.
pub fn struct_to_json(value: prost_types::Struct) -> serde_json::Value {
    serde_json::Value::Object(
        value
            .fields
            .into_iter()
            .map(|(k, v)| (k, value_to_json(v)))
            .collect(),
    )
}

fn value_to_json(value: prost_types::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    match value.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(n)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Some(Kind::StringValue(s)) => serde_json::Value::String(s),
        Some(Kind::BoolValue(b)) => serde_json::Value::Bool(b),
        Some(Kind::StructValue(s)) => struct_to_json(s),
        Some(Kind::ListValue(list)) => {
            serde_json::Value::Array(list.values.into_iter().map(value_to_json).collect())
        }
    }
}

/// JSON as a `google.protobuf.Struct` (non-objects become an empty struct).
pub fn json_to_struct(value: serde_json::Value) -> prost_types::Struct {
    match value {
        serde_json::Value::Object(map) => prost_types::Struct {
            fields: map
                .into_iter()
                .map(|(k, v)| (k, json_to_value(v)))
                .collect(),
        },
        _ => prost_types::Struct::default(),
    }
}

fn json_to_value(value: serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match value {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Kind::StringValue(s),
        serde_json::Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        object @ serde_json::Value::Object(_) => Kind::StructValue(json_to_struct(object)),
    };
    prost_types::Value { kind: Some(kind) }
}

pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}
