"""Evaluating many responses: reading inputs lazily, one record per response, a summary.

Used by `fhirrug evaluate`; importable without click. Inputs are streamed: an NDJSON file of a
million responses is read line by line, and nothing is kept per response beyond the counts of
the summary, so memory does not grow with the number of responses.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from ..issues import ERROR, FATAL, Issue
from ..jsonio import MAX_FILE_BYTES, fsync_dir, parse_bytes, read_json
from ..jsontypes import json_type

try:  # orjson is optional: faster output lines when it is installed
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised when orjson is absent
    _orjson = None

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR's id type: safe in a file name


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


_CHUNK = 1 << 20  # bytes read at a time from an NDJSON stream


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    # read1 returns what a pipe has now (a slow producer is evaluated as it writes), read what a file has.
    read = getattr(stream, "read1", None) or stream.read
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            return
        yield chunk


def split_lines(chunks: Iterable[bytes], limit: int | None = None) -> Iterator[tuple[int, bytes | None]]:
    """(line number, the line's bytes) for every line of a byte stream given in chunks of any
    size; None instead of the bytes for a line longer than `limit` (default: the file size
    limit), which is skipped without being kept: memory stays within the limit and a chunk
    whatever the stream's size. Exact whatever the chunking: a line split across chunks is joined."""
    limit = MAX_FILE_BYTES if limit is None else limit
    number = 0
    parts: list[bytes] = []
    size = 0
    too_long = False
    for chunk in chunks:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not too_long:
                size += len(piece)
                if size > limit:
                    too_long, parts = True, []
                elif piece:
                    parts.append(piece)
            if end < 0:
                break
            number += 1
            yield number, None if too_long else b"".join(parts)
            parts, size, too_long = [], 0, False
            start = end + 1
    if parts or too_long:
        yield number + 1, None if too_long else b"".join(parts)


def parse_ndjson_line(raw: bytes, file: str, number: int) -> Input | None:
    """Line `number` (1-based) of NDJSON file `file` as an Input; None for a blank line. Public so
    that fhirrug.spark, which reads the lines itself, makes exactly the same Input. `raw` may end
    with its line end (\n or \r\n) or not: it is not part of the line. Parsed by the same strict
    parser as a .json file (duplicate keys, NaN, lone surrogates, nesting, the value limit): the
    same bytes get the same verdict in either form."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if not raw.strip():
        return None
    data, issues = parse_bytes(raw, file)
    if data is None:
        return Input(file, number, None, [Issue(i.code, i.severity, f"line {number}: {i.message}", i.file, i.expression) for i in issues], line=True)
    return Input(file, number, data, line=True)


def _ndjson_lines(chunks: Iterable[bytes], file: str) -> Iterator[Input]:
    """One Input per non-blank line (see `parse_ndjson_line`); a line over the size limit is
    reported without being read."""
    for number, raw in split_lines(chunks):
        if raw is None:
            yield Input(file, number, None, [Issue("fhirrug-file-too-large", FATAL, f"line {number}: longer than the limit of {MAX_FILE_BYTES} bytes; not read", file, "")], line=True)
            continue
        item = parse_ndjson_line(raw, file, number)
        if item is not None:
            yield item


def _looks_like_ndjson(head: bytes, lines: int = 64) -> bool:
    """Whether standard input that is not one JSON document is NDJSON (each line reported on its
    own, nothing lost) rather than one broken document (reported once): NDJSON unless it is a
    single line, or none of its first lines is a JSON object on its own and the first line is the
    lone `{` or `[` of a pretty-printed document."""
    seen = []
    start = 0
    while len(seen) < lines:
        end = head.find(b"\n", start)
        line = head[start:] if end < 0 else head[start:end]
        if line.strip():
            seen.append(line)
            if line.lstrip()[:1] == b"{":
                try:
                    if isinstance(json.loads(line), dict):
                        return len(seen) > 1 or (end >= 0 and bool(head[end:].strip()))
                except (ValueError, UnicodeDecodeError, RecursionError):
                    pass
        if end < 0:
            break
        start = end + 1
    if len(seen) < 2:
        return False
    return seen[0].strip() not in (b"{", b"[")


def _bad_entry(file: str, position: int, message: str, expression: str) -> Input:
    return Input(file, position, None, [Issue("fhirrug-bundle-entry", ERROR, message, file, expression)])


def _resource(data: Any, file: str) -> Iterator[Input]:
    """A parsed JSON file: one resource, or a Bundle whose entries are the responses. Entries
    holding another kind of resource (a Patient, the Questionnaire) are left out; an entry that
    is not an object, has no resource, or whose resource has no resourceType is reported, and so
    is a Bundle without any response: nothing is dropped silently."""
    if not (isinstance(data, dict) and data.get("resourceType") == "Bundle"):
        yield Input(file, 1, data)
        return
    entries = data.get("entry")
    if entries is not None and not isinstance(entries, list):
        yield Input(file, 1, None, [Issue("fhirrug-bundle-entry", ERROR, f"Bundle.entry is a JSON {json_type(entries)}, not an array", file, "Bundle.entry")])
        return
    found = 0
    for k, entry in enumerate(entries or (), 1):
        where = f"Bundle.entry[{k - 1}]"
        if not isinstance(entry, dict):
            yield _bad_entry(file, k, f"the entry is a JSON {json_type(entry)}, not an object", where)
            found += 1
            continue
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            message = "the entry has no resource" if resource is None else f"the entry's resource is a JSON {json_type(resource)}, not an object"
            yield _bad_entry(file, k, message, where if resource is None else f"{where}.resource")
            found += 1
            continue
        kind = resource.get("resourceType")
        if kind == "QuestionnaireResponse":
            yield Input(file, k, resource)
            found += 1
        elif not isinstance(kind, str) or not kind:
            yield _bad_entry(file, k, "the entry's resource has no resourceType", f"{where}.resource")
            found += 1
    if not found:
        count = len(entries or ())
        message = "the Bundle has no entries" if not count else f"none of the Bundle's {count} entries is a QuestionnaireResponse"
        yield Input(file, 1, None, [Issue("fhirrug-bundle-empty", ERROR, message, file, "Bundle.entry" if count else "Bundle")])


def _read_up_to(stream: IO[bytes], size: int) -> bytes:
    """`size` bytes, fewer only at the end of the stream (a raw stream may return less per read)."""
    parts, have = [], 0
    while have < size:
        chunk = stream.read(size - have)
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts) if len(parts) != 1 else parts[0]


def _stdin_inputs(stream: IO[bytes]) -> Iterator[Input]:
    """Standard input: one JSON document (a response or a Bundle), or NDJSON of any size."""
    head = _read_up_to(stream, MAX_FILE_BYTES + 1)
    if len(head) > MAX_FILE_BYTES:
        if _looks_like_ndjson(head):
            # The head and the rest are one stream: the line across the boundary stays whole.
            yield from _ndjson_lines(itertools.chain((head,), _chunks(stream)), "-")
        else:
            yield Input("-", 1, None, [Issue("fhirrug-file-too-large", FATAL, f"standard input is over the limit of {MAX_FILE_BYTES} bytes and is not NDJSON", "-", "")])
        return
    if not head.strip():
        return  # nothing at all (an upstream step found nothing): no response, as NDJSON of blank lines
    data, issues = parse_bytes(head, "-")
    if data is None and _looks_like_ndjson(head):
        yield from _ndjson_lines((head,), "-")
    elif data is None:
        yield Input("-", 1, None, issues)
    else:
        yield from _resource(data, "-")


def iter_inputs(paths: list[str], stdin: IO[bytes] | None = None) -> Iterator[Input]:
    """Every response in `paths`: .json or FHIR .xml files (a resource or a Bundle of them),
    .ndjson files, folders (their *.json, *.xml and *.ndjson files, sorted), '-' for standard
    input (JSON, XML or NDJSON)."""
    for name in paths:
        if name == "-":
            yield from _stdin_inputs(stdin if stdin is not None else sys.stdin.buffer)
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
                        yield from _ndjson_lines(_chunks(handle), str(file))
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
    """(record, evaluation or None) for one input. A failure inside fhirrug while evaluating one
    response becomes that response's fatal `fhirrug-internal-error`; the rest of a batch goes on."""
    try:
        if item.data is None:
            return _record(item, None, item.issues), None
        evaluation, issues = engine.evaluate(item.data, questionnaire, file=item.file)
        return _record(item, evaluation, issues), evaluation
    except Exception as exc:  # noqa: BLE001 - contained to this response, reported, never a traceback
        return _record(item, None, [_internal_error(item, "evaluating this response", exc)]), None


def process_input(engine, item: Input, questionnaire: dict | None = None, writer: "StrippedWriter | None" = None) -> dict:
    """Evaluate one input and, with a writer, write it stripped of its disabled items: the record."""
    record, evaluation = evaluate_input(engine, item, questionnaire)
    if writer is None or evaluation is None:
        return record
    from . import strip_disabled

    try:
        stripped = strip_disabled(evaluation.plan, item.data, evaluation)
    except Exception as exc:  # noqa: BLE001 - as above: this response is reported, not lost
        issue = _internal_error(item, "stripping the disabled items of this response", exc)
        record["issues"].append(issue.to_dict())
        record["valid"] = False
        return record
    writer.write(item, stripped)  # an OSError (disk full) stops the batch: the writer commits nothing
    return record


def _internal_error(item: Input, doing: str, exc: Exception) -> Issue:
    if os.environ.get("FHIRRUG_DEBUG"):
        import traceback

        traceback.print_exc()
    message = f"{doing} failed: {type(exc).__name__}: {exc} (this is a bug in fhirrug; the other responses are evaluated; FHIRRUG_DEBUG=1 shows the traceback)"
    return Issue("fhirrug-internal-error", FATAL, message, item.file, "QuestionnaireResponse")


def _record(item: Input, evaluation: Any, issues: list[Issue]) -> dict:
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
    return record


def is_failure(issue: dict) -> bool:
    return issue["severity"] in (ERROR, FATAL)


class StrippedWriter:
    """Writes stripped responses: OUT ending in .ndjson/.jsonl is one NDJSON file (written to a
    temp file and renamed at the end: all or nothing); otherwise OUT is a folder receiving one
    `<file stem>[-<id or position>].json` per response (see `_name`), each written atomically."""

    def __init__(self, out: Path):
        self.out = out
        self.ndjson = out.suffix in NDJSON_SUFFIXES
        self._handle = None
        self._tmp = None
        self.count = 0
        self.renamed = 0  # responses written under another name than their first choice (a clash)
        self._names: set[str] = set()  # names written in this run
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
        atomic_write(self.out / self._name(item, stripped), dumps(stripped))

    def _name(self, item: Input, stripped: dict) -> str:
        """`<file stem>.json` for a single response, `<file stem>-<id or position>.json` for one of
        many; never the name of an earlier response of this run (a.json and b/a.json, two lines
        with one id: the later gets `-<position>`, then `~2`, ...), never a path outside OUT."""
        stem = Path(item.file).stem if item.file != "-" else "stdin"
        rid = stripped.get("id")
        label = rid if isinstance(rid, str) and _FHIR_ID.fullmatch(rid) else str(item.position)
        base = f"{stem}" if item.position <= 1 and not item.line else f"{stem}-{label}"
        name = f"{base}.json"
        if name.lower() in self._names:  # lower: a.json and A.json are one file on some systems
            base = f"{base}-{item.position}" if label != str(item.position) else base
            name, n = f"{base}.json", 1
            while name.lower() in self._names:
                n += 1
                name = f"{base}~{n}.json"
            self.renamed += 1
        self._names.add(name.lower())
        return name

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
