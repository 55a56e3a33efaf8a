//! `ferry lsp`: the language server on standard input and output (docs/editors.md).
//! Synchronous, one thread (lsp-server): each message is handled to its end before the
//! next, so a didChange's diagnostics are published before any later request is read.
//! Every answer comes from the pure core: `check` for diagnostics, `assist` for
//! completion, the schema for hover, the syntax tree for navigation, `syntax::format`
//! for formatting. The only I/O besides the protocol is reading gate scripts (and
//! listing `.rhai` files and sibling Deployfiles for completion).

// `lsp_types::Uri` keeps a parse cache in a cell, so clippy calls it a mutable key; its
// hash and equality are those of its text, which never changes: a sound map key (and
// `WorkspaceEdit` itself is keyed by it).
#![allow(clippy::mutable_key_type)]

mod convert;
mod document;
mod hover;
mod navigation;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    References, Rename, Request as _,
};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams,
    CodeActionProviderCapability, CompletionItem, CompletionItemKind, CompletionOptions,
    CompletionParams, CompletionResponse, CompletionTextEdit, DocumentFormattingParams,
    DocumentSymbolParams, DocumentSymbolResponse, GotoDefinitionParams, GotoDefinitionResponse,
    Hover, HoverContents, HoverParams, HoverProviderCapability, InitializeParams, Location,
    MarkupContent, MarkupKind, OneOf, PublishDiagnosticsParams, ReferenceParams, RenameParams,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, TextEdit, Uri, WorkspaceEdit,
};

use crate::assist::{CandidateKind, Known, Place, complete_at, place_at};
use crate::error::Error;
use document::Document;

/// Runs the server on standard input and output until the client says `exit`.
pub(crate) fn serve_stdio() -> Result<(), Error> {
    let (connection, threads) = Connection::stdio();
    serve(&connection)?;
    drop(connection);
    threads.join().map_err(|e| Error::LanguageServer(e.to_string()))
}

/// What the server offers.
#[must_use]
pub(crate) fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            save: Some(TextDocumentSyncSaveOptions::Supported(true)),
            ..TextDocumentSyncOptions::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".to_owned(), "\"".to_owned(), "/".to_owned()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    }
}

/// Serves one client on `connection`.
pub(crate) fn serve(connection: &Connection) -> Result<(), Error> {
    let broken = |e: &dyn std::fmt::Display| Error::LanguageServer(e.to_string());
    let initialize = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": ServerInfo {
            name: "ferry".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        },
    });
    let (id, params) = connection.initialize_start().map_err(|e| broken(&e))?;
    connection.initialize_finish(id, initialize).map_err(|e| broken(&e))?;
    let _params: InitializeParams = serde_json::from_value(params).map_err(|e| broken(&e))?;
    let mut server = Server { documents: HashMap::new(), scripts: HashMap::new(), out: connection };
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request).map_err(|e| broken(&e))? {
                    return Ok(());
                }
                let response = server.request(&request);
                let _ = connection.sender.send(Message::Response(response));
            }
            Message::Notification(notification) => server.notification(&notification),
            Message::Response(_) => {}
        }
    }
    Ok(())
}

struct Server<'a> {
    documents: HashMap<Uri, Document>,
    /// The gate scripts each document's diagnostics were last published for.
    scripts: HashMap<Uri, Vec<Uri>>,
    out: &'a Connection,
}

/// The error of a request the server cannot answer (JSON-RPC's InvalidParams, RequestFailed).
const INVALID_PARAMS: i32 = -32602;
const REQUEST_FAILED: i32 = -32803;

