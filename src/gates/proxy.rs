//! The proxies gates' requests go through: `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and
//! `NO_PROXY` (each also in lower case), read as reqwest and curl read them, from an
//! environment that is given in (`ProxyEnv::from_process` reads the process's, where the
//! network is made). Which requests a proxy takes is decided by hyper-util's matcher — the
//! one reqwest itself reads the environment with — so `NO_PROXY` means here what it means
//! to reqwest and curl.

use hyper_util::client::proxy::matcher::Matcher;

use super::network::NetworkError;

/// The proxy settings of an environment; empty strings are unset.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    /// `ALL_PROXY`: the proxy of both schemes, unless the scheme's own is set.
    pub all: String,
    /// `HTTP_PROXY`: the proxy of `http://` URLs (it is sent the whole URL).
    pub http: String,
    /// `HTTPS_PROXY`: the proxy of `https://` URLs (a `CONNECT` tunnel; TLS is ferry's).
    pub https: String,
    /// `NO_PROXY`: the hosts asked directly — comma-separated names (each also stands for
    /// the names under it; a leading dot changes nothing), addresses, `addr/bits` blocks,
    /// or `*` for every host.
    pub no: String,
}

impl ProxyEnv {
    /// The process's environment.
    #[must_use]
    pub fn from_process() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The settings `var` gives: each upper-case name first, then its lower-case form, as
    /// reqwest reads them. None under CGI (`REQUEST_METHOD` set), where `HTTP_PROXY` can
    /// come from a request's `Proxy` header ("httpoxy").
    #[must_use]
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        if var("REQUEST_METHOD").is_some() {
            return Self::default();
        }
        let first =
            |name: &str| var(name).or_else(|| var(&name.to_ascii_lowercase())).unwrap_or_default();
        Self {
            all: first("ALL_PROXY"),
            http: first("HTTP_PROXY"),
            https: first("HTTPS_PROXY"),
            no: first("NO_PROXY"),
        }
    }
}

/// Proxy URLs may carry a user and password: never shown.
impl std::fmt::Debug for ProxyEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyEnv")
            .field("all", &redacted(&self.all))
            .field("http", &redacted(&self.http))
            .field("https", &redacted(&self.https))
            .field("no", &self.no)
            .finish()
    }
}

/// `url` with the user and password of its authority replaced by `***`.
fn redacted(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_owned(),
    }
}

/// Which requests go through which proxy.
pub(crate) struct Proxies {
    env: ProxyEnv,
    matcher: Matcher,
}

impl Proxies {
    /// The proxies of `env`; a proxy that is not an `http://` or `https://` URL (`host:port`
    /// is taken as `http://host:port`, as curl does) is refused rather than skipped.
    pub(crate) fn new(env: ProxyEnv) -> Result<Self, NetworkError> {
        for (variable, value) in
            [("ALL_PROXY", &env.all), ("HTTP_PROXY", &env.http), ("HTTPS_PROXY", &env.https)]
        {
            if let Err(reason) = check(value) {
                return Err(NetworkError::Proxy { variable, value: redacted(value), reason });
            }
        }
        let matcher =
            Matcher::builder().all(&env.all).http(&env.http).https(&env.https).no(&env.no).build();
        Ok(Self { env, matcher })
    }

    /// Whether any proxy is set.
    pub(crate) fn any(&self) -> bool {
        [&self.env.all, &self.env.http, &self.env.https].iter().any(|value| !value.is_empty())
    }

    /// The proxy a request to `url` goes through, as the environment writes it (with its
    /// credentials), or `None` when it is sent directly.
    pub(crate) fn proxy_for(&self, url: &str) -> Option<&str> {
        let uri: hyper::Uri = url.parse().ok()?;
        self.matcher.intercept(&uri)?;
        let own = match uri.scheme_str()? {
            "http" => &self.env.http,
            "https" => &self.env.https,
            _ => return None,
        };
        Some(if own.is_empty() { &self.env.all } else { own })
    }
}

