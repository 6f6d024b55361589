//! Who is really calling, and which origin they used. Behind a reverse proxy
//! the TCP peer is the proxy; its `Forwarded` / `X-Forwarded-*` headers tell
//! the client address, scheme and host, but anyone can send those headers,
//! so they are believed only when the peer is one of `TESSERA_TRUSTED_PROXIES`.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, header::HOST, uri::Authority};
use ipnet::IpNet;

use crate::config::ForwardedHeaders;

/// The caller as tessera believes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientView {
    /// The client address: the peer, or the first untrusted hop a trusted
    /// proxy reports (counting from the proxy back).
    pub ip: Option<IpAddr>,
    /// `http://host[:port]` as the client addressed tessera, when known.
    pub origin: Option<String>,
}

/// Works out the client from the peer address, the request's `Host` (or
/// HTTP/2 authority) and, from trusted proxies only, the forwarding headers.
pub fn client_view(
    peer: Option<IpAddr>,
    authority: Option<&Authority>,
    headers: &HeaderMap,
    trusted: &[IpNet],
    family: ForwardedHeaders,
) -> ClientView {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(plain_authority)
        .or_else(|| authority.and_then(|a| plain_authority(a.as_str())));
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let Some(peer) = peer.filter(is_trusted) else {
        return ClientView {
            ip: peer,
            origin: host.map(|h| format!("http://{h}")),
        };
    };
    let forwarded = Forwarded::parse(headers, family);
    // Walk back from the nearest hop: proxies we trust may be chained; the
    // first hop we do not trust is the client (anything further left was
    // written by the client itself and proves nothing).
    let mut ip = peer;
    for hop in forwarded.hops.iter().rev() {
        match hop {
            Some(hop) if is_trusted(hop) => ip = *hop,
            Some(hop) => {
                ip = *hop;
                break;
            }
            None => break,
        }
    }
    let scheme = forwarded
        .proto
        .filter(|p| p == "http" || p == "https")
        .unwrap_or_else(|| "http".into());
    let host = forwarded.host.as_deref().and_then(plain_authority).or(host);
    ClientView {
        ip: Some(ip),
        origin: host.map(|h| format!("{scheme}://{h}")),
    }
}

/// A DNS name or IP literal with an optional numeric port, nothing else:
/// what ends up in links and `Location` headers carries no quotes, user
/// info, paths or other characters a page could misread.
fn plain_authority(value: &str) -> Option<Authority> {
    let authority = value.trim().parse::<Authority>().ok()?;
    let host = authority.host();
    let name = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok());
    let port_ok = authority.as_str().len() == host.len() || authority.port_u16().is_some();
    ((name || literal) && port_ok).then_some(authority)
}

/// What the configured family of forwarding headers says. Scheme and host
/// come from the nearest proxy (the last value).
#[derive(Debug, Default)]
struct Forwarded {
    /// Client first, nearest proxy last; `None` for a hop that is not an address.
    hops: Vec<Option<IpAddr>>,
    proto: Option<String>,
    host: Option<String>,
}

impl Forwarded {
    fn parse(headers: &HeaderMap, family: ForwardedHeaders) -> Forwarded {
        let values = |name: &str| -> Vec<String> {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        };
        if family == ForwardedHeaders::Forwarded {
            let mut parsed = Forwarded::default();
            for element in &values("forwarded") {
                for pair in element.split(';') {
                    let Some((key, value)) = pair.split_once('=') else {
                        continue;
                    };
                    let value = value.trim().trim_matches('"');
                    match key.trim().to_ascii_lowercase().as_str() {
                        "for" => parsed.hops.push(hop_address(value)),
                        "proto" => parsed.proto = Some(value.to_ascii_lowercase()),
                        "host" => parsed.host = Some(value.to_string()),
                        _ => {}
                    }
                }
            }
            return parsed;
        }
        Forwarded {
            hops: values("x-forwarded-for")
                .iter()
                .map(|v| hop_address(v))
                .collect(),
            proto: values("x-forwarded-proto")
                .pop()
                .map(|p| p.to_ascii_lowercase()),
            host: values("x-forwarded-host").pop(),
        }
    }
}

