"""Reading JSON strictly (stage 1 of validation) and writing it in the project's fixed format.
A document that starts with '<' is FHIR XML and is read by `fhirrug.xmlio` into the same form.

Reading never raises for bad input: it returns the parsed value (or None) and the issues.
Writing is atomic: a temp file in the same folder, fsync, os.replace, fsync of the folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from .issues import FATAL, Issue

MAX_FILE_BYTES = 20 * 1024 * 1024  # no real Questionnaire comes near this
MAX_DEPTH = 128  # FHIR nests items deeply, but never this deeply
# JSON values (objects, arrays, strings, numbers, ...) in one document: validating takes time per
# value (~10 us across the stages), so this, not the byte size, bounds the time per file (about
# 2 s). The package's largest resource holds under 5,000; 20 MB of `[0,0,...]` would be 10 million.
MAX_VALUES = 125_000
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


class _NotJson(ValueError):
    """Input json.loads accepts but RFC 8259 (and so FHIR JSON) does not."""


def _reject_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NotJson(f"number {text[:40]} is too large for a JSON number (it would become Infinity)")
    return value


# One decoder, built once: json.loads with hooks builds a new JSONDecoder per call, which was
# most of the cost of parsing a small document (an NDJSON line).
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_reject_constant, parse_float=_finite_float)


def _has_lone_surrogate(text: str, value: Any) -> bool:
    """True when a string holds a lone UTF-16 surrogate (from a `\\ud800` escape): not Unicode
    text, and a traceback waiting to happen when a report is written as UTF-8."""
    if not _SURROGATE_ESCAPE.search(text):
        return False  # decoded UTF-8 cannot hold surrogates; only escapes can make them
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _depth_exceeds(value: Any, limit: int) -> bool:
    # Level by level, each level's children gathered by list.extend: about 3x faster than a
    # stack of (node, depth) pairs, which cost the self-diagnosis responses more than decoding.
    level = [value] if value.__class__ is dict or value.__class__ is list else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list = []
        for node in level:
            below += node.values() if node.__class__ is dict else node
        level = [v for v in below if v.__class__ is dict or v.__class__ is list]
    return False


def _too_many_values(value: Any, limit: int) -> bool:
    count = 1
    stack = [value]
    while stack:
        node = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        count += len(children)
        if count > limit:
            return True
        stack.extend(v for v in children if isinstance(v, (dict, list)))
    return False


def parse_bytes(raw: bytes, file: str, *, max_depth: int = MAX_DEPTH, max_values: int = MAX_VALUES) -> tuple[Any, list[Issue]]:
    """Parse one JSON document strictly. Returns (value or None, issues)."""

    def fatal(code: str, message: str) -> tuple[None, list[Issue]]:
        return None, [Issue(code, FATAL, message, file, "")]

    if raw[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        # FHIR XML: read into the same JSON form (fhirrug.xmlio), so every later stage is the same.
        from .xmlio import parse_xml_bytes

        value, issues = parse_xml_bytes(raw, file, max_depth=max_depth)
        if value is not None and len(raw) >= 2 * max_values and _too_many_values(value, max_values):
            return fatal("fhirrug-file-too-large", f"the resource holds more than {max_values:,} values, the limit (it keeps validating one file within seconds)")
        return value, issues
    if raw.startswith(b"\xef\xbb\xbf"):
        return fatal("fhirrug-json-bom", "file starts with a UTF-8 byte-order mark, which FHIR JSON must not have")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return fatal("fhirrug-json-encoding", f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}")
    if not text.strip():
        return fatal("fhirrug-json-syntax", "file is empty")
    try:
        value = _DECODER.decode(text)
    except _DuplicateKey as exc:
        return fatal("fhirrug-json-duplicate-key", f"duplicate key {str(exc)!r} in one JSON object")
    except RecursionError:
        return fatal("fhirrug-json-too-deep", f"JSON nesting deeper than {max_depth} levels")
    except json.JSONDecodeError as exc:
        issue = Issue("fhirrug-json-syntax", FATAL, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", file, "", exc.lineno, exc.colno)
        return None, [issue]
    except _NotJson as exc:  # NaN / Infinity / a number that overflows to Infinity
        return fatal("fhirrug-json-syntax", f"invalid JSON: {exc}")
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        return fatal("fhirrug-json-syntax", f"invalid JSON: {exc}")
    # Fewer brackets than the limit (strings included) cannot nest deeper: skip the walk (NDJSON lines).
    if text.count("{") + text.count("[") > max_depth and _depth_exceeds(value, max_depth):
        return fatal("fhirrug-json-too-deep", f"JSON nesting deeper than {max_depth} levels")
    # Every value takes two bytes at least ("0,"): a shorter text cannot hold too many.
    if len(text) >= 2 * max_values and isinstance(value, (dict, list)) and _too_many_values(value, max_values):
        return fatal("fhirrug-file-too-large", f"the resource holds more than {max_values:,} values, the limit (it keeps validating one file within seconds)")
    if _has_lone_surrogate(text, value):
        return fatal("fhirrug-json-encoding", "a string holds a lone UTF-16 surrogate escape (\\ud800-\\udfff), which is not Unicode text")
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}.get(type(value), type(value).__name__)
        return fatal("fhirrug-json-not-object", f"top level is a JSON {kind}, not an object")
    return value, []


def read_json(path: Path | str, *, max_bytes: int = MAX_FILE_BYTES) -> tuple[Any, list[Issue]]:
    """Read and parse one file: size limit first (never read a 100 MB file into memory), then parse."""
    data, issues, _ = read_json_bytes(path, max_bytes=max_bytes)
    return data, issues


def read_json_bytes(path: Path | str, *, max_bytes: int = MAX_FILE_BYTES) -> tuple[Any, list[Issue], bytes | None]:
    """As `read_json`, also returning the bytes read (None when unreadable), so that later stages
    (the positions of findings) need not read the file again."""
    path = Path(path)
    file = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, [Issue("fhirrug-file-too-large", FATAL, f"file is {size} bytes; the limit is {max_bytes}", file, "")], None
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)  # the file may have grown since stat (or be a pipe)
        if len(raw) > max_bytes:
            return None, [Issue("fhirrug-file-too-large", FATAL, f"file is over {max_bytes} bytes, the limit", file, "")], None
    except OSError as exc:
        return None, [Issue("fhirrug-file-unreadable", FATAL, f"cannot read file: {exc.strerror or exc}", file, "")], None
    data, issues = parse_bytes(raw, file)
    return data, issues, raw


def dumps(value: Any) -> str:
    """The project's fixed format: 2-space indent, keys in their given order, UTF-8 kept, final newline."""
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def atomic_write(path: Path | str, text: str | bytes) -> None:
    """Replace `path` with `text` so that a reader sees either the old or the new file, never a mix."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    with atomic_file(path) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_file(path: Path | str) -> Iterator[BinaryIO]:
    """A binary file to write (a report written piece by piece) that replaces `path` when the
    block ends without an exception, as `atomic_write` does; else it is removed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; keep the replaced file's mode, else the usual umask-based 0666.
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def fsync_dir(folder: Path | str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
