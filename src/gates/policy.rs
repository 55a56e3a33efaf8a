//! Where gates may send requests (docs/gates.md, "Network policy"): the hosts the
//! `verify` step names — its gates' URLs and URL parameters, and `allow_hosts` — and the
//! addresses of our deployment's tasks; never a link-local or instance-metadata address
//! (169.254.0.0/16, fe80::/10, fd00:ec2::/32) unless `allow_link_local = true`, whatever
//! name leads there. Pure: `network.rs` applies it to every request and every address a
//! name resolves to.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::contract::TaskInfo;
use super::host::HttpFailure;

/// What the gates of one `verify` step may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Host names and addresses, lower case, IPv6 without brackets; `*.example.com`
    /// stands for every name under `example.com`.
    hosts: BTreeSet<String>,
    /// The tasks' published ports (`host`, port) and private addresses, for this attempt.
    endpoints: BTreeSet<(String, u16)>,
    task_hosts: BTreeSet<String>,
    pub allow_link_local: bool,
}

/// Why an address is never reached by default, or `None`.
#[must_use]
pub(crate) fn reserved(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => reserved_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return reserved_v4(v4);
            }
            let segments = v6.segments();
            if segments[0] == 0xfd00 && segments[1] == 0x0ec2 {
                Some("the instance metadata address (fd00:ec2::/32)")
            } else if segments[0] & 0xffc0 == 0xfe80 {
                Some("a link-local address (fe80::/10)")
            } else {
                None
            }
        }
    }
}

fn reserved_v4(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.octets()[..2] == [169, 254] {
        Some(if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(169, 254, 170, 2) {
            "the instance metadata address (169.254.0.0/16)"
        } else {
            "a link-local address (169.254.0.0/16)"
        })
    } else {
        None
    }
}

/// The IPv4 address an IPv6 one carries: mapped (`::ffff:a.b.c.d`), compatible
/// (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    let compatible = s[..6] == [0; 6] && !matches!(s[6], 0);
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4];
    (mapped || compatible || nat64).then_some(tail)
}

/// The host of `url` (`http://` or `https://`), lower case, without brackets or a
/// trailing dot; `None` when it is not such a URL.
#[must_use]
pub(crate) fn url_host(url: &str) -> Option<String> {
    let uri: hyper::Uri = url.trim().parse().ok()?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return None;
    }
    uri.host().map(normal_host)
}

fn normal_host(host: &str) -> String {
    host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase()
}

/// The host of an `allow_hosts` entry: a name, an address, `*.domain`, `host:port` or a
/// URL.
fn entry_host(entry: &str) -> String {
    if let Some(host) = url_host(entry) {
        return host;
    }
    let entry = entry.trim();
    // `host:port`, but not a bare IPv6 address.
    let host = match entry.rsplit_once(':') {
        Some((host, port))
            if port.chars().all(|c| c.is_ascii_digit()) && entry.parse::<IpAddr>().is_err() =>
        {
            host
        }
        _ => entry,
    };
    normal_host(host)
}

