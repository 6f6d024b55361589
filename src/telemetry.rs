//! What operators see: Prometheus metrics (served at `/metrics`) and the
//! trace id that follows a request into the background jobs it creates.
//!
//! Metric names live here, so every series is named once.

use std::{future::Future, sync::OnceLock, time::Duration};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const REQUESTS: &str = "tessera_requests_total";
pub const REQUEST_DURATION: &str = "tessera_request_duration_seconds";
pub const REQUEST_BYTES: &str = "tessera_request_bytes_total";
pub const RESPONSE_BYTES: &str = "tessera_response_bytes_total";
pub const JOBS: &str = "tessera_jobs";
pub const JOB_DURATION: &str = "tessera_job_duration_seconds";
pub const JOB_FAILURES: &str = "tessera_job_failures_total";
pub const AI_REQUEST_DURATION: &str = "tessera_ai_request_duration_seconds";
pub const AI_ERRORS: &str = "tessera_ai_errors_total";
pub const STORAGE_OPERATION_DURATION: &str = "tessera_storage_operation_duration_seconds";
pub const STORAGE_ERRORS: &str = "tessera_storage_errors_total";
pub const ACCEPT_ERRORS: &str = "tessera_accept_errors_total";

/// Latency buckets from 1 ms to a minute: requests, jobs, storage and AI
/// calls all fall in this range.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once; later calls reuse it. `None`
/// when another recorder was installed first (metrics are then not served).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        REQUESTS,
        "Requests by protocol (rest, grpc, grpc-web), method, route and status"
    );
    describe_histogram!(REQUEST_DURATION, Unit::Seconds, "Time to the response head");
    describe_counter!(REQUEST_BYTES, Unit::Bytes, "Request body bytes received");
    describe_counter!(RESPONSE_BYTES, Unit::Bytes, "Response body bytes sent");
    describe_gauge!(JOBS, "Background jobs by status, read at scrape time");
    describe_histogram!(
        JOB_DURATION,
        Unit::Seconds,
        "Job run time by kind and outcome"
    );
    describe_counter!(JOB_FAILURES, "Failed job attempts by kind");
    describe_histogram!(
        AI_REQUEST_DURATION,
        Unit::Seconds,
        "Vision model calls by outcome"
    );
    describe_counter!(AI_ERRORS, "Vision model failures by reason");
    describe_histogram!(
        STORAGE_OPERATION_DURATION,
        Unit::Seconds,
        "Storage operations by backend and operation"
    );
    describe_counter!(
        ACCEPT_ERRORS,
        "Failed accepts by kind (out_of_file_descriptors: the accept loop backs off)"
    );
    describe_counter!(
        STORAGE_ERRORS,
        "Storage failures by backend, operation and kind (not-found reads excluded)"
    );
}

/// Records how long an operation took.
pub fn observe(name: &'static str, elapsed: Duration, labels: &[(&'static str, String)]) {
    let labels: Vec<metrics::Label> = labels
        .iter()
        .map(|(key, value)| metrics::Label::new(*key, value.clone()))
        .collect();
    metrics::histogram!(name, labels).record(elapsed.as_secs_f64());
}

tokio::task_local! {
    static TRACE_ID: String;
}

/// Runs `future` with `trace_id` as the current trace id.
pub async fn with_trace_id<F: Future>(trace_id: String, future: F) -> F::Output {
    TRACE_ID.scope(trace_id, future).await
}

/// The trace id of the request being served, if any.
pub fn current_trace_id() -> Option<String> {
    TRACE_ID.try_with(Clone::clone).ok()
}
