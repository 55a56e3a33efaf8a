// The "vscode:prepublish" step: copies the grammar's one source,
// editors/deployfile.tmLanguage.json, to the path package.json names. A copy, not a
// symlink: vsce packages only what lies in this folder and does not follow symlinks.
// Plain node, so it runs the same from any shell (docs/editors.md).
const fs = require("fs");
const path = require("path");

const extension = path.join(__dirname, "..");
const source = path.join(extension, "../deployfile.tmLanguage.json");
const target = path.join(extension, "syntaxes/deployfile.tmLanguage.json");

fs.mkdirSync(path.dirname(target), { recursive: true });
fs.copyFileSync(source, target);
console.log(`copied ${path.relative(extension, source)} to ${path.relative(extension, target)}`);
