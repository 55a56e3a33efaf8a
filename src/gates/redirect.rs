//! Redirects as gates follow them: an answer 301, 302, 303, 307 or 308 with a `Location`
//! leads to a new request, at most `MAX_REDIRECTS` times; `network.rs` (`Guarded`) sends
//! each through the network policy, as it sends the first. The request changes as
//! browsers, curl and reqwest change it. Pure.

use super::host::{HttpAnswer, HttpRequest};

/// The most redirects one request follows.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// Headers that carry credentials: dropped when a redirect leads to another origin.
const CREDENTIALS: [&str; 5] =
    ["authorization", "cookie", "cookie2", "proxy-authorization", "www-authenticate"];

/// Headers that describe a body: dropped with it when a redirect turns the request into a
/// GET.
const BODY: [&str; 4] = ["content-type", "content-length", "content-encoding", "transfer-encoding"];

/// `url` as the URL parser reqwest sends with writes it, so that the policy checks the URL
/// that is sent (`http://0xa9fea9fe/` is `http://169.254.169.254/`); as given when it does
/// not parse (the policy then says why).
pub(crate) fn normal_url(url: &str) -> String {
    match reqwest::Url::parse(url.trim()) {
        Ok(mut parsed) => {
            parsed.set_fragment(None);
            parsed.into()
        }
        Err(_) => url.to_owned(),
    }
}

/// The request `answer` redirects `request` to, or `None` when it is not a redirect to
/// follow (another status, or no `Location` that makes a URL). A 303 turns it into a GET
/// (but a HEAD), as a 301 or 302 does a POST; 307 and 308 keep its method and body. On
/// another origin (scheme, host or port) its credentials are not sent.
pub(crate) fn next(request: &HttpRequest, answer: &HttpAnswer) -> Option<HttpRequest> {
    if !matches!(answer.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = answer
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("location"))
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())?;
    let from = reqwest::Url::parse(&request.url).ok()?;
    let mut to = from.join(location).ok()?;
    to.set_fragment(None);
    let mut next = request.clone();
    let method = |name: &str| request.method.eq_ignore_ascii_case(name);
    let to_get = match answer.status {
        303 => !method("HEAD"),
        301 | 302 => method("POST"),
        _ => false,
    };
    if to_get {
        "GET".clone_into(&mut next.method);
        next.body.clear();
        next.headers.retain(|(name, _)| !BODY.iter().any(|b| name.eq_ignore_ascii_case(b)));
    }
    if to.origin() != from.origin() {
        next.headers.retain(|(name, _)| !CREDENTIALS.iter().any(|c| name.eq_ignore_ascii_case(c)));
    }
    next.url = to.into();
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, url: &str) -> HttpRequest {
        HttpRequest {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: vec![
                ("Authorization".to_owned(), "Bearer t".to_owned()),
                ("content-type".to_owned(), "application/json".to_owned()),
                ("x-trace".to_owned(), "1".to_owned()),
            ],
            body: "{}".to_owned(),
        }
    }

    fn answer(status: u16, location: &str) -> HttpAnswer {
        HttpAnswer {
            status,
            headers: vec![("location".to_owned(), location.to_owned())],
            body: String::new(),
            elapsed_ms: 1,
        }
    }

    fn names(request: &HttpRequest) -> Vec<&str> {
        request.headers.iter().map(|(name, _)| name.as_str()).collect()
    }

    #[test]
    fn a_location_is_taken_relative_to_the_url_asked() {
        let cases = [
            ("http://a.example/x/y?q=1", "/health", "http://a.example/health"),
            ("http://a.example/x/y", "z", "http://a.example/x/z"),
            ("http://a.example:8080/", "//b.example/p", "http://b.example/p"),
            ("http://a.example/", "https://b.example/p#part", "https://b.example/p"),
            ("https://a.example/", "http://169.254.169.254/", "http://169.254.169.254/"),
        ];
        for (url, location, expected) in cases {
            let next = next(&request("GET", url), &answer(302, location)).expect(location);
            assert_eq!(next.url, expected, "{url} + {location}");
        }
    }

    #[test]
    fn only_redirects_with_a_location_are_followed() {
        let get = request("GET", "http://a.example/");
        for status in [200, 300, 304, 305, 404] {
            assert_eq!(next(&get, &answer(status, "/other")), None, "{status}");
        }
        assert_eq!(next(&get, &answer(301, "  ")), None);
        let mut bare = answer(301, "");
        bare.headers.clear();
        assert_eq!(next(&get, &bare), None);
    }

    #[test]
    fn the_method_body_and_credentials_change_as_browsers_change_them() {
        let post = request("POST", "http://a.example/orders");
        for (status, method, body) in
            [(301, "GET", ""), (302, "GET", ""), (303, "GET", ""), (307, "POST", "{}")]
        {
            let next = next(&post, &answer(status, "/moved")).expect("followed");
            assert_eq!((next.method.as_str(), next.body.as_str()), (method, body), "{status}");
            let kept = names(&next).contains(&"content-type");
            assert_eq!(kept, !body.is_empty(), "{status}: {:?}", names(&next));
            assert!(names(&next).contains(&"Authorization"), "same origin keeps credentials");
        }
        let head = next(&request("HEAD", "http://a.example/"), &answer(303, "/x")).expect("head");
        assert_eq!(head.method, "HEAD");
        let get = request("GET", "http://a.example/");
        for other in ["http://b.example/", "https://a.example/", "http://a.example:81/"] {
            let next = next(&get, &answer(308, other)).expect(other);
            assert_eq!(names(&next), ["content-type", "x-trace"], "{other}");
        }
    }

    #[test]
    fn the_url_checked_is_the_url_sent() {
        let cases = [
            ("http://0xa9fea9fe/latest", "http://169.254.169.254/latest"),
            ("http://2852039166/", "http://169.254.169.254/"),
            ("HTTP://Web.Example.com:80/a#b", "http://web.example.com/a"),
            ("not a url", "not a url"),
        ];
        for (given, sent) in cases {
            assert_eq!(normal_url(given), sent, "{given}");
        }
    }
}
