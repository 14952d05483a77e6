//! The control-plane listener's routes. Today only the health check; the action RPC, REST v1,
//! the console and `/metrics` join it here.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;

/// Routes one control-plane request.
pub(crate) fn route<B>(request: &Request<B>) -> Response<Full<Bytes>> {
    match (request.method(), request.uri().path()) {
        // Liveness only: the process is up and serving. Readiness (database reachable) comes
        // with the database.
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok"),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    fn get(method: Method, path: &str) -> Response<Full<Bytes>> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .expect("test request");
        route(&request)
    }

    #[tokio::test]
    async fn healthz() {
        let response = get(Method::GET, "/healthz");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        let body = response.into_body().collect().await.expect("body");
        assert_eq!(body.to_bytes(), "ok");
    }

    #[test]
    fn everything_else_is_not_found() {
        assert_eq!(get(Method::GET, "/").status(), StatusCode::NOT_FOUND);
        assert_eq!(
            get(Method::GET, "/healthz/x").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get(Method::POST, "/healthz").status(),
            StatusCode::NOT_FOUND
        );
    }
}
