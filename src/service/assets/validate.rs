//! The client's text on an asset: trimmed, bounded, and names made safe.

use super::MAX_FILE_NAME_LEN;
use crate::{
    domain::{MAX_TEXT_LEN, UploadMetadata},
    error::{Error, Result},
};

/// The upload's description and alt text, validated.
pub(super) fn upload_texts(metadata: &UploadMetadata) -> Result<(Option<String>, Option<String>)> {
    let description = clean_text(metadata.description.clone(), || {
        Error::AssetDescriptionTooLong { max: MAX_TEXT_LEN }
    })?;
    let alt_text = clean_text(metadata.alt_text.clone(), || Error::AssetAltTextTooLong {
        max: MAX_TEXT_LEN,
    })?;
    Ok((description, alt_text))
}

/// Trims text; blank becomes `None`; too long is an error.
pub(super) fn clean_text(
    value: Option<String>,
    too_long: impl FnOnce() -> Error,
) -> Result<Option<String>> {
    let Some(text) = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    if text.chars().count() > MAX_TEXT_LEN {
        return Err(too_long());
    }
    Ok(Some(text))
}

/// The display name of an upload: the last path segment of what the client
/// sent, without control characters, shortened to the limit. Never used in keys.
pub(super) fn upload_file_name(name: Option<&str>, extension: &str) -> String {
    let name = name.unwrap_or_default();
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME_LEN)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        format!("upload.{extension}")
    } else {
        cleaned.to_string()
    }
}

/// A renamed file: unlike uploads, a bad name is refused rather than
/// repaired (clearing the name is a `null`, not a blank).
pub(super) fn patched_file_name(name: &str) -> Result<String> {
    let invalid = || Error::AssetOriginalFileNameInvalid {
        max: MAX_FILE_NAME_LEN,
    };
    let name = Some(name.trim())
        .filter(|n| !n.is_empty())
        .ok_or_else(invalid)?;
    if name.chars().count() > MAX_FILE_NAME_LEN || name.chars().any(char::is_control) {
        return Err(invalid());
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_keep_only_a_clean_last_segment() {
        assert_eq!(upload_file_name(Some("../../etc/passwd"), "png"), "passwd");
        assert_eq!(
            upload_file_name(Some("C:\\photos\\cat.jpg"), "jpg"),
            "cat.jpg"
        );
        assert_eq!(upload_file_name(Some("a\u{0}b.png"), "png"), "ab.png");
        assert_eq!(upload_file_name(None, "gif"), "upload.gif");
        assert_eq!(
            upload_file_name(Some(&"x".repeat(400)), "png").len(),
            MAX_FILE_NAME_LEN
        );
    }

    #[test]
    fn patched_names_are_refused_when_blank_or_odd() {
        assert!(patched_file_name("").is_err());
        assert!(patched_file_name("  ").is_err());
        assert!(patched_file_name("a\nb").is_err());
        assert_eq!(
            patched_file_name(" cat.png ").ok().as_deref(),
            Some("cat.png")
        );
    }
}
