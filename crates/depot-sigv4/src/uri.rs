//! URI encoding as SigV4 defines it: the canonical path under S3 or generic AWS rules, and the
//! canonical query string.

use std::borrow::Cow;

use percent_encoding::{
    AsciiSet, NON_ALPHANUMERIC, percent_decode, percent_decode_str, percent_encode,
    utf8_percent_encode,
};

/// Everything but the unreserved characters `A-Z a-z 0-9 - . _ ~` is percent-encoded, as
/// "UriEncode" in the SigV4 documentation says.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The same set, but `/` stays as it is: used for paths.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// How the canonical URI is derived from the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UriRules {
    /// Remove dot segments and empty segments (RFC 3986 §5.2.4) before encoding.
    pub normalize_path: bool,
    /// Percent-encode the path, which is already encoded on the request line, once more.
    pub double_encode: bool,
}

impl UriRules {
    /// Amazon S3: the path is used exactly as sent — no dot-segment removal, no second encoding.
    /// A key such as `a/../b` or `a//b` names a distinct object, so it must not be normalised.
    pub const S3: Self = Self {
        normalize_path: false,
        double_encode: false,
    };

    /// Every other AWS service: remove dot segments and empty segments, then encode the
    /// (already encoded) path once more.
    pub const GENERIC: Self = Self {
        normalize_path: true,
        double_encode: true,
    };
}

impl Default for UriRules {
    fn default() -> Self {
        Self::S3
    }
}

/// Percent-encodes `text` with the SigV4 "UriEncode" function (everything but unreserved
/// characters; `%XX` in upper case).
pub fn uri_encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// Percent-encodes a path: like [`uri_encode`] but keeps `/`.
pub fn uri_encode_path(path: &str) -> String {
    utf8_percent_encode(path, UNRESERVED_AND_SLASH).to_string()
}

/// The canonical URI of a raw request path (as it appears on the request line).
pub fn canonical_uri(raw_path: &str, rules: UriRules) -> Cow<'_, str> {
    let path = if rules.normalize_path {
        normalize_path(raw_path)
    } else if raw_path.is_empty() {
        Cow::Borrowed("/")
    } else {
        Cow::Borrowed(raw_path)
    };
    if rules.double_encode {
        Cow::Owned(uri_encode_path(&path))
    } else {
        path
    }
}

/// RFC 3986 §5.2.4 dot-segment removal, also dropping empty segments, as SigV4 specifies for
/// services other than S3.
fn normalize_path(path: &str) -> Cow<'_, str> {
    if path.is_empty() {
        return Cow::Borrowed("/");
    }
    if path.starts_with('/')
        && !path.contains("//")
        && !path.split('/').any(|s| s == "." || s == "..")
    {
        return Cow::Borrowed(path);
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    let ends_in_directory = ["/", "/.", "/.."].iter().any(|end| path.ends_with(end));
    if out.is_empty() || (ends_in_directory && !out.ends_with('/')) {
        out.push('/');
    }
    Cow::Owned(out)
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte,
/// invalid UTF-8 is replaced. This is how AWS reads query parameters before re-encoding them.
pub fn form_decode(component: &str) -> Cow<'_, str> {
    if !component.contains(['+', '%']) {
        return Cow::Borrowed(component);
    }
    let spaced = component.replace('+', " ");
    Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
}

/// The decoded `(name, value)` pairs of a raw query string, in order, empty pairs skipped.
pub fn query_pairs(raw_query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(name), form_decode(value))
        })
}

/// The decoded `(name, value)` pairs of a raw query string as bytes, exactly: invalid UTF-8
/// is kept as it is, so that two different queries never share a canonical form.
pub fn query_pairs_raw(raw_query: &str) -> impl Iterator<Item = (Cow<'_, [u8]>, Cow<'_, [u8]>)> {
    fn decode(component: &str) -> Cow<'_, [u8]> {
        if !component.contains(['+', '%']) {
            return Cow::Borrowed(component.as_bytes());
        }
        let spaced = component.replace('+', " ");
        Cow::Owned(percent_decode(spaced.as_bytes()).collect())
    }
    raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
}

/// The canonical query string: every decoded pair re-encoded with [`uri_encode`], sorted by
/// name then value, joined with `&`. Pairs whose decoded name `skip` answers true for are left
/// out (a presigned URL's own `X-Amz-Signature`).
pub fn canonical_query<N, V>(
    pairs: impl IntoIterator<Item = (N, V)>,
    skip: impl Fn(&[u8]) -> bool,
) -> String
where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let mut encoded: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(name, _)| !skip(name.as_ref()))
        .map(|(name, value)| {
            (
                percent_encode(name.as_ref(), UNRESERVED).to_string(),
                percent_encode(value.as_ref(), UNRESERVED).to_string(),
            )
        })
        .collect();
    encoded.sort_unstable();
    let mut out = String::new();
    for (i, (name, value)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(
            uri_encode("aZ9-._~ /+=&%é"),
            "aZ9-._~%20%2F%2B%3D%26%25%C3%A9"
        );
        assert_eq!(uri_encode_path("/a b/c"), "/a%20b/c");
    }

    #[test]
    fn s3_paths_are_taken_verbatim() {
        assert_eq!(canonical_uri("/b/a/../c//d", UriRules::S3), "/b/a/../c//d");
        assert_eq!(canonical_uri("/b/a%20c", UriRules::S3), "/b/a%20c");
        assert_eq!(canonical_uri("", UriRules::S3), "/");
    }

    #[test]
    fn generic_paths_are_normalised_and_encoded_again() {
        for (raw, canonical) in [
            ("", "/"),
            ("/", "/"),
            ("/example/..", "/"),
            ("/example/../..", "/"),
            ("/./", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/a/b/.", "/a/b/"),
            ("/a%3Db", "/a%253Db"),
            ("/example space/", "/example%20space/"),
        ] {
            assert_eq!(canonical_uri(raw, UriRules::GENERIC), canonical, "{raw}");
        }
    }

    #[test]
    fn query_is_decoded_sorted_and_reencoded() {
        let query = "b=2&a=1&a=0&c&d=&e=%2F+x&&Param-3=Value3";
        let canonical = canonical_query(query_pairs_raw(query), |_| false);
        assert_eq!(canonical, "Param-3=Value3&a=0&a=1&b=2&c=&d=&e=%2F%20x");
        let without_b = canonical_query(query_pairs_raw(query), |name| name == b"b");
        assert!(!without_b.contains("b=2"));
        // Invalid UTF-8 stays distinct.
        assert_ne!(
            canonical_query(query_pairs_raw("p=%FF"), |_| false),
            canonical_query(query_pairs_raw("p=%FE"), |_| false)
        );
    }
}
