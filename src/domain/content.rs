use crate::{error::Error, storage::ByteRange};

/// What a caller asks of an asset's bytes.
#[derive(Clone, Debug, Default)]
pub struct ContentRequest {
    pub range: Option<RangeRequest>,
    pub delivery: Delivery,
    /// A derivative's kind (`thumbnail`, ...) instead of the original: how a
    /// client shows a private asset's preview without fetching the original.
    pub derivative_kind: Option<String>,
}

/// How the original may be handed over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delivery {
    /// The bytes themselves, always.
    #[default]
    Bytes,
    /// A link where one exists: a public, `ready` asset is answered with its
    /// public URL, so its bytes are fetched from where everyone fetches them.
    LinkWhenPublic,
}

/// A single byte range as a client asked for it, before the size is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// `bytes=start-` or `bytes=start-end`
    From { start: u64, end: Option<u64> },
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

impl RangeRequest {
    /// Parses an HTTP `Range` header. Returns `None` for anything this server
    /// does not serve as a range (other units, several ranges, garbage), in
    /// which case the whole object is sent, as RFC 9110 allows.
    pub fn parse_header(value: &str) -> Option<RangeRequest> {
        let spec = value.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (start, end) = spec.split_once('-')?;
        let (start, end) = (start.trim(), end.trim());
        if start.is_empty() {
            return end.parse().ok().map(RangeRequest::Suffix);
        }
        let start = start.parse().ok()?;
        let end = if end.is_empty() {
            None
        } else {
            Some(end.parse().ok()?)
        };
        if end.is_some_and(|end| end < start) {
            return None;
        }
        Some(RangeRequest::From { start, end })
    }

    /// The concrete range within an object of `size` bytes.
    pub fn resolve(self, size: u64) -> Result<ByteRange, Error> {
        let unsatisfiable = Error::RangeNotSatisfiable { size };
        match self {
            RangeRequest::From { start, end } if start < size => Ok(ByteRange {
                start,
                end: end.map_or(size - 1, |end| end.min(size - 1)),
            }),
            RangeRequest::Suffix(n) if n > 0 && size > 0 => Ok(ByteRange {
                start: size - n.min(size),
                end: size - 1,
            }),
            _ => Err(unsatisfiable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_resolve_like_rfc_9110() {
        let r = |s| RangeRequest::parse_header(s);
        assert_eq!(
            r("bytes=0-9").map(|r| r.resolve(100).ok()),
            Some(Some(ByteRange { start: 0, end: 9 }))
        );
        assert_eq!(
            r("bytes=90-").and_then(|r| r.resolve(100).ok()),
            Some(ByteRange { start: 90, end: 99 })
        );
        assert_eq!(
            r("bytes=-10").and_then(|r| r.resolve(100).ok()),
            Some(ByteRange { start: 90, end: 99 })
        );
        assert_eq!(
            r("bytes=-500").and_then(|r| r.resolve(100).ok()),
            Some(ByteRange { start: 0, end: 99 })
        );
        assert_eq!(
            r("bytes=50-5000").and_then(|r| r.resolve(100).ok()),
            Some(ByteRange { start: 50, end: 99 })
        );
        assert!(r("bytes=100-").is_some_and(|r| r.resolve(100).is_err()));
        assert_eq!(r("bytes=0-1,5-6"), None);
        assert_eq!(r("items=0-1"), None);
        assert_eq!(r("bytes=9-1"), None);
    }
}
