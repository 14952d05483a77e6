//! The control-plane listener's routes. Today the health and readiness checks; the action RPC, REST v1,
//! the console and `/metrics` join it here.

use bytes::Bytes;
use depot_engine::Engine;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use metrics_exporter_prometheus::PrometheusHandle;

/// What the control plane serves from.
#[derive(Clone)]
pub(crate) struct Control {
    pub(crate) engine: Engine,
    pub(crate) metrics: PrometheusHandle,
}

impl Control {
    /// Routes one control-plane request.
    pub(crate) async fn route<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        if (request.method(), request.uri().path()) == (&Method::GET, "/metrics") {
            // What is stored is read at scrape time: the buckets' counters are exact and cheap.
            match self.engine.storage_totals().await {
                Ok(totals) => {
                    metrics::gauge!("depot_buckets").set(totals.buckets as f64);
                    metrics::gauge!("depot_objects_stored").set(totals.objects as f64);
                    metrics::gauge!("depot_bytes_stored").set(totals.bytes as f64);
                }
                Err(error) => tracing::warn!(%error, "reading storage totals for /metrics"),
            }
            let mut response = Response::new(Full::new(Bytes::from(self.metrics.render())));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            return response;
        }
        route(request, &self.engine).await
    }
}

/// Routes one control-plane request that needs only the engine.
async fn route<B>(request: &Request<B>, engine: &Engine) -> Response<Full<Bytes>> {
    match (request.method(), request.uri().path()) {
        // Liveness: the process is up and serving.
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok"),
        // Readiness: the database answers and the data directory takes writes.
        (&Method::GET, "/readyz") => match engine.ping().await {
            Ok(()) => text(StatusCode::OK, "ready"),
            Err(error) => {
                tracing::warn!(%error, "not ready");
                text(StatusCode::SERVICE_UNAVAILABLE, "not ready")
            }
        },
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
    use depot_engine::EngineConfig;
    use http_body_util::BodyExt;

    use super::*;

    async fn get(method: Method, path: &str) -> Response<Full<Bytes>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(EngineConfig::embedded(dir.path()))
            .await
            .expect("engine");
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .expect("test request");
        route(&request, &engine).await
    }

    #[tokio::test]
    async fn healthz_and_readyz() {
        let response = get(Method::GET, "/healthz").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        let body = response.into_body().collect().await.expect("body");
        assert_eq!(body.to_bytes(), "ok");
        assert_eq!(get(Method::GET, "/readyz").await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn everything_else_is_not_found() {
        assert_eq!(get(Method::GET, "/").await.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            get(Method::GET, "/healthz/x").await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get(Method::POST, "/healthz").await.status(),
            StatusCode::NOT_FOUND
        );
    }
}
