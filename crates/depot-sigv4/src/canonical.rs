//! The canonical request: the one text both sides derive from an HTTP request and sign.

use std::borrow::Cow;
use std::fmt::Write as _;

use http::HeaderMap;

use crate::SigV4Error;

/// The `host` value a request would carry: the `Host` header, or else the URI's authority
/// without a port that is the scheme's default (HTTP/2 requests carry `:authority` instead).
pub(crate) fn host_of(headers: &HeaderMap, uri: &http::Uri) -> Option<String> {
    if let Some(host) = headers.get(http::header::HOST) {
        return Some(String::from_utf8_lossy(host.as_bytes()).into_owned());
    }
    let authority = uri.authority()?;
    let default_port = matches!(
        (uri.scheme_str(), authority.port_u16()),
        (Some("http"), Some(80)) | (Some("https"), Some(443))
    );
    Some(if default_port {
        authority.host().to_owned()
    } else {
        authority.as_str().to_owned()
    })
}

/// Trims a header value and collapses each run of spaces to one ("Trimall" in the SigV4
/// documentation). Tabs inside a value are kept, as the AWS SDKs keep them.
pub(crate) fn normalize_header_value(value: &[u8]) -> Cow<'_, str> {
    let text = String::from_utf8_lossy(value);
    let trimmed = text.trim_matches([' ', '\t']);
    if !trimmed.contains("  ") && trimmed.len() == text.len() {
        return text;
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut previous_space = false;
    for c in trimmed.chars() {
        if c == ' ' && previous_space {
            continue;
        }
        previous_space = c == ' ';
        out.push(c);
    }
    Cow::Owned(out)
}

/// Builds the canonical request text:
///
/// ```text
/// METHOD\nCANONICAL_URI\nCANONICAL_QUERY\nname:value\n…\n\nsigned;headers\nPAYLOAD_HASH
/// ```
///
/// `signed_headers` are lowercase names in the order the signer listed them; every one must be
/// present in `headers` (or be `host`, answered by `host`). Repeated headers are joined with
/// commas in the order they appear.
pub(crate) fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &HeaderMap,
    host: Option<&str>,
    signed_headers: &[String],
    payload_hash: &str,
) -> Result<String, SigV4Error> {
    let mut text = String::with_capacity(256 + canonical_uri.len() + canonical_query.len());
    text.push_str(method);
    text.push('\n');
    text.push_str(canonical_uri);
    text.push('\n');
    text.push_str(canonical_query);
    text.push('\n');
    for name in signed_headers {
        text.push_str(name);
        text.push(':');
        let mut values = headers.get_all(name.as_str()).iter().peekable();
        if values.peek().is_none() {
            match (name.as_str(), host) {
                ("host", Some(host)) => text.push_str(&normalize_header_value(host.as_bytes())),
                _ => return Err(SigV4Error::MissingSignedHeader(name.clone())),
            }
        }
        let mut first = true;
        for value in values {
            if !first {
                text.push(',');
            }
            first = false;
            // Lossy decoding would map different bytes to the same text, letting a signed value
            // be swapped for another; refuse what is not UTF-8.
            if std::str::from_utf8(value.as_bytes()).is_err() {
                return Err(SigV4Error::MalformedAuthorization(format!(
                    "signed header `{name}` is not UTF-8"
                )));
            }
            text.push_str(&normalize_header_value(value.as_bytes()));
        }
        text.push('\n');
    }
    text.push('\n');
    let _ = write!(text, "{}\n{payload_hash}", signed_headers.join(";"));
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_trimmed_and_spaces_collapsed() {
        assert_eq!(normalize_header_value(b"  a   b  c "), "a b c");
        assert_eq!(normalize_header_value(b"\ta\tb\t"), "a\tb");
        assert_eq!(normalize_header_value(b"plain"), "plain");
    }

    #[test]
    fn missing_signed_header_is_an_error() {
        let headers = HeaderMap::new();
        let err = canonical_request(
            "GET",
            "/",
            "",
            &headers,
            None,
            &["x-amz-date".into()],
            "UNSIGNED-PAYLOAD",
        );
        assert_eq!(
            err,
            Err(SigV4Error::MissingSignedHeader("x-amz-date".into()))
        );
    }

    #[test]
    fn host_comes_from_the_uri_when_no_header_is_set() {
        let headers = HeaderMap::new();
        let uri: http::Uri = "https://example.com:443/a".parse().unwrap();
        assert_eq!(host_of(&headers, &uri).as_deref(), Some("example.com"));
        let uri: http::Uri = "http://127.0.0.1:9000/a".parse().unwrap();
        assert_eq!(host_of(&headers, &uri).as_deref(), Some("127.0.0.1:9000"));
    }
}