/// The host and port of `url`, the port the scheme's when it has none.
fn url_host_port(url: &str) -> Option<(String, u16)> {
    let uri: hyper::Uri = url.trim().parse().ok()?;
    let default = match uri.scheme_str()? {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    Some((normal_host(uri.host()?), uri.port_u16().unwrap_or(default)))
}

impl Policy {
    /// The policy of a `verify` step: the hosts of `urls` (anything else is ignored) and
    /// of `allow_hosts`.
    #[must_use]
    pub fn new<'a>(
        urls: impl IntoIterator<Item = &'a str>,
        allow_hosts: &[String],
        allow_link_local: bool,
    ) -> Self {
        let mut hosts: BTreeSet<String> = urls.into_iter().filter_map(url_host).collect();
        hosts.extend(allow_hosts.iter().map(|entry| entry_host(entry)));
        hosts.remove("");
        Self { hosts, allow_link_local, ..Self::default() }
    }

    /// The same policy for an attempt on these tasks: their published ports
    /// (`host:port`) and their private addresses (any port) are reachable too.
    #[must_use]
    pub fn with_tasks(&self, tasks: &[TaskInfo]) -> Self {
        let mut policy = self.clone();
        policy.endpoints = tasks
            .iter()
            .flat_map(|task| &task.endpoints)
            .filter_map(|e| e.parse::<std::net::SocketAddr>().ok())
            .map(|address| (address.ip().to_string(), address.port()))
            .collect();
        policy.task_hosts = tasks
            .iter()
            .filter(|task| !task.private_ip.is_empty())
            .map(|task| normal_host(&task.private_ip))
            .collect();
        policy
    }

    /// The named hosts (for docs and messages).
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.hosts.iter().map(String::as_str)
    }

    fn names(&self, host: &str, port: u16) -> bool {
        self.hosts.contains(host)
            || self.task_hosts.contains(host)
            || self.endpoints.contains(&(host.to_owned(), port))
            || self.hosts.iter().any(|allowed| {
                allowed.strip_prefix("*.").is_some_and(|domain| {
                    host.strip_suffix(domain).is_some_and(|rest| rest.ends_with('.'))
                })
            })
    }

    /// Whether a request to `url` may be sent; the error names the host and how to allow
    /// it. The addresses a name resolves to are checked by `address`.
    pub fn request(&self, url: &str) -> Result<(), HttpFailure> {
        let Some((host, port)) = url_host_port(url) else {
            return Err(HttpFailure::Refused(format!("`{url}` is not an http:// or https:// URL")));
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            self.address(&host, ip)?;
        }
        if self.names(&host, port) {
            Ok(())
        } else {
            Err(HttpFailure::Refused(format!(
                "the gate network policy does not allow `{host}`: gates reach the hosts the \
                 `verify` step names and its tasks; add \"{host}\" to the step's `allow_hosts`"
            )))
        }
    }

    /// Whether `ip`, which `host` is or resolves to, may be reached.
    pub fn address(&self, host: &str, ip: IpAddr) -> Result<(), HttpFailure> {
        match reserved(ip) {
            Some(what) if !self.allow_link_local => Err(HttpFailure::Refused(format!(
                "the gate network policy does not allow {}{what}: set `allow_link_local = true` \
                 in the `verify` step to reach it",
                if host == ip.to_string() { String::new() } else { format!("`{host}` ({ip}), ") },
            ))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(urls: &[&str], allow: &[&str]) -> Policy {
        let allow: Vec<String> = allow.iter().map(|s| (*s).to_owned()).collect();
        Policy::new(urls.iter().copied(), &allow, false)
    }

    #[test]
    fn the_hosts_the_step_names_are_reachable_and_no_others() {
        let p = policy(&["https://Web.Example.com./health", "not a url", "ftp://x.y/"], &[]);
        assert_eq!(p.hosts().collect::<Vec<_>>(), ["web.example.com"]);
        assert!(p.request("http://web.example.com:8080/other").is_ok());
        let error = p.request("https://evil.example.net/").unwrap_err();
        let error = error.to_string();
        assert!(error.contains("`evil.example.net`") && error.contains("allow_hosts"), "{error}");
        assert!(p.request("file:///etc/passwd").is_err());
    }

    #[test]
    fn allow_hosts_takes_names_ports_urls_and_subdomain_wildcards() {
        let p = policy(&[], &["status.io:443", "https://hooks.example.com/x", "*.internal", "::1"]);
        for url in [
            "https://status.io/",
            "https://hooks.example.com/y",
            "http://a.internal/",
            "http://b.a.internal/",
            "http://[::1]:9/",
        ] {
            assert!(p.request(url).is_ok(), "{url}");
        }
        for url in ["http://internal/", "http://xinternal/", "http://status.io.evil/"] {
            assert!(p.request(url).is_err(), "{url}");
        }
    }

    #[test]
    fn the_tasks_of_the_attempt_are_reachable() {
        let tasks = [
            TaskInfo { endpoints: vec!["127.0.0.1:49153".into()], ..TaskInfo::default() },
            TaskInfo { private_ip: "10.0.1.7".into(), ..TaskInfo::default() },
            TaskInfo { endpoints: vec!["[fd12::5]:80".into()], ..TaskInfo::default() },
        ];
        let p = policy(&[], &[]).with_tasks(&tasks);
        for url in ["http://127.0.0.1:49153/health", "http://10.0.1.7:8080/", "http://[fd12::5]/"] {
            assert!(p.request(url).is_ok(), "{url}");
        }
        // A published port is that port only; another on the same host is not the task's.
        assert!(p.request("http://127.0.0.1:49154/").is_err());
        assert!(policy(&[], &[]).request("http://10.0.1.7/").is_err());
    }

    #[test]
    fn metadata_and_link_local_addresses_are_refused_even_when_named() {
        let named = [
            "http://169.254.169.254/latest/meta-data/",
            "http://169.254.170.2/v2/credentials",
            "http://169.254.1.1/",
            "http://[fd00:ec2::254]/",
            "http://[fe80::1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[64:ff9b::a9fe:a9fe]/",
        ];
        let p = policy(&named, &[]);
        for url in named {
            let error = p.request(url).unwrap_err();
            assert!(error.to_string().contains("allow_link_local"), "{url}: {error}");
        }
        let allowed = Policy::new(named, &[], true);
        for url in named {
            assert!(allowed.request(url).is_ok(), "{url}");
        }
        // Neighbours of the ranges are ordinary addresses.
        for ip in ["169.253.255.255", "169.255.0.0", "fd00:ec3::1", "fec0::1", "::1", "10.0.0.1"] {
            assert_eq!(reserved(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn a_name_that_resolves_to_a_reserved_address_is_refused() {
        let p = policy(&["http://metadata.example/"], &[]);
        assert!(p.request("http://metadata.example/").is_ok());
        let error = p.address("metadata.example", "169.254.169.254".parse().unwrap()).unwrap_err();
        assert!(error.to_string().contains("`metadata.example` (169.254.169.254)"), "{error}");
    }
}
