//! `ferry lsp`'s diagnostics, driven as an editor drives it (the client is
//! `support::lsp_client`): those published on didOpen are `ferry check --format json`'s,
//! in UTF-16 columns, with the gate script's own published for the script; didChange with
//! incremental and whole edits publishes them again for each version; shutdown and exit.

use serde_json::{Value, json};

use crate::support::lsp_client::{CLEAN, Client, position, uri};
use crate::support::test::Test;

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
