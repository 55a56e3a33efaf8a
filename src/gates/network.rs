//! The network gates reach: HTTP/1.1 over reqwest, HTTPS with rustls and the system's
//! certificate roots, through the environment's proxies (`proxy.rs`). Blocking calls for
//! the gate's thread, run on the caller's tokio runtime. Every request passes the gate
//! network policy (`policy.rs`): its URL and the URL of every redirect it follows
//! (`redirect.rs`) before it is sent, and every address a name resolves to before a
//! connection is made (so a name cannot lead to the metadata address); through a proxy,
//! which resolves the name itself, the target's addresses are checked first.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::host::{HttpAnswer, HttpClient, HttpFailure, HttpRequest};
use super::policy::Policy;
use super::proxy::Proxies;
pub use super::proxy::ProxyEnv;
use super::redirect::{self, MAX_REDIRECTS};

/// Bodies larger than this are cut (a gate reads health pages, not downloads).
const MAX_BODY: usize = 1024 * 1024;

const USER_AGENT: &str = concat!("ferry/", env!("CARGO_PKG_VERSION"));

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The system's resolver, keeping only the addresses the policy allows; a name that has
/// none is refused with the policy's reason (an `HttpFailure` inside reqwest's error).
#[derive(Clone)]
struct Resolver {
    allow_link_local: bool,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(allowed_addresses(name.as_str().to_owned(), self.allow_link_local))
    }
}

async fn allowed_addresses(
    host: String,
    allow_link_local: bool,
) -> Result<reqwest::dns::Addrs, BoxError> {
    let policy = Policy::new([], &[], allow_link_local);
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
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
    if let (true, Some(why)) = (allowed.is_empty(), refused) {
        let error: BoxError = Box::new(why);
        return Err(error);
    }
    let addresses: reqwest::dns::Addrs = Box::new(allowed.into_iter());
    Ok(addresses)
}

/// Why the gates' HTTP client cannot be set up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    /// Building the client fails only in setting up TLS, which reads the system's roots.
    #[error("cannot read the system's certificate roots: {0}")]
    Roots(String),
    #[error(
        "`{variable}` (or `{}`) is {reason}: `{value}`; set it to http://HOST:PORT or unset it",
        .variable.to_ascii_lowercase()
    )]
    Proxy { variable: &'static str, value: String, reason: &'static str },
}

/// HTTP for gates on a tokio runtime. One request is one exchange: a redirect is answered
/// as it comes, and `Guarded` follows it.
pub struct Network {
    runtime: tokio::runtime::Handle,
    client: reqwest::Client,
    proxies: Arc<Proxies>,
    allow_link_local: bool,
}

impl Network {
    /// A client on `runtime` whose connections never reach a reserved address unless
    /// `allow_link_local`, through the proxies of the process's environment; the error
    /// says why HTTPS or a proxy could not be set up.
    pub fn new(
        runtime: tokio::runtime::Handle,
        allow_link_local: bool,
    ) -> Result<Self, NetworkError> {
        Self::with_proxies(runtime, allow_link_local, ProxyEnv::from_process())
    }

    /// The same, through the proxies `proxies` names.
    pub fn with_proxies(
        runtime: tokio::runtime::Handle,
        allow_link_local: bool,
        proxies: ProxyEnv,
    ) -> Result<Self, NetworkError> {
        let proxies = Arc::new(Proxies::new(proxies)?);
        let route = Arc::clone(&proxies);
        // Whatever reqwest starts while it is built starts on the caller's runtime.
        let _entered = runtime.enter();
        let mut builder = reqwest::Client::builder()
            // Not the environment reqwest would read itself: the one given.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Resolver { allow_link_local })
            .user_agent(USER_AGENT);
        if proxies.any() {
            builder = builder.proxy(reqwest::Proxy::custom(move |url| {
                route.proxy_for(url.as_str()).map(str::to_owned)
            }));
        }
        let client = builder.build().map_err(|e| NetworkError::Roots(chain(&e)))?;
        Ok(Self { runtime, client, proxies, allow_link_local })
    }

