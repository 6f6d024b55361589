//! gRPC deadlines, enforced by tessera for every call, streaming or not: a
//! call past its `grpc-timeout` ends with `DEADLINE_EXCEEDED` (tonic's own
//! enforcement answers `CANCELLED` and ends only the wait for the response
//! head). The answer is made inside the CORS layer, so grpc-web callers get
//! it with their CORS headers.

use std::time::Duration;

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header::CONTENT_TYPE},
    response::Response,
};
use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use http_body::Frame;
use http_body_util::{BodyStream, StreamBody};
use tokio::time::Instant;

/// tonic enforces the same deadline from the outside and answers
/// `CANCELLED`; ending a little earlier makes ours the answer.
const MARGIN: Duration = Duration::from_millis(5);

const STATUS: &str = "4";
const MESSAGE: &str = "deadline exceeded";
/// `MESSAGE` as the `grpc-message` header carries it (percent-encoded).
const ENCODED_MESSAGE: &str = "deadline%20exceeded";

/// How a gRPC answer is framed: HTTP/2 trailers, or grpc-web's trailer
/// frame in the body (binary, or base64 for `grpc-web-text`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Grpc,
    GrpcWeb,
    GrpcWebText,
}

impl Framing {
    pub fn of(content_type: &str) -> Option<Framing> {
        if content_type.starts_with("application/grpc-web-text") {
            Some(Framing::GrpcWebText)
        } else if content_type.starts_with("application/grpc-web") {
            Some(Framing::GrpcWeb)
        } else if content_type.starts_with("application/grpc") {
            Some(Framing::Grpc)
        } else {
            None
        }
    }
}

/// When the call must be over, from its `grpc-timeout` header
/// (`1-8 digits` + `H`, `M`, `S`, `m`, `u` or `n`).
pub fn deadline(headers: &HeaderMap) -> Option<Instant> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let split = value.len().checked_sub(1)?;
    let (digits, unit) = value.split_at(split);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    let timeout = match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    };
    Some(Instant::now() + timeout.saturating_sub(MARGIN))
}

/// A trailers-only answer: the call ran out of time before its response began.
pub fn exceeded(framing: Framing) -> Response {
    let content_type = match framing {
        Framing::Grpc => "application/grpc",
        Framing::GrpcWeb => "application/grpc-web+proto",
        Framing::GrpcWebText => "application/grpc-web-text+proto",
    };
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("grpc-status", HeaderValue::from_static(STATUS));
    headers.insert("grpc-message", HeaderValue::from_static(ENCODED_MESSAGE));
    response
}

/// `body`, cut at `deadline`: a stream still running then is dropped and
/// the answer ends with `DEADLINE_EXCEEDED` in its trailers.
pub fn bounded(body: Body, deadline: Instant, framing: Framing) -> Body {
    let frames = BodyStream::new(body);
    let sleep = Box::pin(tokio::time::sleep_until(deadline));
    let stream = futures_util::stream::unfold(Some((frames, sleep)), move |state| async move {
        let (mut frames, mut sleep) = state?;
        tokio::select! {
            biased;
            frame = frames.next() => frame.map(|frame| (frame, Some((frames, sleep)))),
            () = &mut sleep => Some((Ok(trailer(framing)), None)),
        }
    });
    Body::new(StreamBody::new(stream))
}

fn trailer(framing: Framing) -> Frame<Bytes> {
    match framing {
        Framing::Grpc => {
            let mut trailers = HeaderMap::new();
            trailers.insert("grpc-status", HeaderValue::from_static(STATUS));
            trailers.insert("grpc-message", HeaderValue::from_static(ENCODED_MESSAGE));
            Frame::trailers(trailers)
        }
        Framing::GrpcWeb => Frame::data(web_trailer()),
        Framing::GrpcWebText => Frame::data(Bytes::from(
            base64::engine::general_purpose::STANDARD.encode(web_trailer()),
        )),
    }
}

/// grpc-web carries trailers as a body frame flagged 0x80.
fn web_trailer() -> Bytes {
    let text = format!("grpc-status:{STATUS}\r\ngrpc-message:{MESSAGE}\r\n");
    let mut frame = BytesMut::with_capacity(5 + text.len());
    frame.put_u8(0x80);
    frame.put_u32(u32::try_from(text.len()).unwrap_or(0));
    frame.put_slice(text.as_bytes());
    frame.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout(value: &'static str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-timeout", HeaderValue::from_static(value));
        let at = deadline(&headers);
        let now = Instant::now();
        at.map(|at| at.saturating_duration_since(now))
    }

    #[test]
    fn grpc_timeouts_parse_with_every_unit_and_refuse_the_rest() {
        let close = |value, expected: Duration| {
            let parsed = timeout(value).expect(value);
            let target = expected.saturating_sub(MARGIN);
            assert!(
                parsed <= target && target - parsed < Duration::from_millis(50),
                "{value}"
            );
        };
        close("2S", Duration::from_secs(2));
        close("1500m", Duration::from_millis(1500));
        close("3M", Duration::from_secs(180));
        close("1H", Duration::from_secs(3600));
        close("250000u", Duration::from_millis(250));
        close("99999999n", Duration::from_nanos(99_999_999));
        for bad in ["", "S", "123456789S", "12x", "-1S", "1.5S"] {
            let mut headers = HeaderMap::new();
            headers.insert("grpc-timeout", HeaderValue::from_static(bad));
            assert!(deadline(&headers).is_none(), "{bad}");
        }
    }

    #[test]
    fn grpc_web_trailers_are_a_flagged_frame() {
        let frame = web_trailer();
        assert_eq!(frame[0], 0x80);
        let length = u32::from_be_bytes([frame[1], frame[2], frame[3], frame[4]]) as usize;
        assert_eq!(length, frame.len() - 5);
        assert!(frame.ends_with(b"grpc-message:deadline exceeded\r\n"));
    }
}
