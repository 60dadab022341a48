"""Line and column of findings: where in its file each FHIRPath location is.

The strict parser (`fhirrug.jsonio`) uses `json.loads`, which keeps no positions, and most files
have no findings. So positions are found afterwards and only for the files that have findings,
from their bytes (kept from the one read): each finding's expression
(`Questionnaire.item[2].enableWhen[0].question`) is walked down the text, and at each container
the members are stepped over by json's C scanner, so only the containers on the paths of
findings are looked into, once each. The position is where
the element's value starts (a `{` for an object, the opening quote of a string), 1-based, in
Unicode code points (SARIF's `columnKind: unicodeCodePoints`).

A location the file does not hold exactly (a finding about a missing element, `.ofType()`, the
`_text` sibling of a primitive's extension) gets the position of the deepest element on its path
that the file does hold; a finding without an expression gets none (0, 0), except parse errors,
which carry the parser's own line and column.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from dataclasses import replace
from typing import Iterable, Mapping

from .issues import Issue

_OF_TYPE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)\.ofType\(([A-Za-z])([A-Za-z0-9_]*)\)")
_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)(?:\(([A-Za-z_][A-Za-z0-9_]*)\))?(?:\[(\d+)\])?")
_SPACE = re.compile(r"[ \t\n\r]*")
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # the C scanner: parses one value, returns its end
_scanstring = json.decoder.scanstring


def _scan(text: str, offset: int):
    """`_SCAN`, which signals bytes that are not JSON with StopIteration: a ValueError here, as
    the callers expect (a truncated file's position lookup ended `evaluate` as an internal error)."""
    try:
        return _SCAN(text, offset)
    except StopIteration as exc:
        raise ValueError(f"no JSON value at offset {exc.value}") from None


class _Node:
    """A JSON value at `offset` in `text`. Its children (key or index -> _Node) are found on first
    use: the members are stepped over by the C scanner, so only the containers on the paths of
    findings are ever looked into."""

    __slots__ = ("text", "offset", "_children")

    def __init__(self, text: str, offset: int):
        self.text = text
        self.offset = offset
        self._children = None

    @property
    def kind(self) -> str:
        return self.text[self.offset]

    @property
    def children(self):
        """A dict for an object, a list for an array, None for a scalar."""
        if self._children is None and self.kind in "{[":
            self._children = _members(self.text, self.offset)
        return self._children


def _members(text: str, offset: int):
    space = _SPACE.match
    close = "}" if text[offset] == "{" else "]"
    found: dict | list = {} if close == "}" else []
    i = space(text, offset + 1).end()
    if text[i] == close:
        return found
    while True:
        if close == "}":
            key, i = _scanstring(text, i + 1)
            i = space(text, space(text, i).end() + 1).end()  # past the ':'
            found[key] = _Node(text, i)
        else:
            found.append(_Node(text, i))
        _, i = _scan(text, i)
        i = space(text, i).end()
        if text[i] != ",":
            return found
        i = space(text, i + 1).end()


def index(text: str) -> _Node | None:
    """The root of a JSON document (which has parsed: no syntax checks here)."""
    start = _SPACE.match(text).end()
    return _Node(text, start) if start < len(text) else None


def resource_type(text: str) -> str | None:
    """The top-level `resourceType` of a JSON document, read without parsing the rest."""
    root = index(text)
    node = root.children.get("resourceType") if root is not None and type(root.children) is dict else None
    if node is None:
        return None
    value, _ = _scan(text, node.offset)
    return value if isinstance(value, str) else None


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


def line_columns(text: str, offsets: Iterable[int]) -> dict[int, tuple[int, int]]:
    """offset -> 1-based (line, column in code points), counting the newlines once, in order."""
    out = {}
    line, previous, line_start = 1, 0, -1  # line_start: the offset of the newline before the line
    for offset in sorted(set(offsets)):
        newlines = text.count("\n", previous, offset)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", previous, offset)  # searches only what is new: linear overall
        out[offset] = (line, offset - line_start)
        previous = offset
    return out


def locate(text: str, expressions: Iterable[str]) -> dict[str, tuple[int, int]]:
    """expression -> (line, column) for each expression that can be placed in `text`."""
    root = index(text)
    if root is None:
        return {}
    offsets = {}
    for expression in expressions:
        offset = _walk(root, expression)
        if offset is not None:
            offsets[expression] = offset
    places = line_columns(text, offsets.values())
    return {expression: places[offset] for expression, offset in offsets.items()}


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
            text = sources[file].decode("utf-8")
            # FHIR XML (fhirrug.xmlio) has no JSON text to walk: its findings have no position
            positions[file] = locate(text, expressions) if text.lstrip()[:1] == "{" else {}
        except (UnicodeDecodeError, IndexError, ValueError, RecursionError):
            positions[file] = {}  # bytes that did not parse as JSON have no findings with a location
    out = []
    for issue in issues:
        where = positions.get(issue.file, {}).get(issue.expression) if issue.expression and not issue.line else None
        out.append(replace(issue, line=where[0], column=where[1]) if where else issue)
    return out
