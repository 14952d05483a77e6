//! The in-process server the replication tests share: an S3 listener with `OstorServer`
//! mounted, over SQLite in a temporary directory, with a root (system) user.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use depot_domain::Email;
use depot_engine::{Engine, EngineConfig};
use depot_ostor::{OstorClient, OstorServer};
use depot_store::{Addressing, S3Service, StoreConfig};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

pub(crate) const ROOT_KEY: &str = "ROOTACCESSKEY0000000";
pub(crate) const ROOT_SECRET: &str = "rootsecretrootsecretrootsecretrootsecret";

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) engine: Engine,
    _dir: tempfile::TempDir,
}

impl Server {
    pub(crate) async fn start() -> Server {
        let dir = tempfile::tempdir().expect("temporary directory");
        let engine = Engine::open(EngineConfig::embedded(dir.path()))
            .await
            .expect("engine");
        engine
            .ensure_root_user(
                &"root@depot.test".parse::<Email>().expect("email"),
                Some((ROOT_KEY, ROOT_SECRET)),
            )
            .await
            .expect("root user");
        let service = S3Service::new(
            engine.clone(),
            StoreConfig {
                addressing: Addressing { domains: vec![] },
                region: "us-east-1".into(),
            },
        )
        .with_admin(Arc::new(OstorServer::new(engine.clone())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listener");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let service = service.clone();
                tokio::spawn(async move {
                    let handler = hyper::service::service_fn(move |request| {
                        let service = service.clone();
                        async move { Ok::<_, std::convert::Infallible>(service.handle(request).await) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), handler)
                        .await;
                });
            }
        });
        Server {
            addr,
            engine,
            _dir: dir,
        }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn client(&self, key: &str, secret: &str) -> OstorClient {
        OstorClient::new(&self.endpoint(), key, secret).expect("client")
    }

    pub(crate) fn root(&self) -> OstorClient {
        self.client(ROOT_KEY, ROOT_SECRET)
    }
}
