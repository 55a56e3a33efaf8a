//! A language client of `ferry lsp`, for the tests that drive it as an editor does:
//! `Client` starts the real binary in a directory, initializes it and exchanges JSON-RPC
//! messages over its standard input and output (`notify`, `call`, `request`, `open`, the
//! next `diagnostics` published for a document, `shutdown`); `uri` names a file as the
//! client does, `position` is where a needle sits in a text as an LSP position (UTF-16), and
//! `CLEAN` is a Deployfile without a problem, the text both LSP feature files edit.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

/// A language client on the server's standard input and output.
pub(crate) struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
    /// Notifications that arrived while waiting for something else.
    stash: Vec<Value>,
}

impl Client {
    pub(crate) fn start(dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ferry lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (send, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(value) = line.strip_prefix("Content-Length: ") {
                        length = value.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("a Content-Length header")];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let value: Value = serde_json::from_slice(&body).expect("a JSON message");
                if send.send(value).is_err() {
                    return;
                }
            }
        });
        let mut client = Self { child, stdin, messages, next_id: 0, stash: Vec::new() };
        let result = client.request(
            "initialize",
            json!({ "capabilities": {}, "processId": null, "rootUri": null }),
        );
        assert_eq!(result["serverInfo"]["name"], "ferry");
        client.notify("initialized", json!({}));
        client
    }

    pub(crate) fn send(&mut self, message: &Value) {
        let body = serde_json::to_string(message).expect("json");
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    pub(crate) fn notify(&mut self, method: &str, params: Value) {
        let mut message = json!({ "jsonrpc": "2.0", "method": method });
        message["params"] = params;
        self.send(&message);
    }

    fn next(&mut self) -> Value {
        self.messages.recv_timeout(Duration::from_secs(20)).expect("the server answers within 20 s")
    }

    /// The whole response to a request.
    pub(crate) fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        message["params"] = params;
        self.send(&message);
        loop {
            let message = self.next();
            if message["id"] == id {
                return message;
            }
            self.stash.push(message);
        }
    }

    /// The result of a request; an error response fails the test.
    #[track_caller]
    pub(crate) fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.call(method, params);
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    /// The next diagnostics published for `uri`.
    pub(crate) fn diagnostics(&mut self, uri: &str) -> Value {
        if let Some(i) = self.stash.iter().position(|m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        }) {
            return self.stash.remove(i)["params"].clone();
        }
        loop {
            let message = self.next();
            if message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
            {
                return message["params"].clone();
            }
            self.stash.push(message);
        }
    }

    pub(crate) fn open(&mut self, uri: &str, text: &str) -> Value {
        self.notify(
            "textDocument/didOpen",
            json!({
                "textDocument": {
                    "uri": uri,
                    "languageId": "deployfile",
                    "version": 1,
                    "text": text
                }
            }),
        );
        self.diagnostics(uri)
    }

    /// Shuts the server down; returns its exit code.
    pub(crate) fn shutdown(mut self) -> i32 {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("the server did not exit after `exit`");
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `file://` URI of `path` (percent-encoded as editors send it).
pub(crate) fn uri(path: &Path) -> String {
    url::Url::from_file_path(path).expect("an absolute path").to_string()
}

/// The LSP position (line, UTF-16 column) of `after` bytes past the first `needle` in
/// `text`.
pub(crate) fn position(text: &str, needle: &str, after: usize) -> Value {
    let offset = text.find(needle).expect("needle") + after;
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let column: usize = before.rsplit('\n').next().unwrap_or("").chars().map(char::len_utf16).sum();
    json!({ "line": line, "character": column })
}

/// A Deployfile the server finds nothing in: defaults, an environment, and build, push,
/// register, update and verify steps.
pub(crate) const CLEAN: &str = r#"defaults {
  cluster = "prod"
}

environment staging {
  cluster = "staging"
}

build app {
  context = "."
}

push app {
  to = ecr("acme/web", create = true)
}

register web_task {
  family = "web"
  container "web" {
    image = app
  }
}

update web {
  task_definition = web_task
  circuit_breaker = rollback
}

verify web {
  timeout = 5m
}
"#;
