//! Uploads fetched from an http(s) URL on a caller's behalf (MCP's
//! `upload_asset_from_url`). tessera makes the request, so it must not become
//! a way into the network it runs in: every hop's address is checked before
//! it is connected to, redirects are followed by hand under the same rule,
//! and the body is cut off at the upload limit and the timeout.

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::{StatusCode, Url, header, redirect::Policy};
use tracing::instrument;

use super::AssetService;
use crate::{
    domain::{AssetDetails, Permission, Principal, UploadMetadata},
    error::{Error, Result},
};

/// The whole fetch, redirects and body included.
pub const URL_FETCH_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 5;

impl AssetService {
    /// Fetches `url` and uploads what it answers, with the checks of any
    /// upload. Loopback, private, link-local and other non-public addresses
    /// are refused (`asset_url_forbidden`) unless the operator allowed them.
    #[instrument(skip_all)]
    pub async fn upload_from_url(
        &self,
        principal: &Principal,
        url: &str,
        mut metadata: UploadMetadata,
    ) -> Result<AssetDetails> {
        principal.require(Permission::AssetsCreate)?;
        let mut url = parse(url)?;
        let deadline = tokio::time::Instant::now() + URL_FETCH_TIMEOUT;
        for _ in 0..=MAX_REDIRECTS {
            let response = self.request(&url, deadline).await?;
            if response.status().is_redirection() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| fetch_failed("a redirect without a Location"))?;
                url = url
                    .join(location)
                    .map_err(|_| Error::AssetUrlInvalid(format!("bad redirect to '{location}'")))
                    .and_then(|next| parse(next.as_str()))?;
                continue;
            }
            if response.status() != StatusCode::OK {
                return Err(fetch_failed(&format!(
                    "the server answered {}",
                    response.status()
                )));
            }
            let limit = self.max_upload_bytes();
            if response
                .content_length()
                .is_some_and(|length| length > limit)
            {
                return Err(Error::AssetFileTooLarge { limit });
            }
            if metadata.file_name.is_none() {
                metadata.file_name = Some(file_name(&url));
            }
            let body = body_until(response, deadline);
            return self.upload_whole(principal, metadata, body, None).await;
        }
        Err(fetch_failed("too many redirects"))
    }

    /// One request to `url`, connected only to an address that may be reached.
    async fn request(
        &self,
        url: &Url,
        deadline: tokio::time::Instant,
    ) -> Result<reqwest::Response> {
        let host = url
            .host_str()
            .ok_or_else(|| Error::AssetUrlInvalid("the URL has no host".into()))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let address = self.reachable(host, port).await?;
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .resolve(host.trim_start_matches('[').trim_end_matches(']'), address)
            .timeout(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .build()
            .map_err(|e| Error::internal("url fetch client", e))?;
        client
            .get(url.clone())
            .header(header::ACCEPT, "image/*")
            .send()
            .await
            .map_err(|e| fetch_failed(&describe(&e)))
    }

    /// The address to connect to: every address the host resolves to must
    /// be public, so a name cannot point one lookup inside and one outside.
    async fn reachable(&self, host: &str, port: u16) -> Result<SocketAddr> {
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let addresses: Vec<SocketAddr> = match literal.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((literal, port))
                .await
                .map_err(|_| fetch_failed(&format!("'{host}' could not be resolved")))?
                .collect(),
        };
        if !self.limits.url_fetch_allow_private
            && let Some(inside) = addresses.iter().find(|a| !is_public(a.ip()))
        {
            return Err(Error::AssetUrlForbidden(format!(
                "'{host}' resolves to {}, which is not a public address",
                inside.ip()
            )));
        }
        addresses
            .into_iter()
            .next()
            .ok_or_else(|| fetch_failed(&format!("'{host}' has no address")))
    }
}

fn parse(url: &str) -> Result<Url> {
    let parsed = Url::parse(url.trim())
        .map_err(|e| Error::AssetUrlInvalid(format!("'{url}' is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::AssetUrlInvalid(
            "only http and https URLs can be fetched".into(),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::AssetUrlInvalid(
            "URLs with credentials are not fetched".into(),
        ));
    }
    Ok(parsed)
}

/// The last path segment, or a generic name.
fn file_name(url: &Url) -> String {
    url.path_segments()
        .and_then(|mut segments| segments.next_back())
        .filter(|segment| !segment.is_empty())
        .map_or_else(|| "download".to_string(), str::to_string)
}

/// The body as it arrives, ended with an error at the deadline.
fn body_until(
    response: reqwest::Response,
    deadline: tokio::time::Instant,
) -> impl Stream<Item = Result<Bytes>> + Send + Unpin {
    let chunks = response
        .bytes_stream()
        .map(|chunk| chunk.map_err(|e| fetch_failed(&describe(&e))));
    Box::pin(futures_util::stream::unfold(
        Box::pin(chunks),
        move |mut chunks| async move {
            match tokio::time::timeout_at(deadline, chunks.next()).await {
                Ok(next) => next.map(|chunk| (chunk, chunks)),
                Err(_) => Some((Err(fetch_failed("the download timed out")), chunks)),
            }
        },
    ))
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "the download timed out".into()
    } else if err.is_connect() {
        "the server could not be reached".into()
    } else {
        "the download failed".into()
    }
}

fn fetch_failed(why: &str) -> Error {
    Error::AssetUrlFetchFailed(why.to_string())
}

/// Whether `ip` is an ordinary internet address: not loopback, private,
/// link-local, shared (CGNAT), documentation, multicast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x0064 && v6.segments()[1] == 0xff9b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111"] {
            assert!(is_public(outside.parse().unwrap()), "{outside}");
        }
    }

    #[test]
    fn only_plain_http_urls_are_fetched() {
        assert!(parse("https://example.com/a.png").is_ok());
        for bad in [
            "ftp://example.com/a.png",
            "file:///etc/passwd",
            "not a url",
            "http://user:pw@example.com/",
        ] {
            assert_eq!(
                parse(bad).unwrap_err().code().as_str(),
                "asset_url_invalid",
                "{bad}"
            );
        }
        assert_eq!(
            file_name(&parse("https://example.com/x/cat.png?s=1").unwrap()),
            "cat.png"
        );
        assert_eq!(
            file_name(&parse("https://example.com/").unwrap()),
            "download"
        );
    }
}