impl Server<'_> {
    fn notification(&mut self, notification: &Notification) {
        let params = notification.params.clone();
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(params)
                {
                    let uri = p.text_document.uri;
                    self.documents.insert(
                        uri.clone(),
                        Document::new(p.text_document.text, p.text_document.version),
                    );
                    self.publish(&uri, true);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(params)
                {
                    let uri = p.text_document.uri;
                    if let Some(document) = self.documents.get_mut(&uri) {
                        document.change(p.text_document.version, p.content_changes);
                        self.publish(&uri, false);
                    }
                }
            }
            DidSaveTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidSaveTextDocumentParams>(params)
                {
                    self.publish(&p.text_document.uri, true);
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(params)
                {
                    let uri = p.text_document.uri;
                    self.documents.remove(&uri);
                    let mut cleared = self.scripts.remove(&uri).unwrap_or_default();
                    cleared.push(uri);
                    for uri in cleared {
                        self.send_diagnostics(uri, Vec::new(), None);
                    }
                }
            }
            _ => {}
        }
    }

    /// Publishes a document's diagnostics; with `scripts`, also (again) those of the gate
    /// scripts it names, read from disk — on open and save, not on every keystroke.
    fn publish(&mut self, uri: &Uri, scripts: bool) {
        let Some(document) = self.documents.get(uri) else { return };
        let mut diagnostics: Vec<lsp_types::Diagnostic> = document
            .diagnostics
            .iter()
            .map(|d| convert::diagnostic(uri, &document.text, &document.index, d))
            .collect();
        let base = convert::path_of(uri).and_then(|p| p.parent().map(Path::to_path_buf));
        let mut script_reports = Vec::new();
        if let (Some(base), Some(file), true) = (&base, &document.file, document.current) {
            // Whether each script exists: on every change (cheap). Compiling them: on
            // open and save only.
            let missing = crate::gates::missing_scripts(base, file);
            diagnostics.extend(
                missing
                    .iter()
                    .map(|d| convert::diagnostic(uri, &document.text, &document.index, d)),
            );
            if scripts {
                let checked = crate::gates::check_scripts(base, file);
                for script in checked.scripts {
                    let Some(script_uri) = script.file.as_deref().and_then(convert::uri_of) else {
                        continue;
                    };
                    let index = crate::syntax::LineIndex::new(&script.text);
                    let found: Vec<lsp_types::Diagnostic> = script
                        .diagnostics
                        .iter()
                        .map(|d| convert::diagnostic(&script_uri, &script.text, &index, d))
                        .collect();
                    script_reports.push((script_uri, found));
                }
            }
        }
        let version = Some(document.version);
        self.send_diagnostics(uri.clone(), diagnostics, version);
        if scripts {
            let before = self.scripts.remove(uri).unwrap_or_default();
            for old in before {
                if !script_reports.iter().any(|(u, _)| *u == old) {
                    self.send_diagnostics(old, Vec::new(), None);
                }
            }
            let published: Vec<Uri> = script_reports.iter().map(|(u, _)| u.clone()).collect();
            for (script_uri, found) in script_reports {
                self.send_diagnostics(script_uri, found, None);
            }
            self.scripts.insert(uri.clone(), published);
        }
    }

    fn send_diagnostics(
        &self,
        uri: Uri,
        diagnostics: Vec<lsp_types::Diagnostic>,
        version: Option<i32>,
    ) {
        let params = PublishDiagnosticsParams { uri, diagnostics, version };
        let _ = self.out.sender.send(Message::Notification(Notification::new(
            PublishDiagnostics::METHOD.to_owned(),
            params,
        )));
    }

    fn request(&mut self, request: &Request) -> Response {
        let id = request.id.clone();
        let params = request.params.clone();
        let result = match request.method.as_str() {
            HoverRequest::METHOD => parse::<HoverParams>(params).map(|p| {
                let at = p.text_document_position_params;
                to_value(self.hover(&at.text_document.uri, at.position))
            }),
            Completion::METHOD => parse::<CompletionParams>(params).map(|p| {
                let at = p.text_document_position;
                to_value(self.completion(&at.text_document.uri, at.position))
            }),
            GotoDefinition::METHOD => parse::<GotoDefinitionParams>(params).map(|p| {
                let at = p.text_document_position_params;
                to_value(self.definition(&at.text_document.uri, at.position))
            }),
            References::METHOD => parse::<ReferenceParams>(params).map(|p| {
                let at = p.text_document_position;
                to_value(self.references(
                    &at.text_document.uri,
                    at.position,
                    p.context.include_declaration,
                ))
            }),
            Rename::METHOD => parse::<RenameParams>(params).and_then(|p| {
                let at = p.text_document_position;
                self.rename(&at.text_document.uri, at.position, &p.new_name).map(to_value)
            }),
            DocumentSymbolRequest::METHOD => parse::<DocumentSymbolParams>(params).map(|p| {
                to_value(self.documents.get(&p.text_document.uri).and_then(|document| {
                    // Spans of an older tree do not fit the current text.
                    let file = document.file.as_ref().filter(|_| document.current)?;
                    Some(DocumentSymbolResponse::Nested(navigation::symbols(document, file)))
                }))
            }),
            Formatting::METHOD => parse::<DocumentFormattingParams>(params)
                .and_then(|p| self.format(&p.text_document.uri).map(to_value)),
            CodeActionRequest::METHOD => {
                parse::<CodeActionParams>(params).map(|p| to_value(self.quick_fixes(&p)))
            }
            other => Err((
                lsp_server::ErrorCode::MethodNotFound as i32,
                format!("`{other}` is not supported"),
            )),
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code, message),
        }
    }

    fn hover(&self, uri: &Uri, position: lsp_types::Position) -> Option<Hover> {
        let document = self.documents.get(uri)?;
        let (span, value) = hover::hover(document, document.offset(position))?;
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
            range: Some(document.range(span)),
        })
    }

    fn completion(&self, uri: &Uri, position: lsp_types::Position) -> Option<CompletionResponse> {
        let document = self.documents.get(uri)?;
        let found = place_at(&document.text, document.offset(position));
        let mut known = document.file.as_ref().map(Known::of).unwrap_or_default();
        // The disk is read only for the places that offer what is on it.
        let path = convert::path_of(uri);
        let base = path.as_deref().and_then(Path::parent);
        match &found.place {
            Place::StringArgument { function } if function == "script" => {
                known.scripts = base.map(crate::gates::stdlib::script_names).unwrap_or_default();
            }
            Place::EnvironmentName => {
                known.environments = base
                    .map(|base| sibling_environments(base, path.as_deref()))
                    .unwrap_or_default();
            }
            _ => {}
        }
        let completion = complete_at(&document.text, &found, &known);
        let range = document.range(completion.replace);
        let items = completion
            .candidates
            .into_iter()
            .map(|candidate| CompletionItem {
                kind: Some(match candidate.kind {
                    CandidateKind::Keyword => CompletionItemKind::KEYWORD,
                    CandidateKind::Field => CompletionItemKind::FIELD,
                    CandidateKind::Block => CompletionItemKind::STRUCT,
                    CandidateKind::Step => CompletionItemKind::REFERENCE,
                    CandidateKind::Namespace => CompletionItemKind::MODULE,
                    CandidateKind::Function => CompletionItemKind::FUNCTION,
                    CandidateKind::Attribute => CompletionItemKind::PROPERTY,
                    CandidateKind::Variable => CompletionItemKind::VARIABLE,
                    CandidateKind::Word => CompletionItemKind::ENUM_MEMBER,
                    CandidateKind::Environment => CompletionItemKind::CONSTANT,
                    CandidateKind::File => CompletionItemKind::FILE,
                }),
                detail: (!candidate.detail.is_empty()).then(|| candidate.detail.clone()),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(
                    range,
                    candidate.label.clone(),
                ))),
                label: candidate.label,
                ..CompletionItem::default()
            })
            .collect();
        Some(CompletionResponse::Array(items))
    }

    /// The document, its occurrences and the one under the position.
    fn occurrence(
        &self,
        uri: &Uri,
        position: lsp_types::Position,
    ) -> Option<(&Document, Vec<navigation::Occurrence>, navigation::Occurrence)> {
        let document = self.documents.get(uri)?;
        let file = document.file.as_ref().filter(|_| document.current)?;
        let all = navigation::occurrences(file);
        let found = navigation::at(&all, document.offset(position))?.clone();
        Some((document, all, found))
    }

    fn definition(
        &self,
        uri: &Uri,
        position: lsp_types::Position,
    ) -> Option<GotoDefinitionResponse> {
        let (document, all, found) = self.occurrence(uri, position)?;
        let definition = all.iter().find(|o| o.definition && o.name == found.name)?;
        Some(GotoDefinitionResponse::Scalar(Location::new(
            uri.clone(),
            document.range(definition.span),
        )))
    }

    fn references(
        &self,
        uri: &Uri,
        position: lsp_types::Position,
        declaration: bool,
    ) -> Option<Vec<Location>> {
        let (document, all, found) = self.occurrence(uri, position)?;
        Some(
            all.iter()
                .filter(|o| o.name == found.name && (declaration || !o.definition))
                .map(|o| Location::new(uri.clone(), document.range(o.span)))
                .collect(),
        )
    }

    fn rename(
        &self,
        uri: &Uri,
        position: lsp_types::Position,
        name: &str,
    ) -> Result<Option<WorkspaceEdit>, (i32, String)> {
        if !navigation::valid_name(name) {
            return Err((
                INVALID_PARAMS,
                format!(
                    "`{name}` cannot name a step: a letter or `_`, then letters, digits, `_` or \
                     `-`, and not a keyword or `git`/`env`/`vars`"
                ),
            ));
        }
        let Some((document, all, found)) = self.occurrence(uri, position) else { return Ok(None) };
        if name != found.name && all.iter().any(|o| o.name == name) {
            return Err((REQUEST_FAILED, format!("a step is already called `{name}`")));
        }
        let edits: Vec<TextEdit> = all
            .iter()
            .filter(|o| o.name == found.name)
            .map(|o| TextEdit::new(document.range(o.span), name.to_owned()))
            .collect();
        let mut changes = HashMap::new();
        changes.insert(uri.clone(), edits);
        Ok(Some(WorkspaceEdit { changes: Some(changes), ..WorkspaceEdit::default() }))
    }

    fn format(&self, uri: &Uri) -> Result<Option<Vec<TextEdit>>, (i32, String)> {
        let Some(document) = self.documents.get(uri) else { return Ok(None) };
        match crate::syntax::format(&document.text) {
            Ok(formatted) if formatted == document.text => Ok(Some(Vec::new())),
            Ok(formatted) => Ok(Some(vec![TextEdit::new(document.whole(), formatted)])),
            Err(_) => Err((
                REQUEST_FAILED,
                "the Deployfile does not parse; fix the syntax error to format it".to_owned(),
            )),
        }
    }

    /// "did you mean `x`?" as a quick fix: replace the diagnostic's span with `x`.
    fn quick_fixes(&self, params: &CodeActionParams) -> Vec<CodeActionOrCommand> {
        let uri = &params.text_document.uri;
        let Some(document) = self.documents.get(uri) else { return Vec::new() };
        let wanted = document.span(params.range);
        let mut actions = Vec::new();
        for diagnostic in &document.diagnostics {
            let span = diagnostic.span();
            if span.end < wanted.start || span.start > wanted.end {
                continue;
            }
            let Some(suggestion) = diagnostic
                .help
                .as_deref()
                .and_then(crate::suggestion::suggested)
                .map(str::to_owned)
            else {
                continue;
            };
            let mut changes = HashMap::new();
            changes
                .insert(uri.clone(), vec![TextEdit::new(document.range(span), suggestion.clone())]);
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Replace with `{suggestion}`"),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![convert::diagnostic(
                    uri,
                    &document.text,
                    &document.index,
                    diagnostic,
                )]),
                edit: Some(WorkspaceEdit { changes: Some(changes), ..WorkspaceEdit::default() }),
                is_preferred: Some(true),
                ..CodeAction::default()
            }));
        }
        actions
    }
}

