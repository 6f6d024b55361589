//! Where public links to tessera itself point (files on the local backend,
//! served at `/content/...`). A configured base (`TESSERA_PUBLIC_BASE_URL`)
//! wins; otherwise the origin the client used for the request being served,
//! so links work on whatever host and port the client reached; outside a
//! request (background jobs), the listen address.

use std::{future::Future, net::SocketAddr, sync::Arc};

tokio::task_local! {
    static REQUEST_ORIGIN: Arc<str>;
}

/// Runs `future` with `origin` (`scheme://host[:port]`) as the origin of the
/// request being served; `None` leaves the fallback in place.
pub async fn with_request_origin<F: Future>(origin: Option<Arc<str>>, future: F) -> F::Output {
    match origin {
        Some(origin) => REQUEST_ORIGIN.scope(origin, future).await,
        None => future.await,
    }
}

/// The origin of the request being served, to carry into work that outlives
/// the handler (the updates of a stream).
pub fn request_origin() -> Option<Arc<str>> {
    REQUEST_ORIGIN.try_with(Clone::clone).ok()
}

#[derive(Clone, Debug)]
pub struct PublicBase {
    configured: Option<Arc<str>>,
    listen: Arc<str>,
}

impl PublicBase {
    /// `configured` is `TESSERA_PUBLIC_BASE_URL`; `listen` is the address
    /// actually bound (a wildcard address is reached as `localhost`).
    pub fn new(configured: Option<&str>, listen: SocketAddr) -> Self {
        let listen = if listen.ip().is_unspecified() {
            format!("http://localhost:{}", listen.port())
        } else {
            format!("http://{listen}")
        };
        PublicBase {
            configured: configured.map(|base| base.trim_end_matches('/').into()),
            listen: listen.into(),
        }
    }

    /// A fixed base, whatever the request (tests, tools).
    pub fn fixed(base: &str) -> Self {
        let base: Arc<str> = base.trim_end_matches('/').into();
        PublicBase {
            configured: Some(base.clone()),
            listen: base,
        }
    }

    /// The base for a link made now, without a trailing slash.
    pub fn current(&self) -> Arc<str> {
        if let Some(base) = &self.configured {
            return base.clone();
        }
        request_origin().unwrap_or_else(|| self.listen.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(addr: &str) -> SocketAddr {
        addr.parse().expect("address")
    }

    #[tokio::test]
    async fn configured_wins_then_the_request_then_the_listen_address() {
        let derived = PublicBase::new(None, listen("127.0.0.1:5277"));
        assert_eq!(&*derived.current(), "http://127.0.0.1:5277");
        let origin = Some(Arc::from("https://img.example.test"));
        let seen = with_request_origin(origin.clone(), async { derived.current() }).await;
        assert_eq!(&*seen, "https://img.example.test");

        let configured =
            PublicBase::new(Some("https://cdn.example.test/"), listen("127.0.0.1:5277"));
        let seen = with_request_origin(origin, async { configured.current() }).await;
        assert_eq!(&*seen, "https://cdn.example.test");
    }

    #[test]
    fn wildcard_listen_addresses_are_reached_as_localhost() {
        assert_eq!(
            &*PublicBase::new(None, listen("0.0.0.0:8080")).current(),
            "http://localhost:8080"
        );
        assert_eq!(
            &*PublicBase::new(None, listen("[::1]:8080")).current(),
            "http://[::1]:8080"
        );
    }
}
