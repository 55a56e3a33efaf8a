//! `ferry lsp`'s answers to an editor's requests, driven over stdio (the client is
//! `support::lsp_client`): hover, completion, definition, references, rename, the outline,
//! formatting (compared with `ferry fmt`) and "did you mean" as a quick fix.

use serde_json::{Value, json};

use crate::support::lsp_client::{CLEAN, Client, position, uri};
use crate::support::test::Test;

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
