//! `ferry lsp` driven as an editor drives it: the real binary over stdio JSON-RPC
//! (initialize, didOpen, didChange with incremental and whole edits, hover, completion,
//! definition, references, rename, symbols, formatting, code actions, shutdown, exit),
//! its answers compared with `ferry check --format json` and `ferry fmt`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::test::Test;

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

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The UTF-16 column of a 1-based character column on `line`.
fn utf16(line: &str, column: u64) -> u64 {
    line.chars().take(column as usize - 1).map(|c| c.len_utf16() as u64).sum()
}

const BROKEN: &str = r#"build app {
  args = { NOTE = "déjà vu 😀", VERSION = git.sah }
}

register web_task {
  family = "web"
  container "web" {
    image = app
  }
}

register web_task {
  family = "web2"
  container "web" {
    image = app
  }
}

update web {
  task_definition = web_tsk
  circuit_breaker = rolback
}

verify web {
  timeout = 5m
  gate script("gates/broken.rhai") {}
}
"#;

#[test]
fn diagnostics_are_those_of_ferry_check_in_utf16() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Deployfile");
    std::fs::write(&path, BROKEN).expect("write");
    std::fs::create_dir(dir.path().join("gates")).expect("mkdir");
    std::fs::write(dir.path().join("gates/broken.rhai"), "fn check(ctx) {\n  let x = ;\n}\n")
        .expect("write");
    let check =
        Test::new().args(["check", "--format", "json"]).current_dir(dir.path()).run().code(2);
    let expected: Vec<Value> = serde_json::from_str(&check.stdout).expect("json");
    let (deployfile, script): (Vec<&Value>, Vec<&Value>) =
        expected.iter().partition(|d| d["file"] == "Deployfile");
    assert!(deployfile.len() >= 4 && !script.is_empty(), "{expected:#?}");

    let mut client = Client::start(dir.path());
    let published = client.open(&uri(&path), BROKEN);
    assert_eq!(published["version"], 1);
    let got = published["diagnostics"].as_array().expect("diagnostics").clone();
    assert_eq!(got.len(), deployfile.len(), "{got:#?}");
    let lines: Vec<&str> = BROKEN.lines().collect();
    for (lsp, cli) in got.iter().zip(&deployfile) {
        assert_eq!(lsp["code"], cli["code"]);
        assert_eq!(lsp["source"], "ferry");
        assert_eq!(lsp["severity"], if cli["severity"] == "error" { 1 } else { 2 });
        let message = match cli["help"].as_str() {
            Some(help) => format!("{}\nhelp: {help}", cli["message"].as_str().expect("message")),
            None => cli["message"].as_str().expect("message").to_owned(),
        };
        assert_eq!(lsp["message"], message);
        let line = cli["line"].as_u64().expect("line");
        assert_eq!(lsp["range"]["start"]["line"], line - 1);
        let text = lines[line as usize - 1];
        assert_eq!(
            lsp["range"]["start"]["character"],
            utf16(text, cli["column"].as_u64().expect("column"))
        );
        let related = lsp["relatedInformation"].as_array().map_or(0, Vec::len);
        assert_eq!(related, cli["related"].as_array().expect("related").len(), "{lsp}");
    }
    // After the emoji (two UTF-16 units, four bytes), `sah` is at UTF-16 column 46.
    let sah = got.iter().find(|d| d["code"] == "ferry::check::unknown_attribute").expect("sah");
    assert_eq!(sah["range"]["start"], json!({ "line": 1, "character": 46 }));
    let duplicate = got.iter().find(|d| d["code"] == "ferry::check::duplicate_step").expect("dup");
    assert_eq!(
        duplicate["relatedInformation"][0]["location"]["range"]["start"],
        json!({ "line": 4, "character": 9 })
    );
    assert_eq!(
        duplicate["relatedInformation"][0]["message"],
        "first defined as a task definition (a `register` step)"
    );
    // The gate script's own problems, published for the script.
    let script_uri = uri(&dir.path().join("gates/broken.rhai"));
    let on_script = client.diagnostics(&script_uri);
    let on_script = on_script["diagnostics"].as_array().expect("diagnostics").clone();
    assert_eq!(on_script.len(), script.len());
    assert_eq!(on_script[0]["code"], script[0]["code"]);
    assert_eq!(
        on_script[0]["range"]["start"]["line"],
        script[0]["line"].as_u64().expect("line") - 1
    );
    assert_eq!(client.shutdown(), 0);
}

const CLEAN: &str = r#"defaults {
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

fn position(text: &str, needle: &str, after: usize) -> Value {
    let offset = text.find(needle).expect("needle") + after;
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let column: usize = before.rsplit('\n').next().unwrap_or("").chars().map(char::len_utf16).sum();
    json!({ "line": line, "character": column })
}

