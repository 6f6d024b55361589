//! An in-process OpenAI-compatible server speaking the real wire format of
//! `POST /v1/chat/completions`, scriptable to fail the ways real ones do.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, extract::State, http::HeaderMap, response::IntoResponse, routing::post};
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    Text(String),
    Status(u16),
    RateLimited { retry_after_seconds: u64 },
    InvalidJson,
    Empty,
    Slow(Duration),
}

/// A request as the fake received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub authorization: Option<String>,
    pub body: Value,
}

impl Seen {
    pub fn model(&self) -> &str {
        self.body["model"].as_str().unwrap_or_default()
    }
    pub fn system_prompt(&self) -> &str {
        self.body["messages"][0]["content"]
            .as_str()
            .unwrap_or_default()
    }
    pub fn task_prompt(&self) -> &str {
        self.body["messages"][1]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
    }
    /// The image sent as a `data:` URL, decoded.
    pub fn image(&self) -> (String, Vec<u8>) {
        use base64::Engine;
        let url = self.body["messages"][1]["content"][1]["image_url"]["url"]
            .as_str()
            .unwrap_or_default();
        let (header, data) = url.split_once(',').expect("a data URL");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64");
        (header.to_string(), bytes)
    }
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    seen: Vec<Seen>,
}

#[derive(Clone)]
pub struct FakeAi {
    pub base_url: String,
    script: Arc<Mutex<Script>>,
    _shutdown: Arc<tokio::sync::oneshot::Sender<()>>,
}

fn completion(text: &str) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": "fake",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15 }
    })
}

fn error_body(status: u16, message: &str) -> Value {
    json!({ "error": { "message": message, "type": "request_invalid_error", "code": status } })
}

async fn chat(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> axum::response::Response {
    let reply = {
        let mut script = script.lock().unwrap();
        script.seen.push(Seen {
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: body.clone(),
        });
        script.replies.pop_front()
    };
    let task = body["messages"][1]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    let default = if task.contains("alt text") {
        "A striped cat lying down"
    } else {
        "A cat resting on a blanket"
    };
    let status = |code: u16| axum::http::StatusCode::from_u16(code).unwrap();
    match reply.unwrap_or_else(|| Reply::Text(default.into())) {
        Reply::Text(text) => Json(completion(&text)).into_response(),
        Reply::Status(code) => {
            (status(code), Json(error_body(code, "scripted failure"))).into_response()
        }
        Reply::RateLimited {
            retry_after_seconds,
        } => (
            status(429),
            [("retry-after", retry_after_seconds.to_string())],
            Json(error_body(429, "Rate limit reached")),
        )
            .into_response(),
        Reply::InvalidJson => (
            status(200),
            [("content-type", "application/json")],
            "{\"choices\": [",
        )
            .into_response(),
        Reply::Empty => Json(completion("")).into_response(),
        Reply::Slow(delay) => {
            tokio::time::sleep(delay).await;
            Json(completion(default)).into_response()
        }
    }
}

impl FakeAi {
    pub async fn start() -> FakeAi {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        FakeAi {
            base_url: format!("http://{addr}"),
            script,
            _shutdown: Arc::new(shutdown),
        }
    }

    /// The next answers, in order; afterwards it answers with a caption.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().replies.extend(replies);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.script.lock().unwrap().seen.clone()
    }
}