/// `192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]:443` or `2001:db8::1`.
fn hop_address(value: &str) -> Option<IpAddr> {
    value
        .parse::<IpAddr>()
        .ok()
        .or_else(|| value.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            value
                .strip_prefix('[')
                .and_then(|v| v.strip_suffix(']'))
                .and_then(|v| v.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().expect("header"));
        }
        map
    }

    fn ip(value: &str) -> IpAddr {
        value.parse().expect("ip")
    }

    const PROXY: &str = "10.0.0.1";

    fn trusted() -> Vec<IpNet> {
        vec!["10.0.0.0/24".parse().expect("net")]
    }

    #[test]
    fn untrusted_peers_are_the_client_whatever_they_say() {
        let view = client_view(
            Some(ip("198.51.100.7")),
            None,
            &headers(&[
                ("host", "tessera.local:5121"),
                ("x-forwarded-for", "203.0.113.9"),
                ("x-forwarded-host", "evil.example"),
                ("x-forwarded-proto", "https"),
                ("forwarded", "for=203.0.113.9;host=evil.example;proto=https"),
            ]),
            &trusted(),
            ForwardedHeaders::XForwarded,
        );
        assert_eq!(view.ip, Some(ip("198.51.100.7")));
        assert_eq!(view.origin.as_deref(), Some("http://tessera.local:5121"));
    }

    #[test]
    fn a_trusted_proxy_tells_client_scheme_and_host() {
        let view = client_view(
            Some(ip(PROXY)),
            None,
            &headers(&[
                ("host", "tessera:5121"),
                ("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.2"),
                ("x-forwarded-host", "img.example.com"),
                ("x-forwarded-proto", "https"),
            ]),
            &trusted(),
            ForwardedHeaders::XForwarded,
        );
        // 1.2.3.4 was written by the client itself: the first untrusted hop wins.
        assert_eq!(view.ip, Some(ip("203.0.113.9")));
        assert_eq!(view.origin.as_deref(), Some("https://img.example.com"));
    }

    #[test]
    fn only_the_configured_family_is_read() {
        let both = headers(&[
            ("host", "tessera:5121"),
            ("x-forwarded-for", "192.0.2.200"),
            (
                "forwarded",
                "for=\"[2001:db8::7]:4711\";proto=https;host=img.example.com:8443",
            ),
        ]);
        // A proxy that sets X-Forwarded-* passes a client's own Forwarded through.
        let view = client_view(
            Some(ip(PROXY)),
            None,
            &both,
            &trusted(),
            ForwardedHeaders::XForwarded,
        );
        assert_eq!(view.ip, Some(ip("192.0.2.200")));
        assert_eq!(view.origin.as_deref(), Some("http://tessera:5121"));
        let view = client_view(
            Some(ip(PROXY)),
            None,
            &both,
            &trusted(),
            ForwardedHeaders::Forwarded,
        );
        assert_eq!(view.ip, Some(ip("2001:db8::7")));
        assert_eq!(view.origin.as_deref(), Some("https://img.example.com:8443"));

        let view = client_view(
            Some(ip(PROXY)),
            None,
            &headers(&[
                ("host", "tessera:5121"),
                ("forwarded", "for=unknown;proto=gopher;host=\"a@b\""),
            ]),
            &trusted(),
            ForwardedHeaders::Forwarded,
        );
        assert_eq!(view.ip, Some(ip(PROXY)), "an unknown hop stops the walk");
        assert_eq!(view.origin.as_deref(), Some("http://tessera:5121"));
    }

    #[test]
    fn hosts_with_odd_characters_are_not_used_in_links() {
        for host in ["x'onerror=alert(1)", "a(b)", "evil.example:80x", "a;b"] {
            let view = client_view(
                Some(ip("198.51.100.7")),
                None,
                &headers(&[("host", host)]),
                &[],
                ForwardedHeaders::XForwarded,
            );
            assert_eq!(view.origin, None, "{host}");
        }
        let view = client_view(
            Some(ip("198.51.100.7")),
            None,
            &headers(&[("host", "[::1]:5121")]),
            &[],
            ForwardedHeaders::XForwarded,
        );
        assert_eq!(view.origin.as_deref(), Some("http://[::1]:5121"));
    }
}
