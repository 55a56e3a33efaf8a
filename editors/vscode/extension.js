// Starts `ferry lsp` for Deployfiles: a generic language client, nothing ferry-specific
// beyond the command (docs/editors.md).
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate() {
  const command = vscode.workspace.getConfiguration("ferry").get("path") || "ferry";
  client = new LanguageClient(
    "ferry",
    "ferry",
    { command, args: ["lsp"] },
    { documentSelector: [{ scheme: "file", language: "deployfile" }] }
  );
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