#[test]
fn incremental_and_whole_edits_update_the_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Deployfile");
    let uri = uri(&path);
    let mut client = Client::start(dir.path());
    assert_eq!(client.open(&uri, CLEAN)["diagnostics"], json!([]));
    // Replace `web_task` in `task_definition = web_task` with `web_tsk`.
    let start = position(CLEAN, "= web_task", 2);
    let end = position(CLEAN, "= web_task", 10);
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 2 },
            "contentChanges": [{ "range": { "start": start, "end": end }, "text": "web_tsk" }]
        }),
    );
    let published = client.diagnostics(&uri);
    assert_eq!(published["version"], 2);
    let diagnostic = &published["diagnostics"][0];
    assert_eq!(diagnostic["code"], "ferry::check::unknown_reference");
    assert_eq!(diagnostic["range"]["start"], start);
    assert_eq!(diagnostic["message"], "unknown name `web_tsk`\nhelp: did you mean `web_task`?");
    // An insertion (empty range) then a deletion, in one notification.
    let at = position(CLEAN, "timeout = 5m", 0);
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 3 },
            "contentChanges": [
                { "range": { "start": at, "end": at }, "text": "fail_fast = 0\n  " },
                {
                    "range": {
                        "start": start,
                        "end": {
                            "line": start["line"],
                            "character": start["character"].as_u64().expect("n") + 7
                        }
                    },
                    "text": "web_task"
                }
            ]
        }),
    );
    let published = client.diagnostics(&uri);
    assert_eq!(published["version"], 3);
    let codes: Vec<&Value> =
        published["diagnostics"].as_array().expect("array").iter().map(|d| &d["code"]).collect();
    assert_eq!(codes, [&json!("ferry::check::out_of_range")], "{published}");
    // While the text does not parse, the outline answers nothing (it does not crash).
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 30 },
            "contentChanges": [{ "text": "register t {" }]
        }),
    );
    client.diagnostics(&uri);
    let outline =
        client.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }));
    assert_eq!(outline, Value::Null);
    // A whole-text change (no range) back to the clean text.
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 4 },
            "contentChanges": [{ "text": CLEAN }]
        }),
    );
    let published = client.diagnostics(&uri);
    assert_eq!(
        (published["version"].clone(), published["diagnostics"].clone()),
        (json!(4), json!([]))
    );
    // A gate script that does not exist is found as it is typed.
    let gated = CLEAN
        .replace("  timeout = 5m\n", "  timeout = 5m\n  gate script(\"gates/nope.rhai\") {}\n");
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 5 },
            "contentChanges": [{ "text": gated }]
        }),
    );
    let published = client.diagnostics(&uri);
    assert_eq!(published["diagnostics"][0]["code"], "ferry::gate::script_not_found", "{published}");
    assert_eq!(published["diagnostics"][0]["range"]["start"], position(&gated, "\"gates/nope", 0));
    assert_eq!(client.shutdown(), 0);
}

fn labels(completion: &Value) -> Vec<String> {
    completion
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["label"].as_str().expect("label").to_owned())
        .collect()
}

