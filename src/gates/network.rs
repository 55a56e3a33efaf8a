//! The network gates reach: HTTP/1.1 over hyper, HTTPS with the system's roots (rustls).
//! Blocking calls for the gate's thread, run on the caller's tokio runtime.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use super::host::{HttpAnswer, HttpClient, HttpRequest};

/// Bodies larger than this are cut (a gate reads health pages, not downloads).
const MAX_BODY: usize = 1024 * 1024;

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// HTTP for gates on a tokio runtime.
pub struct Network {
    runtime: tokio::runtime::Handle,
    client: hyper_util::client::legacy::Client<Connector, Full<Bytes>>,
}

impl Network {
    /// A client on `runtime`; the error says why HTTPS could not be set up.
    pub fn new(runtime: tokio::runtime::Handle) -> Result<Self, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("cannot read the system's certificate roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Ok(Self { runtime, client })
    }
}

impl HttpClient for Network {
    fn send(&self, request: &HttpRequest, timeout: Duration) -> Result<HttpAnswer, String> {
        let mut builder = hyper::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str())
            .header("user-agent", concat!("ferry/", env!("CARGO_PKG_VERSION")));
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let http_request = builder
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| format!("not a valid request: {e}"))?;
        let started = Instant::now();
        self.runtime.block_on(async {
            let exchange = async {
                let response = self.client.request(http_request).await.map_err(|e| {
                    let mut text = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(inner) = source {
                        text = format!("{text}: {inner}");
                        source = inner.source();
                    }
                    text
                })?;
                let status = response.status().as_u16();
                let headers = response
                    .headers()
                    .iter()
                    .map(|(n, v)| {
                        (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned())
                    })
                    .collect();
                let body = http_body_util::Limited::new(response.into_body(), MAX_BODY)
                    .collect()
                    .await
                    .map_err(|e| format!("reading the body: {e}"))?
                    .to_bytes();
                Ok(HttpAnswer {
                    status,
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                    elapsed_ms: started.elapsed().as_millis() as u64,
                })
            };
            match tokio::time::timeout(timeout, exchange).await {
                Ok(answer) => answer,
                Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
            }
        })
    }
}
