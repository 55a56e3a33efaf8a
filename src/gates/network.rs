//! The network gates reach: HTTP/1.1 over hyper, HTTPS with the system's roots (rustls).
//! Blocking calls for the gate's thread, run on the caller's tokio runtime. Every request
//! passes the gate network policy (`policy.rs`): its URL before it is sent, and every
//! address a name resolves to before a connection is made (so a name cannot lead to the
//! metadata address).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;

use super::host::{HttpAnswer, HttpClient, HttpFailure, HttpRequest};
use super::policy::Policy;

/// Bodies larger than this are cut (a gate reads health pages, not downloads).
const MAX_BODY: usize = 1024 * 1024;

type Connector = hyper_rustls::HttpsConnector<HttpConnector<Resolver>>;

/// The system's resolver, keeping only the addresses the policy allows.
#[derive(Clone)]
struct Resolver {
    allow_link_local: bool,
}

type Resolving =
    Pin<Box<dyn Future<Output = std::io::Result<std::vec::IntoIter<SocketAddr>>> + Send>>;

impl tower_service::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = Policy::new([], &[], self.allow_link_local);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|address| match policy.address(&host, address.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refused.get_or_insert(why);
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), refused) {
                (true, Some(why)) => {
                    Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, why))
                }
                _ => Ok(allowed.into_iter()),
            }
        })
    }
}

/// Why the gates' HTTP client cannot be set up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    #[error("cannot read the system's certificate roots: {0}")]
    Roots(String),
}

/// HTTP for gates on a tokio runtime.
pub struct Network {
    runtime: tokio::runtime::Handle,
    client: hyper_util::client::legacy::Client<Connector, Full<Bytes>>,
    allow_link_local: bool,
}

impl Network {
    /// A client on `runtime` whose connections never reach a reserved address unless
    /// `allow_link_local`; the error says why HTTPS could not be set up.
    pub fn new(
        runtime: tokio::runtime::Handle,
        allow_link_local: bool,
    ) -> Result<Self, NetworkError> {
        let mut http = HttpConnector::new_with_resolver(Resolver { allow_link_local });
        // The HTTPS connector decides the scheme.
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| NetworkError::Roots(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Ok(Self { runtime, client, allow_link_local })
    }

    /// Whether its connections may reach reserved addresses.
    #[must_use]
    pub fn allows_link_local(&self) -> bool {
        self.allow_link_local
    }
}

/// The network as one attempt may use it: requests the policy refuses are not sent.
pub struct Guarded {
    pub network: Arc<dyn HttpClient>,
    pub policy: Policy,
}

impl HttpClient for Guarded {
    fn send(&self, request: &HttpRequest, timeout: Duration) -> Result<HttpAnswer, HttpFailure> {
        self.policy.request(&request.url)?;
        self.network.send(request, timeout)
    }
}

impl HttpClient for Network {
    fn send(&self, request: &HttpRequest, timeout: Duration) -> Result<HttpAnswer, HttpFailure> {
        let mut builder = hyper::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str())
            .header("user-agent", concat!("ferry/", env!("CARGO_PKG_VERSION")));
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let http_request = builder
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| HttpFailure::Failed(format!("not a valid request: {e}")))?;
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
                    HttpFailure::Failed(text)
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
                    .map_err(|e| HttpFailure::Failed(format!("reading the body: {e}")))?
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
                Err(_) => Err(HttpFailure::Timeout { ms: timeout.as_millis() }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_service::Service;

    #[tokio::test]
    async fn the_resolver_keeps_names_off_reserved_addresses() {
        let resolve = |host: &str, allow_link_local: bool| {
            let name: Name = host.parse().expect("name");
            Resolver { allow_link_local }.call(name)
        };
        // What `localhost` or any other name resolves to passes unless it is reserved.
        let found: Vec<SocketAddr> =
            resolve("localhost", false).await.expect("localhost").collect();
        assert!(found.iter().all(|a| a.ip().is_loopback()) && !found.is_empty(), "{found:?}");
        for reserved in ["169.254.169.254", "fd00:ec2::254", "fe80::1"] {
            let error = resolve(reserved, false).await.expect_err(reserved);
            assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied, "{reserved}");
            assert!(error.to_string().contains("allow_link_local"), "{error}");
            assert_eq!(resolve(reserved, true).await.expect(reserved).count(), 1, "{reserved}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_request_is_never_sent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}/", listener.local_addr().expect("address"));
        let network: Arc<dyn HttpClient> =
            Arc::new(Network::new(tokio::runtime::Handle::current(), false).expect("network"));
        let guarded = Guarded { network, policy: Policy::new(["http://localhost/"], &[], false) };
        let request = HttpRequest {
            method: "GET".into(),
            url: url.clone(),
            headers: Vec::new(),
            body: String::new(),
        };
        let answer =
            tokio::task::spawn_blocking(move || guarded.send(&request, Duration::from_secs(2)))
                .await
                .expect("join");
        let error = answer.expect_err("refused");
        assert!(error.to_string().contains("does not allow `127.0.0.1`"), "{error}");
        assert!(listener.accept().is_err(), "a connection was made to {url}");
    }
}
