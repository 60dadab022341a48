"""Evaluating many responses: reading inputs lazily, one record per response, a summary.

Used by `fhirrug evaluate`; importable without click. Inputs are streamed: an NDJSON file of a
million responses is read line by line, and nothing is kept per response beyond the counts of
the summary, so memory does not grow with the number of responses.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator

from ..issues import ERROR, FATAL, Issue
from ..jsonio import MAX_FILE_BYTES, fsync_dir, parse_bytes, read_json

try:  # orjson is optional: faster NDJSON lines when it is installed
    import orjson as _orjson

    def _loads(raw: bytes) -> Any:
        return _orjson.loads(raw)

    _DECODE_ERRORS: tuple = (_orjson.JSONDecodeError, UnicodeDecodeError, ValueError)
except ImportError:  # pragma: no cover - exercised when orjson is absent
    _orjson = None

    def _loads(raw: bytes) -> Any:
        return json.loads(raw)

    _DECODE_ERRORS = (ValueError, UnicodeDecodeError)

NDJSON_SUFFIXES = (".ndjson", ".jsonl")


def dumps_line(value: Any) -> str:
    """One compact JSON line (orjson when installed: several times faster for big batches)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(value).decode("utf-8")
        except TypeError:  # e.g. lone surrogates from bad input: the standard library copes
            pass
    return json.dumps(value, ensure_ascii=False)


@dataclass
class Input:
    """One response to evaluate (or the reason it could not be read)."""

    file: str  # the file, or '-' for standard input
    position: int  # 1-based: line of an NDJSON file, entry of a Bundle, 1 for a single resource
    data: Any = None
    issues: list[Issue] = field(default_factory=list)
    line: bool = False  # position is an NDJSON line number

    @property
    def where(self) -> str:
        if self.line:
            return f"{self.file}:{self.position}"
        return self.file if self.position <= 1 else f"{self.file}#{self.position}"


