"""Tokenizes a file with editors/deployfile.tmLanguage.json through textmate-grammar-python
(a port of vscode-textmate, on Oniguruma) and prints one JSON line per token:
[line, column, text, innermost scope]. Used by tests/editors.rs."""
import json
import logging
import sys

from textmate_grammar.parsers.base import LanguageParser

logging.disable(logging.CRITICAL)  # unscoped text (braces, blanks) is logged, not an error
grammar = json.load(open(sys.argv[1], encoding="utf-8"))
element = LanguageParser(grammar).parse_string(open(sys.argv[2], encoding="utf-8").read())
for (line, column), text, scopes in element.flatten():
    print(json.dumps([line, column, text, scopes[-1] if scopes else ""]))
