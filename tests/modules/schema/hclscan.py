"""A small view of an HCL file for the schema check, built on python-hcl2's
LarkElement tree (hcl2.parses), which keeps each block's and attribute's line.

parse_file(path) -> Body, where
  Body:  attrs  [Attr(name, line, value)], blocks [Block(type, labels, line, body)]
  value: a literal as ("string"|"number"|"bool"|"null", python value),
         ("tuple", [values]), ("object", {key: value}), or ("expr", source)
         for anything computed (references, function calls, templates that are
         a single interpolation, operators): expressions are not type-checked.
"""
import re
from dataclasses import dataclass, field
from typing import Any, List

import hcl2
from hcl2.rules.base import AttributeRule, BlockRule


@dataclass
class Attr:
    name: str
    line: int
    value: Any


@dataclass
class Body:
    attrs: List[Attr] = field(default_factory=list)
    blocks: List["Block"] = field(default_factory=list)


@dataclass
class Block:
    type: str
    labels: List[str]
    line: int
    body: Body


def _unquote(s):
    return s[1:-1] if len(s) >= 2 and s[0] == '"' and s[-1] == '"' else s


def classify(v):
    """A serialized python-hcl2 value as (kind, value)."""
    if v is None:
        return ("null", None)
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, (int, float)):
        return ("number", v)
    if isinstance(v, list):
        return ("tuple", [classify(x) for x in v])
    if isinstance(v, dict):
        return ("object", {_unquote(k): classify(x) for k, x in v.items() if not k.startswith("__")})
    s = str(v)
    if s.startswith('"<<'):
        return ("string", s)  # heredoc: a template, always a string
    if s.startswith('"'):
        # "${x}" alone has x's type; any other template is a string.
        if s.startswith('"${') and s.endswith('}"'):
            return ("expr", s)
        return ("string", s[1:-1])
    if s.startswith("${") and s.endswith("}"):
        inner = s[2:-1]
        if re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", inner):
            return ("number", float(inner))
        if inner in ("true", "false"):
            return ("bool", inner == "true")
        if inner == "null":
            return ("null", None)
    return ("expr", s)


def _body(rule) -> Body:
    out = Body()
    for c in rule.children:
        if isinstance(c, BlockRule):
            labels = [_unquote(str(lab.serialize())) for lab in c.labels]
            out.blocks.append(Block(labels[0], labels[1:], c._meta.line, _body(c.body)))
        elif isinstance(c, AttributeRule):
            out.attrs.append(Attr(str(c.identifier.serialize()), c._meta.line, classify(c.expression.serialize())))
    return out


def parse_text(text) -> Body:
    return _body(hcl2.parses(text, discard_comments=True).body)


def parse_file(path) -> Body:
    with open(path) as f:
        return parse_text(f.read())
