//! One client of AWS's JSON 1.1 wire protocol, for the tests that talk to an endpoint (the
//! local ECS, moto's server) without the SDK: `call` and `call_text` POST one call and give
//! back the status and the JSON body, `exchange` the status and the body's text, `response`
//! the whole answer as it came; `request` is the request they send and `send_raw` sends any
//! bytes at all (an unusual request) and returns what came back before the connection
//! closed. Every call has a connection of its own (`Connection: close`).

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;

/// The target prefix of ECS's operations (`{ECS}.DescribeServices`).
pub(crate) const ECS: &str = "AmazonEC2ContainerServiceV20141113";
/// The target prefix of ECR's operations (`{ECR}.CreateRepository`).
pub(crate) const ECR: &str = "AmazonEC2ContainerRegistry_V20150921";

/// How long a call's read may wait for the next bytes of the answer before the call fails.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The `host:port` of an address, or of an `http://host:port` URL.
pub(crate) fn host(address: &str) -> &str {
    address.trim_start_matches("http://")
}

/// The request of one call as it goes on the wire, to `address` (`host:port` or a URL). It
/// carries a signature's credential scope because moto's single server picks the service
/// (`ecs`, `ecr`) from it; the local ECS reads only `X-Amz-Target`.
pub(crate) fn request(address: &str, target: &str, body: &str) -> String {
    let address = host(address);
    let service = if target.starts_with(ECR) { "ecr" } else { "ecs" };
    format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nX-Amz-Target: {target}\r\n\
         Content-Type: application/x-amz-json-1.1\r\n\
         Authorization: AWS4-HMAC-SHA256 \
         Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, \
         Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Sends `request` as it is on a new connection to `address` (`host:port` or a URL) and
/// reads until the server closes it: every byte that came, and the read error that ended
/// the answer early, if any (a reset, or a read that waited past `timeout`). Without a
/// timeout a read waits as long as the server keeps the connection open.
pub(crate) fn send_raw(
    address: &str,
    request: &[u8],
    timeout: Option<Duration>,
) -> (Vec<u8>, Option<std::io::Error>) {
    let mut stream = std::net::TcpStream::connect(host(address)).expect("connect");
    stream.set_read_timeout(timeout).expect("timeout");
    stream.write_all(request).expect("write");
    let mut answer = Vec::new();
    let error = stream.read_to_end(&mut answer).err();
    (answer, error)
}

/// One call (`request`): the whole answer as it came — status line, headers and body.
/// A read error, a read waiting more than 30 s or an answer that is not UTF-8 fails the test.
pub(crate) fn response(address: &str, target: &str, body: &str) -> String {
    let request = request(address, target, body);
    let (answer, error) = send_raw(address, request.as_bytes(), Some(READ_TIMEOUT));
    if let Some(error) = error {
        panic!("read: {error}");
    }
    String::from_utf8(answer).expect("a UTF-8 answer")
}

/// One call: the status and the body's text (a chunked body put together).
pub(crate) fn exchange(address: &str, target: &str, body: &str) -> (u16, String) {
    let response = response(address, target, body);
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

/// One call with its body given as text, so that it may be anything (`{not json`, `[]`):
/// the status and the answer's body parsed, `Value::Null` when it is not JSON.
pub(crate) fn call_text(address: &str, target: &str, body: &str) -> (u16, Value) {
    let (status, text) = exchange(address, target, body);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// One call: the status and the answer's body parsed, `Value::Null` when it is not JSON.
pub(crate) fn call(address: &str, target: &str, body: &Value) -> (u16, Value) {
    call_text(address, target, &body.to_string())
}

/// The body of a chunked answer, put together.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size.min(rest.len())]);
        body = rest.get(size + 2..).unwrap_or("");
    }
    out
}
