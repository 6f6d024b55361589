//! One integration-test binary (links once); each module is a suite.

mod common;

mod access;
mod ai;
mod auth;
mod concurrency;
mod console;
mod crash;
mod deadlines;
mod edge_cases;
mod github_repository;
mod github_storage;
mod grpc_assets;
mod grpc_web;
mod key_holders;
mod large_lists;
mod mcp;
mod observability;
mod openapi;
mod orphans;
mod pixel_slots;
mod processing;
mod public_urls;
mod repository;
mod rest_assets;
mod scale_out;
mod skills;
mod storage;
mod storage_overview;
mod storage_profiles;
mod system;
mod uploads;
mod user_guards;
mod users;
mod workflows;