/// Why `value` cannot be a proxy for gates, if it cannot (an empty value is no proxy).
fn check(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Ok(());
    }
    let probe = hyper::Uri::from_static("http://example.com/");
    let matched = Matcher::builder().all(value).build().intercept(&probe);
    match matched.as_ref().and_then(|proxy| proxy.uri().scheme_str()) {
        Some("http" | "https") if reqwest::Proxy::all(value).is_ok() => Ok(()),
        Some(scheme) if scheme.starts_with("socks") => Err("a SOCKS proxy, which gates do not use"),
        _ => Err("not an http:// or https:// proxy URL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> ProxyEnv {
        ProxyEnv::from_vars(|name| {
            vars.iter().find(|(n, _)| *n == name).map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn the_upper_case_name_wins_and_cgi_reads_none() {
        let read = env(&[
            ("HTTP_PROXY", "http://upper:1"),
            ("http_proxy", "http://lower:1"),
            ("https_proxy", "http://lower:2"),
            ("no_proxy", "internal"),
        ]);
        assert_eq!(read.http, "http://upper:1");
        assert_eq!(read.https, "http://lower:2");
        assert_eq!((read.all.as_str(), read.no.as_str()), ("", "internal"));
        let cgi = env(&[("HTTP_PROXY", "http://from-a-header:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(cgi, ProxyEnv::default());
    }

    #[test]
    fn no_proxy_hosts_are_asked_directly_and_each_scheme_has_its_proxy() {
        let proxies = Proxies::new(env(&[
            ("HTTP_PROXY", "http://web-proxy:3128"),
            ("ALL_PROXY", "http://all:8080"),
            ("NO_PROXY", "internal.example, .corp, 10.0.0.0/8, ::1"),
        ]))
        .expect("proxies");
        assert!(proxies.any());
        let cases = [
            ("http://status.example.com/health", Some("http://web-proxy:3128")),
            ("https://status.example.com/", Some("http://all:8080")),
            ("http://internal.example/", None),
            ("http://a.internal.example/", None),
            ("http://notinternal.example/", Some("http://web-proxy:3128")),
            ("https://x.corp/", None),
            ("http://corp/", None),
            ("http://10.1.2.3:8080/", None),
            ("http://11.1.2.3/", Some("http://web-proxy:3128")),
            ("http://[::1]:9/", None),
        ];
        for (url, proxy) in cases {
            assert_eq!(proxies.proxy_for(url), proxy, "{url}");
        }
        let none = Proxies::new(ProxyEnv::default()).expect("none");
        assert!(!none.any());
        assert_eq!(none.proxy_for("http://status.example.com/"), None);
        let every = Proxies::new(env(&[("https_proxy", "p:1"), ("no_proxy", "*")])).expect("*");
        assert_eq!(every.proxy_for("https://status.example.com/"), None);
    }

    #[test]
    fn a_proxy_that_cannot_be_used_is_refused_without_its_password() {
        let proxies = Proxies::new(env(&[("HTTPS_PROXY", "proxy.corp:3128")])).expect("no scheme");
        assert_eq!(proxies.proxy_for("https://a.example/"), Some("proxy.corp:3128"));
        let Err(error) = Proxies::new(env(&[("ALL_PROXY", "socks5://u:secret@proxy:1080")])) else {
            panic!("a SOCKS proxy is not used");
        };
        let error = error.to_string();
        assert!(error.contains("`ALL_PROXY`") && error.contains("SOCKS"), "{error}");
        assert!(error.contains("socks5://***@proxy:1080") && !error.contains("secret"), "{error}");
        let read = env(&[("HTTP_PROXY", "http://user:secret@proxy:3128/")]);
        assert!(!format!("{read:?}").contains("secret"), "{read:?}");
        assert_eq!(redacted("http://proxy:3128"), "http://proxy:3128");
    }
}