#[test]
fn hover_completion_navigation_rename_format_and_fixes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Deployfile");
    std::fs::create_dir(dir.path().join("gates")).expect("mkdir");
    std::fs::write(dir.path().join("gates/smoke.rhai"), "fn check(ctx) { true }\n").expect("write");
    std::fs::write(
        dir.path().join("other.deploy"),
        "environment production {\n  cluster = \"p\"\n}\n",
    )
    .expect("write");
    let uri = uri(&path);
    let mut client = Client::start(dir.path());
    client.open(&uri, CLEAN);
    let doc = |position: Value| json!({ "textDocument": { "uri": uri }, "position": position });

    // Hover: a step kind, a field, a call, a reference.
    let hover = client.request("textDocument/hover", doc(position(CLEAN, "update web", 1)));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .expect("markdown")
            .starts_with("`update` — an `update` step"),
        "{hover}"
    );
    let hover = client.request("textDocument/hover", doc(position(CLEAN, "circuit_breaker", 3)));
    let value = hover["contents"]["value"].as_str().expect("markdown");
    assert!(
        value.starts_with("`circuit_breaker` — ")
            && value.contains("```deploy\ncircuit_breaker = rollback\n```"),
        "{value}"
    );
    assert_eq!(hover["range"]["start"], position(CLEAN, "circuit_breaker", 0));
    let hover = client.request("textDocument/hover", doc(position(CLEAN, "ecr(", 1)));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .expect("md")
            .starts_with("`ecr(name, create?, keep?, scan_on_push?, immutable?)`")
    );
    let hover = client.request("textDocument/hover", doc(position(CLEAN, "= web_task", 4)));
    assert_eq!(
        hover["contents"]["value"],
        "`web_task`: a task definition (a `register` step), defined on line 17"
    );

    // Completion: fields of the enclosing block, references, attributes, scripts, environments.
    let inside_update = position(CLEAN, "  circuit_breaker", 2);
    let fields = labels(&client.request("textDocument/completion", doc(inside_update)));
    assert!(
        ["task_definition", "desired", "min_healthy", "grace", "load_balancer"]
            .iter()
            .all(|f| fields.contains(&(*f).to_owned())),
        "{fields:?}"
    );
    let value =
        labels(&client.request("textDocument/completion", doc(position(CLEAN, "= web_task", 2))));
    assert!(
        value.contains(&"web_task".to_owned())
            && value.contains(&"app".to_owned())
            && value.contains(&"ecr".to_owned()),
        "{value:?}"
    );
    assert!(!value.contains(&"web".to_owned()), "`web` is defined below: not in scope");
    // Type `git.` at the start of `task_definition = ` … then `script("` in verify.
    let mut text =
        CLEAN.replace("    image = app\n", "    image = app\n    environment = { V = git. }\n");
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 2 },
            "contentChanges": [{ "text": text }]
        }),
    );
    client.diagnostics(&uri);
    let attributes =
        labels(&client.request("textDocument/completion", doc(position(&text, "git. }", 4))));
    assert_eq!(attributes, ["sha", "short_sha", "branch", "dirty"]);
    text = CLEAN.replace("  timeout = 5m\n", "  timeout = 5m\n  gate script(\"\n");
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 3 },
            "contentChanges": [{ "text": text }]
        }),
    );
    client.diagnostics(&uri);
    let scripts =
        labels(&client.request("textDocument/completion", doc(position(&text, "script(\"", 8))));
    assert_eq!(scripts[0], "gates/smoke.rhai", "{scripts:?}");
    assert!(scripts.contains(&"std/version.rhai".to_owned()), "{scripts:?}");
    text = format!("{CLEAN}\nenvironment ");
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 4 },
            "contentChanges": [{ "text": text }]
        }),
    );
    client.diagnostics(&uri);
    let environments = labels(
        &client.request("textDocument/completion", doc(position(&text, "\nenvironment ", 13))),
    );
    assert_eq!(environments, ["production"]);
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 5 },
            "contentChanges": [{ "text": CLEAN }]
        }),
    );
    client.diagnostics(&uri);

    // Definition and references of `web_task`, from its use.
    let at_use = position(CLEAN, "= web_task", 3);
    let definition = client.request("textDocument/definition", doc(at_use.clone()));
    assert_eq!(definition["range"]["start"], position(CLEAN, "web_task {", 0));
    let mut params = doc(at_use.clone());
    params["context"] = json!({ "includeDeclaration": true });
    assert_eq!(
        client.request("textDocument/references", params.clone()).as_array().expect("refs").len(),
        2
    );
    params["context"] = json!({ "includeDeclaration": false });
    assert_eq!(
        client.request("textDocument/references", params).as_array().expect("refs").len(),
        1
    );
    // `app`: defined by build, named by push, used by register.
    let mut params = doc(position(CLEAN, "build app", 7));
    params["context"] = json!({ "includeDeclaration": true });
    assert_eq!(
        client.request("textDocument/references", params).as_array().expect("refs").len(),
        3
    );

    // Rename `app` everywhere; a bad name is refused.
    let mut params = doc(position(CLEAN, "image = app", 9));
    params["newName"] = json!("site");
    let edit = client.request("textDocument/rename", params.clone());
    let edits = edit["changes"][&uri].as_array().expect("edits");
    assert_eq!(edits.len(), 3);
    assert!(edits.iter().all(|e| e["newText"] == "site"));
    params["newName"] = json!("git");
    let refused = client.call("textDocument/rename", params);
    assert!(
        refused["error"]["message"].as_str().expect("message").contains("cannot name a step"),
        "{refused}"
    );

    // The outline.
    let symbols =
        client.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }));
    let names: Vec<&str> = symbols
        .as_array()
        .expect("symbols")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "defaults",
            "environment staging",
            "build app",
            "push app",
            "register web_task",
            "update web",
            "verify web"
        ]
    );
    assert_eq!(symbols[4]["children"][0]["name"], "container \"web\"");

    // Formatting is `ferry fmt`.
    let messy = CLEAN.replace("  context = \".\"", "context=\".\"   # here");
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 6 },
            "contentChanges": [{ "text": messy }]
        }),
    );
    client.diagnostics(&uri);
    let formatted = client.request(
        "textDocument/formatting",
        json!({
            "textDocument": { "uri": uri },
            "options": { "tabSize": 2, "insertSpaces": true }
        }),
    );
    std::fs::write(&path, &messy).expect("write");
    Test::new().args(["fmt", "Deployfile"]).current_dir(dir.path()).run().code(0);
    assert_eq!(formatted[0]["newText"], std::fs::read_to_string(&path).expect("formatted"));

    // "did you mean" as a quick fix.
    let typo =
        CLEAN.replace("circuit_breaker = rollback", "circuit_breaker = rollback\n  gracee = 30s");
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 7 },
            "contentChanges": [{ "text": typo }]
        }),
    );
    let published = client.diagnostics(&uri);
    let range = published["diagnostics"][0]["range"].clone();
    let actions = client.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": range, "context": { "diagnostics": [] } }),
    );
    assert_eq!(actions[0]["title"], "Replace with `grace`");
    assert_eq!(
        actions[0]["edit"]["changes"][&uri][0],
        json!({ "range": range, "newText": "grace" })
    );
    assert_eq!(client.shutdown(), 0);
}