/// The environments the other Deployfiles beside this one define, for completing
/// `environment NAME` so a repository's pipelines use the same names.
fn sibling_environments(dir: &Path, this: Option<&Path>) -> Vec<String> {
    let mut names = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    for entry in entries.flatten().take(200) {
        let path: PathBuf = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let deployfile = name == crate::source_file::DEFAULT_NAME || name.ends_with(".deploy");
        if !deployfile || Some(path.as_path()) == this {
            continue;
        }
        let Ok(text) = crate::regular_file::read_text(&path, crate::source_file::MAX_SIZE) else {
            continue;
        };
        if let Ok(file) = crate::syntax::parse(&text) {
            for environment in crate::eval::environment_names(&file) {
                names.insert(environment);
            }
        }
    }
    names.into_iter().collect()
}

fn parse<P: serde::de::DeserializeOwned>(params: serde_json::Value) -> Result<P, (i32, String)> {
    serde_json::from_value(params).map_err(|e| (INVALID_PARAMS, e.to_string()))
}

fn to_value(value: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use lsp_server::{Connection, Notification, Request};
    use serde_json::json;

    use super::Server;

    /// Every request at many positions (some past the end) of texts that parse, texts
    /// that do not, and texts being edited by range: the server answers, it never panics.
    #[test]
    fn no_request_panics_whatever_the_text_and_position() {
        let (connection, client) = Connection::memory();
        let mut server =
            Server { documents: HashMap::new(), scripts: HashMap::new(), out: &connection };
        let root = env!("CARGO_MANIFEST_DIR");
        let mut texts: Vec<String> = ["web", "hello", "multi-service"]
            .iter()
            .map(|name| {
                std::fs::read_to_string(format!("{root}/pipelines/{name}.deploy"))
                    .expect("pipeline")
            })
            .collect();
        texts.push("register t {\n  container \"wé😀b\" { image = \"${git.".to_owned());
        texts.push(
            "build a { args = { X = \"é\" } }\nupdate w {\n  task_definition = a\n".to_owned(),
        );
        let probe = std::path::Path::new(&root).join("pipelines/probe.deploy");
        let uri = url::Url::from_file_path(probe).expect("absolute").to_string();
        let requests = [
            "textDocument/hover",
            "textDocument/completion",
            "textDocument/definition",
            "textDocument/references",
            "textDocument/rename",
            "textDocument/documentSymbol",
            "textDocument/formatting",
            "textDocument/codeAction",
        ];
        let mut id = 0;
        let mut ask = |server: &mut Server<'_>, line: u32, character: u32| {
            let position = json!({ "line": line, "character": character });
            for method in requests {
                id += 1;
                let params = json!({
                    "textDocument": { "uri": uri },
                    "position": position,
                    "context": { "includeDeclaration": true, "diagnostics": [] },
                    "newName": "renamed",
                    "options": { "tabSize": 2, "insertSpaces": true },
                    "range": { "start": position, "end": position },
                });
                let _ =
                    server.request(&Request { id: id.into(), method: method.to_owned(), params });
            }
        };
        for (n, text) in texts.iter().enumerate() {
            server.notification(&Notification::new(
                "textDocument/didOpen".to_owned(),
                json!({
                    "textDocument": {
                        "uri": uri,
                        "languageId": "deployfile",
                        "version": 1,
                        "text": text
                    }
                }),
            ));
            let lines = u32::try_from(text.lines().count()).expect("lines");
            for line in (0..=lines + 1).step_by(3) {
                for character in [0, 1, 2, 5, 9, 14, 22, 40, 200] {
                    ask(&mut server, line, character);
                }
            }
            // Edits by range that break and mend the text, asking after each.
            for (version, line) in (0..lines).step_by(5).enumerate() {
                let edit = if version % 2 == 0 { "{\"é" } else { "" };
                server.notification(&Notification::new(
                    "textDocument/didChange".to_owned(),
                    json!({
                        "textDocument": { "uri": uri, "version": version + 2 },
                        "contentChanges": [{
                            "range": {
                                "start": { "line": line, "character": 1 },
                                "end": { "line": line, "character": 3 }
                            },
                            "text": edit
                        }]
                    }),
                ));
                ask(&mut server, line, 2);
                ask(&mut server, line + 1, 0);
            }
            server.notification(&Notification::new(
                "textDocument/didClose".to_owned(),
                json!({ "textDocument": { "uri": uri } }),
            ));
            assert!(client.receiver.try_iter().count() > 0, "text {n}: diagnostics were published");
        }
    }
}