    /// Whether its connections may reach reserved addresses.
    #[must_use]
    pub fn allows_link_local(&self) -> bool {
        self.allow_link_local
    }

    fn build(&self, request: &HttpRequest) -> Result<reqwest::Request, HttpFailure> {
        let invalid = |e: &dyn std::error::Error| {
            HttpFailure::Failed(format!("not a valid request: {}", chain(e)))
        };
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| invalid(&e))?;
        let bodiless = matches!(method, reqwest::Method::GET | reqwest::Method::HEAD);
        let mut builder = self.client.request(method, request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !(bodiless && request.body.is_empty()) {
            builder = builder.body(request.body.clone());
        }
        builder.build().map_err(|e| invalid(&e.without_url()))
    }

    /// Through a proxy ferry cannot see the address the proxy connects to: the target's
    /// `host` is resolved here too, and refused when any of its addresses is one the
    /// policy forbids. A name that does not resolve here is left to the proxy.
    async fn check_behind_proxy(&self, host: &str) -> Result<(), HttpFailure> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let policy = Policy::new([], &[], self.allow_link_local);
        if let Ok(ip) = host.parse::<IpAddr>() {
            return policy.address(host, ip);
        }
        match tokio::net::lookup_host((host, 0)).await {
            Ok(found) => found.map(|a| a.ip()).try_for_each(|ip| policy.address(host, ip)),
            Err(_) => Ok(()),
        }
    }
}

/// An error and its sources, `: `-separated.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}

/// What a failed exchange says: the policy's refusal when the resolver refused the name,
/// else the error and its sources.
fn failure(error: &reqwest::Error) -> HttpFailure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(inner) = source {
        if let Some(refused) = inner.downcast_ref::<HttpFailure>() {
            return refused.clone();
        }
        source = inner.source();
    }
    HttpFailure::Failed(chain(error))
}

