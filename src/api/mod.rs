//! Transports: thin adapters that translate requests into service calls.

mod deadline;
mod forwarded;
pub mod grpc;
pub mod middleware;
pub mod rest;
pub mod server;
