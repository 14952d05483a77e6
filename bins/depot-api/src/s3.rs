//! Placeholder for the S3 data plane. **Replaced when the data plane (`depot-store`) lands.**
//!
//! Until then every request on the S3 listener gets a well-formed S3 `NotImplemented` error,
//! so S3 clients report a clear failure instead of hanging or misreading an empty reply.

use base64::Engine as _;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tracing::debug;

const X_AMZ_REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");
const X_AMZ_ID_2: HeaderName = HeaderName::from_static("x-amz-id-2");

/// Answers any S3 request with `501 NotImplemented`, in the shape AWS documents for S3 error
/// responses (Error Responses, "REST Error Responses").
pub(crate) fn not_implemented<B>(request: &Request<B>) -> Response<Full<Bytes>> {
    // 16 uppercase hex digits, the shape of AWS request ids; 64 random bits keep them unique
    // enough to find one request in the logs.
    let request_id = format!("{:016X}", rand::random::<u64>());
    // AWS's extended request id is an opaque base64 token; clients only echo it back.
    let id_2 = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    let resource = request.uri().path();
    debug!(method = %request.method(), resource, request_id, "S3 request not implemented yet");

    // HEAD responses carry headers only (RFC 9110 §9.3.2); S3 clients read the status.
    let body = if request.method() == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(error_xml(
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            resource,
            &request_id,
        ))
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::NOT_IMPLEMENTED;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    // Both ids are ASCII by construction, so these conversions cannot fail; should one ever,
    // the header is left out rather than the error response lost.
    if let Ok(value) = HeaderValue::try_from(request_id) {
        headers.insert(X_AMZ_REQUEST_ID, value);
    }
    if let Ok(value) = HeaderValue::try_from(id_2) {
        headers.insert(X_AMZ_ID_2, value);
    }
    response
}

/// Renders an S3 error document.
fn error_xml(code: &str, message: &str, resource: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>\
         <Resource>{}</Resource><RequestId>{}</RequestId></Error>",
        escape(code),
        escape(message),
        escape(resource),
        escape(request_id),
    )
}

/// Escapes text for XML character data and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    fn request(method: Method, uri: &str) -> Request<()> {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(())
            .expect("test request")
    }

    #[tokio::test]
    async fn error_document() {
        let response = not_implemented(&request(Method::GET, "/bucket/a%20key?acl"));
        assert_eq!(response.status(), StatusCode::NOT_IMPLEMENTED);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/xml");
        let id = response.headers()[X_AMZ_REQUEST_ID]
            .to_str()
            .expect("ascii id")
            .to_owned();
        assert_eq!(id.len(), 16);
        assert!(
            id.chars().all(|c| matches!(c, '0'..='9' | 'A'..='F')),
            "{id}"
        );
        assert!(!response.headers()[X_AMZ_ID_2].is_empty());
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(
            body,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NotImplemented</Code>\
                 <Message>A header you provided implies functionality that is not implemented\
                 </Message><Resource>/bucket/a%20key</Resource><RequestId>{id}</RequestId></Error>"
            )
        );
    }

    #[test]
    fn request_ids_differ() {
        let a = not_implemented(&request(Method::GET, "/"));
        let b = not_implemented(&request(Method::GET, "/"));
        assert_ne!(a.headers()[X_AMZ_REQUEST_ID], b.headers()[X_AMZ_REQUEST_ID]);
    }

    #[tokio::test]
    async fn head_has_no_body() {
        let response = not_implemented(&request(Method::HEAD, "/bucket/key"));
        assert_eq!(response.status(), StatusCode::NOT_IMPLEMENTED);
        assert!(response.headers().contains_key(X_AMZ_REQUEST_ID));
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert!(body.is_empty());
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"/a&b<c>"d'"#), "/a&amp;b&lt;c&gt;&quot;d&apos;");
        assert!(error_xml("C", "M", "/<x>", "1").contains("<Resource>/&lt;x&gt;</Resource>"));
    }
}
