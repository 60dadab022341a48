"""Reading JSON strictly (stage 1 of validation) and writing it in the project's fixed format.

Reading never raises for bad input: it returns the parsed value (or None) and the issues.
Writing is atomic: a temp file in the same folder, fsync, os.replace, fsync of the folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .issues import FATAL, Issue

MAX_FILE_BYTES = 20 * 1024 * 1024  # no real Questionnaire comes near this
MAX_DEPTH = 128  # FHIR nests items deeply, but never this deeply


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return False


def parse_bytes(raw: bytes, file: str, *, max_depth: int = MAX_DEPTH) -> tuple[Any, list[Issue]]:
    """Parse one JSON document strictly. Returns (value or None, issues)."""

    def fatal(code: str, message: str) -> tuple[None, list[Issue]]:
        return None, [Issue(code, FATAL, message, file, "")]

    if raw.startswith(b"\xef\xbb\xbf"):
        return fatal("fhirrug-json-bom", "file starts with a UTF-8 byte-order mark, which FHIR JSON must not have")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return fatal("fhirrug-json-encoding", f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}")
    if not text.strip():
        return fatal("fhirrug-json-syntax", "file is empty")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except _DuplicateKey as exc:
        return fatal("fhirrug-json-duplicate-key", f"duplicate key {str(exc)!r} in one JSON object")
    except RecursionError:
        return fatal("fhirrug-json-too-deep", f"JSON nesting deeper than {max_depth} levels")
    except json.JSONDecodeError as exc:
        return fatal("fhirrug-json-syntax", f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except ValueError as exc:  # NaN / Infinity
        return fatal("fhirrug-json-syntax", f"invalid JSON: {exc}")
    if _depth_exceeds(value, max_depth):
        return fatal("fhirrug-json-too-deep", f"JSON nesting deeper than {max_depth} levels")
    if not isinstance(value, dict):
        return fatal("fhirrug-json-not-object", f"top level is a JSON {type(value).__name__}, not an object")
    return value, []


def read_json(path: Path | str, *, max_bytes: int = MAX_FILE_BYTES) -> tuple[Any, list[Issue]]:
    """Read and parse one file: size limit first (never read a 100 MB file into memory), then parse."""
    path = Path(path)
    file = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, [Issue("fhirrug-file-too-large", FATAL, f"file is {size} bytes; the limit is {max_bytes}", file, "")]
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Issue("fhirrug-file-unreadable", FATAL, f"cannot read file: {exc.strerror or exc}", file, "")]
    return parse_bytes(raw, file)


def dumps(value: Any) -> str:
    """The project's fixed format: 2-space indent, keys in their given order, UTF-8 kept, final newline."""
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def atomic_write(path: Path | str, text: str | bytes) -> None:
    """Replace `path` with `text` so that a reader sees either the old or the new file, never a mix."""
    path = Path(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
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


def fsync_dir(folder: Path | str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