def parse_ndjson_line(raw: bytes, file: str, number: int) -> Input | None:
    """Line `number` (1-based) of NDJSON file `file` as an Input; None for a blank line. Public so
    that fhirrug.spark, which reads the lines itself, makes exactly the same Input. `raw` may end
    with its line end (\n or \r\n) or not: it is not part of the line (a cut-off line is then
    "unexpected end of data", not a control character in a string)."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if not raw.strip():
        return None
    try:
        data = _loads(raw)
    except _DECODE_ERRORS as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Input(file, number, None, [Issue("fhirrug-json-syntax", FATAL, f"line {number}: invalid JSON: {message}", file, "")], line=True)
    if not isinstance(data, dict):
        return Input(file, number, None, [Issue("fhirrug-json-not-object", FATAL, f"line {number}: a JSON {type(data).__name__}, not an object", file, "")], line=True)
    return Input(file, number, data, line=True)


def _ndjson_lines(stream: IO[bytes], file: str) -> Iterator[Input]:
    for number, raw in enumerate(stream, 1):
        item = parse_ndjson_line(raw, file, number)
        if item is not None:
            yield item


def _resource(data: Any, file: str) -> Iterator[Input]:
    """A parsed JSON file: one resource, or a Bundle whose entries are the responses."""
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        entries = data.get("entry") if isinstance(data.get("entry"), list) else []
        for k, entry in enumerate(entries, 1):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == "QuestionnaireResponse":
                yield Input(file, k, resource)
        return
    yield Input(file, 1, data)


def iter_inputs(paths: list[str], stdin: IO[bytes] | None = None) -> Iterator[Input]:
    """Every response in `paths`: .json or FHIR .xml files (a resource or a Bundle of them),
    .ndjson files, folders (their *.json, *.xml and *.ndjson files, sorted), '-' for standard
    input (JSON, XML or NDJSON)."""
    for name in paths:
        if name == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            raw = stream.read(MAX_FILE_BYTES + 1)
            if len(raw) > MAX_FILE_BYTES:
                # Too big for one document: it can only be NDJSON; stream the rest.
                import io
                import itertools

                yield from _ndjson_lines(itertools.chain(io.BytesIO(raw), stream), "-")
                continue
            data, issues = parse_bytes(raw, "-")
            if data is None and raw.count(b"\n") > 1 and raw.lstrip().startswith(b"{"):
                import io

                yield from _ndjson_lines(io.BytesIO(raw), "-")
            elif data is None:
                yield Input("-", 1, None, issues)
            else:
                yield from _resource(data, "-")
            continue
        path = Path(name)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and (p.suffix in (".json", ".xml") or p.suffix in NDJSON_SUFFIXES))
        else:
            files = [path]
        for file in files:
            if file.suffix in NDJSON_SUFFIXES:
                try:
                    with open(file, "rb") as handle:
                        yield from _ndjson_lines(handle, str(file))
                except OSError as exc:
                    yield Input(str(file), 0, None, [Issue("fhirrug-file-unreadable", FATAL, f"cannot read file: {exc.strerror or exc}", str(file), "")])
                continue
            data, issues = read_json(file)
            if data is None:
                yield Input(str(file), 1, None, issues)
            else:
                yield from _resource(data, str(file))


@dataclass
class Summary:
    responses: int = 0
    valid: int = 0
    invalid: int = 0
    unevaluated: int = 0  # unreadable, or no Questionnaire found
    outcomes: Counter = field(default_factory=Counter)

    def add(self, record: dict) -> None:
        self.responses += 1
        if record["valid"]:
            self.valid += 1
        else:
            self.invalid += 1
        if record.get("questionnaire") is None:
            self.unevaluated += 1
        for outcome in record["outcomes"]:
            self.outcomes[f"{outcome['system']}|{outcome['code']}"] += 1

    def to_dict(self) -> dict:
        return {
            "responses": self.responses,
            "valid": self.valid,
            "invalid": self.invalid,
            "unevaluated": self.unevaluated,
            "outcomes": dict(sorted(self.outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
        }


def evaluate_input(engine, item: Input, questionnaire: dict | None = None) -> tuple[dict, Any]:
    """(record, evaluation or None) for one input."""
    if item.data is None:
        issues = item.issues
        evaluation = None
    else:
        evaluation, issues = engine.evaluate(item.data, questionnaire, file=item.file)
    rid = item.data.get("id") if isinstance(item.data, dict) else None
    record = {
        "response": rid if isinstance(rid, str) else item.position,
        "file": item.file,
        "position": item.position,
        "questionnaire": evaluation.questionnaire if evaluation is not None else None,
        "valid": evaluation.valid if evaluation is not None else False,
        "enabled": evaluation.enabled if evaluation is not None else [],
        "outcomes": evaluation.outcomes if evaluation is not None else [],
        # Built by hand: dataclasses.asdict deep-copies and is the slowest step of a batch.
        "issues": [{"code": i.code, "severity": i.severity, "message": i.message, "file": i.file, "expression": i.expression} for i in issues],
    }
    if item.line:
        record["line"] = item.position
    return record, evaluation


def is_failure(issue: dict) -> bool:
    return issue["severity"] in (ERROR, FATAL)


class StrippedWriter:
    """Writes stripped responses: OUT ending in .ndjson/.jsonl is one NDJSON file (written to a
    temp file and renamed at the end: all or nothing); otherwise OUT is a folder receiving one
    `<file stem>[-<position>].json` per response, each written atomically."""

    def __init__(self, out: Path):
        self.out = out
        self.ndjson = out.suffix in NDJSON_SUFFIXES
        self._handle = None
        self._tmp = None
        self.count = 0
        if self.ndjson:
            out.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
            self._handle = os.fdopen(fd, "wb")
        else:
            out.mkdir(parents=True, exist_ok=True)

    def write(self, item: Input, stripped: dict) -> None:
        from ..jsonio import atomic_write, dumps

        self.count += 1
        if self._handle is not None:
            self._handle.write(json.dumps(stripped, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace") + b"\n")
            return
        stem = Path(item.file).stem if item.file != "-" else "stdin"
        rid = stripped.get("id")
        name = f"{stem}.json" if item.position <= 1 and not item.line else f"{stem}-{rid if isinstance(rid, str) else item.position}.json"
        atomic_write(self.out / name, dumps(stripped))

    def close(self, commit: bool = True) -> None:
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        try:
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            handle.close()
        if commit:
            os.replace(self._tmp, self.out)
            fsync_dir(self.out.parent)
        else:
            os.unlink(self._tmp)
