use std::time::Duration;

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::{StatusCode, header::RETRY_AFTER};
use serde_json::{Value, json};
use tracing::debug;

use super::{AiError, RetryPolicy, VisionClient, VisionRequest};

/// `{base}/v1/chat/completions`, or `{base}/chat/completions` when the base
/// already ends in `/v1`.
pub fn chat_completions_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/v1") {
        format!("{base}/chat/completions")
    } else {
        format!("{base}/v1/chat/completions")
    }
}

/// A client for one provider profile.
pub struct OpenAiClient {
    http: reqwest::Client,
    url: String,
    api_key: Option<String>,
    model: String,
    policy: RetryPolicy,
}

impl OpenAiClient {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        api_key: Option<String>,
        model: &str,
        policy: RetryPolicy,
    ) -> Self {
        OpenAiClient {
            http,
            url: chat_completions_url(base_url),
            api_key,
            model: model.to_string(),
            policy,
        }
    }

    fn body(&self, request: &VisionRequest<'_>) -> Value {
        let image = format!("data:image/jpeg;base64,{}", STANDARD.encode(request.jpeg));
        json!({
            "model": self.model,
            "messages": [
                { "role": "system", "content": request.system_prompt },
                { "role": "user", "content": [
                    { "type": "text", "text": request.task_prompt },
                    { "type": "image_url", "image_url": { "url": image } },
                ]},
            ],
            "max_tokens": 300,
        })
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self
            .policy
            .base_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        retry_after
            .unwrap_or(exponential)
            .min(self.policy.max_backoff)
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare from these APIs).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// The provider's own error message, shortened; providers do not echo keys.
fn error_message(body: &str) -> String {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect());
    message.chars().take(300).collect()
}

fn answer_text(body: &[u8]) -> Result<String, AiError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| AiError::InvalidResponse)?;
    let content = &value["choices"][0]["message"]["content"];
    let text = match content {
        Value::String(text) => text.clone(),
        // Some gateways answer with content parts.
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        Value::Null if value.get("choices").is_some() => String::new(),
        _ => return Err(AiError::InvalidResponse),
    };
    let text = unwrap_json_answer(&text)
        .unwrap_or(text)
        .trim()
        .trim_matches('"')
        .trim()
        .to_string();
    if text.is_empty() {
        Err(AiError::EmptyContent)
    } else {
        Ok(text)
    }
}

/// The text inside an answer written as JSON (`{"caption": "..."}`, also in
/// a ```json fence), as NekoHub's prompts ask of the model, so that a
/// profile migrated with such a prompt stores the caption, not the JSON.
fn unwrap_json_answer(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text
        .strip_prefix("```json")
        .or_else(|| text.strip_prefix("```"))
        .and_then(|rest| rest.strip_suffix("```"))
        .unwrap_or(text);
    let Ok(Value::Object(answer)) = serde_json::from_str::<Value>(text.trim()) else {
        return None;
    };
    ["caption", "altText", "alt_text", "description", "text"]
        .iter()
        .find_map(|key| {
            answer
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))
                .and_then(|(_, value)| value.as_str())
                .filter(|value| !value.trim().is_empty())
        })
        .map(str::to_string)
}

#[async_trait]
impl VisionClient for OpenAiClient {
    async fn describe(&self, request: &VisionRequest<'_>) -> Result<String, AiError> {
        let started = std::time::Instant::now();
        let answer = self.call(request).await;
        let outcome = match &answer {
            Ok(_) => "ok",
            Err(err) => {
                metrics::counter!(crate::telemetry::AI_ERRORS, "reason" => err.reason())
                    .increment(1);
                "error"
            }
        };
        crate::telemetry::observe(
            crate::telemetry::AI_REQUEST_DURATION,
            started.elapsed(),
            &[("outcome", outcome.to_string())],
        );
        answer
    }
}

impl OpenAiClient {
    /// One description, with the retries the policy allows.
    async fn call(&self, request: &VisionRequest<'_>) -> Result<String, AiError> {
        let body = self.body(request);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut call = self
                .http
                .post(&self.url)
                .json(&body)
                .timeout(self.policy.timeout);
            if let Some(key) = &self.api_key {
                call = call.bearer_auth(key);
            }
            let started = std::time::Instant::now();
            let outcome = call.send().await;
            let retry = match outcome {
                Err(err) if err.is_timeout() => (AiError::Timeout(self.policy.timeout), None),
                Err(err) => {
                    let reason = if err.is_connect() {
                        "connection failed"
                    } else {
                        "request failed"
                    };
                    (AiError::Unreachable(reason.into()), None)
                }
                Ok(response) => {
                    let status = response.status();
                    debug!(
                        status = status.as_u16(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "vision call"
                    );
                    let wait = retry_after(&response);
                    match status {
                        StatusCode::OK => {
                            let bytes =
                                match tokio::time::timeout(self.policy.timeout, response.bytes())
                                    .await
                                {
                                    Ok(Ok(bytes)) => bytes,
                                    Ok(Err(_)) => return Err(AiError::InvalidResponse),
                                    Err(_) => return Err(AiError::Timeout(self.policy.timeout)),
                                };
                            return answer_text(&bytes);
                        }
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                            return Err(AiError::Unauthorized(status.as_u16()));
                        }
                        StatusCode::NOT_FOUND => {
                            return Err(AiError::NotFound {
                                model: self.model.clone(),
                            });
                        }
                        StatusCode::TOO_MANY_REQUESTS => {
                            (AiError::RateLimited { attempts: attempt }, wait)
                        }
                        s if s.is_server_error() => (
                            AiError::Server {
                                status: s.as_u16(),
                                attempts: attempt,
                            },
                            wait,
                        ),
                        s => {
                            let text = response.text().await.unwrap_or_default();
                            return Err(AiError::Rejected {
                                status: s.as_u16(),
                                message: error_message(&text),
                            });
                        }
                    }
                }
            };
            let (error, wait) = retry;
            if attempt >= self.policy.attempts {
                return Err(error);
            }
            tokio::time::sleep(self.backoff(attempt, wait)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_answers() {
        assert_eq!(
            chat_completions_url("https://api.openai.com"),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            chat_completions_url("http://localhost:11434/v1/"),
            "http://localhost:11434/v1/chat/completions"
        );
        assert_eq!(
            answer_text(br#"{"choices":[{"message":{"content":" A cat. "}}]}"#),
            Ok("A cat.".into())
        );
        assert_eq!(
            answer_text(br#"{"choices":[{"message":{"content":""}}]}"#),
            Err(AiError::EmptyContent)
        );
        assert_eq!(answer_text(b"<html>"), Err(AiError::InvalidResponse));
        // NekoHub's prompts ask for JSON: the caption inside is the answer.
        for content in [
            r#"{\"caption\": \" A cat on a mat. \"}"#,
            r#"```json\n{\"Caption\": \"A cat on a mat.\"}\n```"#,
        ] {
            let body = format!(r#"{{"choices":[{{"message":{{"content":"{content}"}}}}]}}"#);
            assert_eq!(
                answer_text(body.as_bytes()),
                Ok("A cat on a mat.".into()),
                "{content}"
            );
        }
        // JSON without a caption stays as it came.
        assert_eq!(
            answer_text(br#"{"choices":[{"message":{"content":"{\"tags\": 1}"}}]}"#),
            Ok(r#"{"tags": 1}"#.into())
        );
        assert_eq!(
            error_message(r#"{"error":{"message":"bad model"}}"#),
            "bad model"
        );
    }
}
