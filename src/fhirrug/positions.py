"""Line and column of findings: where in its file each FHIRPath location is.

The strict parser (`fhirrug.jsonio`) uses `json.loads`, which keeps no positions, and most files
have no findings. So positions are found afterwards and only for the files that have findings:
their bytes (kept from the one read) are scanned once by a regular expression that yields every
JSON token with its offset, which builds a tree of offsets; each finding's expression
(`Questionnaire.item[2].enableWhen[0].question`) is walked down that tree. The position is where
the element's value starts (a `{` for an object, the opening quote of a string), 1-based, in
Unicode code points (SARIF's `columnKind: unicodeCodePoints`).

A location the file does not hold exactly (a finding about a missing element, `.ofType()`, the
`_text` sibling of a primitive's extension) gets the position of the deepest element on its path
that the file does hold; a finding without an expression gets none (0, 0), except parse errors,
which carry the parser's own line and column.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable, Mapping

from .issues import Issue

# Every significant JSON token: a string, a structural character, or a bare literal/number.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+')
_OF_TYPE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)\.ofType\(([A-Za-z])([A-Za-z0-9_]*)\)")
_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)(?:\(([A-Za-z_][A-Za-z0-9_]*)\))?(?:\[(\d+)\])?")


class _Node:
    """A JSON value at `offset`; `children` is a dict (object), a list (array) or None (scalar)."""

    __slots__ = ("offset", "children")

    def __init__(self, offset: int, children):
        self.offset = offset
        self.children = children


def index(text: str) -> _Node | None:
    """The tree of offsets of a JSON document (which has parsed: no syntax checks here)."""
    import json

    root: _Node | None = None
    stack: list[list] = []  # [node, expecting a key, pending key]
    decode = json.JSONDecoder().decode
    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == "}" or first == "]":
            stack.pop()
            continue
        if first == ",":
            if stack and type(stack[-1][0].children) is dict:
                stack[-1][1] = True
            continue
        if first == ":":
            continue
        top = stack[-1] if stack else None
        if top is not None and top[1]:  # an object's key
            top[2] = decode(token) if "\\" in token else token[1:-1]
            top[1] = False
            continue
        node = _Node(match.start(), {} if first == "{" else [] if first == "[" else None)
        if top is None:
            root = node
        elif type(top[0].children) is dict:
            top[0].children[top[2]] = node
        else:
            top[0].children.append(node)
        if node.children is not None:
            stack.append([node, first == "{", None])
    return root


def _walk(root: _Node, expression: str) -> int | None:
    """The offset of `expression`'s element, or of the deepest element of its path the file holds."""
    # `value.ofType(Coding)` is the JSON property `valueCoding`
    expression = _OF_TYPE.sub(lambda m: f".{m.group(1)}{m.group(2).upper()}{m.group(3)}", expression)
    steps = []
    for step in _STEP.finditer(expression):
        if step.start() != (steps[-1].end() if steps else 0):
            break  # syntax this walk does not follow (`.where(...)`): stop at what came before
        steps.append(step)
    if not steps:
        return root.offset if expression else None
    node, parent, key = root, None, None  # the first step is the resource type: the root
    for step in steps[1:]:
        name, argument, position = step.group(1), step.group(2), step.group(3)
        if argument is not None:
            break  # a function other than ofType: stop at what came before
        if node.children is None and parent is not None and type(parent.children) is dict and ("_" + key) in parent.children:
            node = parent.children["_" + key]  # a primitive's extension lives on its _sibling
        if type(node.children) is not dict:
            break
        found = node.children.get(name)
        if found is None and ("_" + name) in node.children:
            found = node.children["_" + name]
        if found is None:
            break
        parent, key, node = node, name, found
        if position is not None:
            if type(node.children) is not list or int(position) >= len(node.children):
                break
            node = node.children[int(position)]
    return node.offset


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in code points) of `offset` in `text`."""
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def locate(text: str, expressions: Iterable[str]) -> dict[str, tuple[int, int]]:
    """expression -> (line, column) for each expression that can be placed in `text`."""
    root = index(text)
    if root is None:
        return {}
    found = {}
    for expression in expressions:
        offset = _walk(root, expression)
        if offset is not None:
            found[expression] = line_column(text, offset)
    return found


def with_positions(issues: list[Issue], sources: Mapping[str, bytes]) -> list[Issue]:
    """`issues` with line and column filled in, for the files in `sources` (file -> its bytes).
    Only files that have findings are scanned, each once."""
    wanted: dict[str, set[str]] = {}
    for issue in issues:
        if issue.file in sources and issue.expression and not issue.line:
            wanted.setdefault(issue.file, set()).add(issue.expression)
    if not wanted:
        return issues
    positions: dict[str, dict[str, tuple[int, int]]] = {}
    for file, expressions in wanted.items():
        try:
            positions[file] = locate(sources[file].decode("utf-8"), expressions)
        except (UnicodeDecodeError, IndexError, ValueError, RecursionError):
            positions[file] = {}  # bytes that did not parse as JSON have no findings with a location
    out = []
    for issue in issues:
        where = positions.get(issue.file, {}).get(issue.expression) if issue.expression and not issue.line else None
        out.append(replace(issue, line=where[0], column=where[1]) if where else issue)
    return out
