//! `http::get(url)`, `http::get(url, options)`, `http::post(url, body)`,
//! `http::post(url, body, options)` → `#{ status, headers, body, elapsed_ms }`. Options:
//! `#{ headers: #{…}, timeout_ms: 5000 }` (default 10 s, never past the call's deadline).
//! A request that gets no answer (refused, timed out) throws: the attempt fails with that
//! message, unless the script catches it.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Dynamic, EvalAltResult, ImmutableString, Map, Module, Position};

use super::{HttpAnswer, HttpClient, HttpRequest};
use crate::gates::sandbox::Deadline;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn answer_map(answer: HttpAnswer) -> Map {
    let mut headers = Map::new();
    for (name, value) in answer.headers {
        headers.insert(name.to_ascii_lowercase().into(), value.into());
    }
    let mut map = Map::new();
    map.insert("status".into(), Dynamic::from(i64::from(answer.status)));
    map.insert("headers".into(), headers.into());
    map.insert("body".into(), answer.body.into());
    map.insert(
        "elapsed_ms".into(),
        Dynamic::from(i64::try_from(answer.elapsed_ms).unwrap_or(i64::MAX)),
    );
    map
}

fn send(
    client: &dyn HttpClient,
    deadline: &Deadline,
    method: &str,
    url: &str,
    body: &str,
    options: &Map,
) -> Result<Map, Box<EvalAltResult>> {
    let mut headers = Vec::new();
    if let Some(given) =
        options.get("headers").and_then(|h| h.read_lock::<Map>().map(|m| m.clone()))
    {
        for (name, value) in given {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    let timeout = options
        .get("timeout_ms")
        .and_then(|t| t.as_int().ok())
        .and_then(|ms| u64::try_from(ms).ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
        .min(deadline.left());
    let request = HttpRequest {
        method: method.to_owned(),
        url: url.to_owned(),
        headers,
        body: body.to_owned(),
    };
    client.send(&request, timeout).map(answer_map).map_err(|message| {
        Box::new(EvalAltResult::ErrorRuntime(
            format!("http::{}({url}): {message}", method.to_ascii_lowercase()).into(),
            Position::NONE,
        ))
    })
}

pub(super) fn module(client: Arc<dyn HttpClient>, deadline: Deadline) -> Module {
    let mut module = Module::new();
    let (c, d) = (Arc::clone(&client), deadline.clone());
    module.set_native_fn("get", move |url: ImmutableString| {
        send(&*c, &d, "GET", &url, "", &Map::new())
    });
    let (c, d) = (Arc::clone(&client), deadline.clone());
    module.set_native_fn("get", move |url: ImmutableString, options: Map| {
        send(&*c, &d, "GET", &url, "", &options)
    });
    let (c, d) = (Arc::clone(&client), deadline.clone());
    module.set_native_fn("post", move |url: ImmutableString, body: ImmutableString| {
        send(&*c, &d, "POST", &url, &body, &Map::new())
    });
    module.set_native_fn(
        "post",
        move |url: ImmutableString, body: ImmutableString, options: Map| {
            send(&*client, &deadline, "POST", &url, &body, &options)
        },
    );
    module
}