/// At most `MAX_BODY` bytes of the body; the rest is not read.
async fn capped_body(response: &mut reqwest::Response) -> Result<Vec<u8>, HttpFailure> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| HttpFailure::Failed(format!("reading the body: {}", chain(&e))))?
    {
        let room = MAX_BODY - body.len();
        if chunk.len() >= room {
            body.extend_from_slice(&chunk[..room]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl HttpClient for Network {
    fn send(&self, request: &HttpRequest, timeout: Duration) -> Result<HttpAnswer, HttpFailure> {
        let http_request = self.build(request)?;
        // The URL as it is sent decides, as it does for reqwest's own proxy choice.
        let url = http_request.url();
        let proxied_host =
            self.proxies.proxy_for(url.as_str()).and(url.host_str()).map(str::to_owned);
        let started = Instant::now();
        self.runtime.block_on(async {
            let exchange = async {
                if let Some(host) = &proxied_host {
                    self.check_behind_proxy(host).await?;
                }
                let mut response = self
                    .client
                    .execute(http_request)
                    .await
                    .map_err(|e| failure(&e.without_url()))?;
                let status = response.status().as_u16();
                let headers = response
                    .headers()
                    .iter()
                    .map(|(n, v)| {
                        (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned())
                    })
                    .collect();
                let body = capped_body(&mut response).await?;
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

/// The network as one attempt may use it: requests the policy refuses are not sent, and
/// redirects are followed — at most `MAX_REDIRECTS`, each hop's URL passing the policy as
/// the first does — within the request's one timeout.
pub struct Guarded {
    pub network: Arc<dyn HttpClient>,
    pub policy: Policy,
}

impl HttpClient for Guarded {
    fn send(&self, request: &HttpRequest, timeout: Duration) -> Result<HttpAnswer, HttpFailure> {
        let started = Instant::now();
        let mut hop = HttpRequest { url: redirect::normal_url(&request.url), ..request.clone() };
        let mut redirects = 0;
        loop {
            self.policy.request(&hop.url).map_err(|f| at_hop(redirects, &hop.url, f))?;
            let left = timeout.saturating_sub(started.elapsed());
            let mut answer = match self.network.send(&hop, left) {
                Ok(answer) => answer,
                // The request's timeout, whatever hop it ran out on.
                Err(HttpFailure::Timeout { .. }) => {
                    return Err(HttpFailure::Timeout { ms: timeout.as_millis() });
                }
                Err(failure) => return Err(at_hop(redirects, &hop.url, failure)),
            };
            answer.elapsed_ms = started.elapsed().as_millis() as u64;
            let Some(next) = redirect::next(&hop, &answer) else { return Ok(answer) };
            if redirects == MAX_REDIRECTS {
                return Err(HttpFailure::Failed(format!(
                    "too many redirects: gates follow at most {MAX_REDIRECTS}, and `{}` \
                     redirects again, to `{}`",
                    hop.url, next.url
                )));
            }
            redirects += 1;
            hop = next;
        }
    }
}

/// `failure` as met after `redirects` redirects, at `url`: the first request's as it is,
/// a later one's naming its hop.
fn at_hop(redirects: usize, url: &str, failure: HttpFailure) -> HttpFailure {
    if redirects == 0 {
        return failure;
    }
    let named = |why: String| format!("redirect {redirects} to `{url}`: {why}");
    match failure {
        HttpFailure::Refused(why) => HttpFailure::Refused(named(why)),
        HttpFailure::Failed(why) => HttpFailure::Failed(named(why)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use reqwest::dns::Resolve;

    use super::*;

    #[tokio::test]
    async fn the_resolver_keeps_names_off_reserved_addresses() {
        let resolve = |host: &str, allow_link_local: bool| {
            Resolver { allow_link_local }.resolve(host.parse().expect("name"))
        };
        // What `localhost` or any other name resolves to passes unless it is reserved.
        let found: Vec<SocketAddr> =
            resolve("localhost", false).await.expect("localhost").collect();
        assert!(found.iter().all(|a| a.ip().is_loopback()) && !found.is_empty(), "{found:?}");
        for reserved in ["169.254.169.254", "fd00:ec2::254", "fe80::1"] {
            let Err(error) = resolve(reserved, false).await else { panic!("{reserved}") };
            let refused = error.downcast_ref::<HttpFailure>().expect("the policy's refusal");
            assert!(matches!(refused, HttpFailure::Refused(_)), "{reserved}: {refused}");
            assert!(refused.to_string().contains("allow_link_local"), "{refused}");
            assert_eq!(resolve(reserved, true).await.expect(reserved).count(), 1, "{reserved}");
        }
    }

    fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    fn network(proxies: ProxyEnv) -> Arc<dyn HttpClient> {
        let runtime = tokio::runtime::Handle::current();
        Arc::new(Network::with_proxies(runtime, false, proxies).expect("network"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_request_is_never_sent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}/", listener.local_addr().expect("address"));
        let guarded = Guarded {
            network: network(ProxyEnv::default()),
            policy: Policy::new(["http://localhost/"], &[], false),
        };
        let request = get(&url);
        let answer =
            tokio::task::spawn_blocking(move || guarded.send(&request, Duration::from_secs(2)))
                .await
                .expect("join");
        let error = answer.expect_err("refused");
        assert!(error.to_string().contains("does not allow `127.0.0.1`"), "{error}");
        assert!(listener.accept().is_err(), "a connection was made to {url}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_proxy_is_not_asked_for_a_reserved_address() {
        let proxy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        proxy.set_nonblocking(true).expect("nonblocking");
        let address = proxy.local_addr().expect("address");
        let network =
            network(ProxyEnv { http: format!("http://{address}"), ..ProxyEnv::default() });
        let request = get("http://169.254.169.254/latest/meta-data/");
        let answer =
            tokio::task::spawn_blocking(move || network.send(&request, Duration::from_secs(2)))
                .await
                .expect("join");
        let error = answer.expect_err("refused");
        assert!(matches!(error, HttpFailure::Refused(_)), "{error}");
        assert!(error.to_string().contains("allow_link_local"), "{error}");
        assert!(proxy.accept().is_err(), "the proxy at {address} was asked");
    }

    /// A network that answers from a table by URL and records what it was sent.
    #[derive(Default)]
    struct Table {
        answers: BTreeMap<String, (u16, &'static str)>,
        sent: Mutex<Vec<HttpRequest>>,
    }

    impl HttpClient for Table {
        fn send(&self, request: &HttpRequest, _: Duration) -> Result<HttpAnswer, HttpFailure> {
            self.sent.lock().expect("sent").push(request.clone());
            let Some((status, location)) = self.answers.get(&request.url) else {
                return Err(HttpFailure::Failed("connection refused".into()));
            };
            Ok(HttpAnswer {
                status: *status,
                headers: vec![("location".into(), (*location).into())],
                body: String::new(),
                elapsed_ms: 0,
            })
        }
    }

    fn guarded(answers: &[(&str, u16, &'static str)], named: &[&str]) -> (Guarded, Arc<Table>) {
        let table = Arc::new(Table {
            answers: answers.iter().map(|(url, s, l)| ((*url).to_owned(), (*s, *l))).collect(),
            ..Table::default()
        });
        let network: Arc<dyn HttpClient> = Arc::<Table>::clone(&table);
        (Guarded { network, policy: Policy::new(named.iter().copied(), &[], false) }, table)
    }

    #[test]
    fn redirects_are_followed_and_each_hop_passes_the_policy() {
        let (through, table) = guarded(
            &[
                ("http://a.example/old", 301, "/new"),
                ("http://a.example/new", 307, "http://b.example/last"),
                ("http://b.example/last", 200, ""),
            ],
            &["http://a.example/", "http://b.example/"],
        );
        let answer = through.send(&get("http://a.example/old"), Duration::from_secs(1));
        assert_eq!(answer.expect("followed").status, 200);
        let sent: Vec<String> =
            table.sent.lock().expect("sent").iter().map(|r| r.url.clone()).collect();
        assert_eq!(sent, ["http://a.example/old", "http://a.example/new", "http://b.example/last"]);

        // b.example is not named: the second hop is refused, and not sent.
        let (through, table) = guarded(
            &[
                ("http://a.example/", 302, "/next"),
                ("http://a.example/next", 302, "http://b.example/"),
            ],
            &["http://a.example/"],
        );
        let error = through.send(&get("http://a.example/"), Duration::from_secs(1)).expect_err("b");
        let text = error.to_string();
        assert!(matches!(error, HttpFailure::Refused(_)), "{text}");
        assert!(text.starts_with("redirect 2 to `http://b.example/`: "), "{text}");
        assert!(text.contains("does not allow `b.example`"), "{text}");
        assert_eq!(table.sent.lock().expect("sent").len(), 2);

        // A failure on a hop names it; the first request's is as it was.
        let (through, _) = guarded(&[("http://a.example/", 302, "/gone")], &["http://a.example/"]);
        let error = through.send(&get("http://a.example/"), Duration::from_secs(1)).expect_err("x");
        assert_eq!(error.to_string(), "redirect 1 to `http://a.example/gone`: connection refused");
        let error =
            through.send(&get("http://a.example/x"), Duration::from_secs(1)).expect_err("x");
        assert_eq!(error.to_string(), "connection refused");
    }

    #[test]
    fn a_redirect_loop_stops_at_the_limit() {
        let (through, table) =
            guarded(&[("http://a.example/loop", 302, "/loop")], &["http://a.example/"]);
        let error =
            through.send(&get("http://a.example/loop"), Duration::from_secs(1)).expect_err("loop");
        let text = error.to_string();
        assert!(text.starts_with("too many redirects: gates follow at most 5"), "{text}");
        assert_eq!(table.sent.lock().expect("sent").len(), 1 + MAX_REDIRECTS);
    }

    #[test]
    fn the_url_sent_is_the_url_the_policy_checked() {
        // `0xa9fea9fe` is a name to a URI parser and 169.254.169.254 to the URL parser.
        let (through, table) = guarded(&[], &["http://0xa9fea9fe/"]);
        let error =
            through.send(&get("http://0xa9fea9fe/"), Duration::from_secs(1)).expect_err("refused");
        assert!(error.to_string().contains("allow_link_local"), "{error}");
        assert!(table.sent.lock().expect("sent").is_empty());
    }
}
