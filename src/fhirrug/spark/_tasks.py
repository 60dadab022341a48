"""What runs on the executors: one partition of NDJSON lines (or JSON values) in, one result row
per response out.

Nothing here imports pyspark: the functions receive plain iterators of rows and a broadcast
variable, so an executor needs only fhirrug's engine (no click, no fhir.resources).

The record is made by `fhirrug.engine.batch.evaluate_input`, the function `fhirrug evaluate`
uses, and serialised by `dumps_line`, so a Spark record is the single-process record byte for
byte. Each Python worker builds one `Engine` per broadcast package and keeps it, so every
Questionnaire is compiled once per worker, not once per task or per response.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from itertools import repeat
from typing import Any, Iterable, Iterator

from ..engine import Engine, strip_disabled
from ..engine.batch import Input, Summary, dumps_line, evaluate_input, parse_ndjson_line
from ..issues import FATAL, Issue
from ..jsonio import parse_bytes


@dataclass(frozen=True)
class Context:
    """What every task needs, broadcast once per job."""

    package: Any  # a fhirrug.package.Package (pickled with its parsed resources)
    questionnaire: dict | None = None  # evaluate every response against this one (`-q`)
    strip: bool = False  # also return each response with the disabled answers removed
    splits: dict | None = None  # (file_path, block_start) -> (lines before the split, lines in it)
    names: dict | None = None  # Spark's file_path -> the file name records carry


_ENGINE: list = [None, None]  # [broadcast, its Engine]: one per Python worker process


def _engine(broadcast) -> tuple[Engine, Context]:
    # A worker holds one Broadcast object per broadcast id for its lifetime, so identity is the
    # key; a new job's package replaces the old one (memory stays flat).
    context = broadcast.value
    if _ENGINE[0] is not broadcast:
        _ENGINE[:] = [broadcast, Engine(context.package)]
    return _ENGINE[1], context


def _encode(value: Any) -> bytes:
    # Lone surrogates from bad input cannot be UTF-8: written as the "\ud800" escape they came from.
    return dumps_line(value).encode("utf-8", "backslashreplace")


class SummaryParam:
    """Spark accumulator of `fhirrug.engine.batch.Summary`: each task counts its records with
    `Summary.add`, as `fhirrug evaluate` does, and the driver merges the tasks' summaries. Spark
    applies a result task's accumulator update once, even when the task is retried or run
    speculatively, so the counts are exact for the job that writes the records."""

    def zero(self, value: Summary) -> Summary:
        return Summary()

    def addInPlace(self, total: Summary, part: Summary) -> Summary:  # noqa: N802 - PySpark's name
        for name in (f.name for f in fields(Summary)):
            mine, theirs = getattr(total, name), getattr(part, name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            else:
                setattr(total, name, mine + theirs)
        return total


def result(engine: Engine, item: Input, context: Context, summary: Summary | None = None) -> tuple:
    """(response id or None, record JSON, stripped response JSON or None) for one input, counted
    in `summary` when given.

    Never raises: an internal failure on one response becomes that response's record with a
    fatal issue, so one odd response cannot fail a job of millions."""
    try:
        record, evaluation = evaluate_input(engine, item, context.questionnaire)
        stripped = strip_disabled(evaluation.plan, item.data, evaluation) if context.strip and evaluation is not None else None
    except Exception as exc:  # noqa: BLE001 - contained per response, reported in its record
        failed = Input(item.file, item.position, None, [Issue("fhirrug-internal-error", FATAL, f"internal error evaluating this response: {type(exc).__name__}: {exc}", item.file, "")], line=item.line)
        record, _ = evaluate_input(engine, failed)
        if isinstance(item.data, dict) and isinstance(item.data.get("id"), str):
            record["response"] = item.data["id"]
        stripped = None
    if summary is not None:
        summary.add(record)
    response = record["response"] if isinstance(record["response"], str) else None
    return response, _encode(record), _encode(stripped) if stripped is not None else None


class SplitMismatch(RuntimeError):
    """Spark read a different number of lines from a split than the counting pass did."""


def evaluate_lines(broadcast, rows: Iterable, accumulator=None) -> Iterator[tuple]:
    """mapPartitions over (file_path, block_start, line bytes) rows, in file order within each
    split: (file, line, response, record, stripped) for every non-blank line. With an
    accumulator (of SummaryParam), the partition's summary is added to it at the end."""
    engine, context = _engine(broadcast)
    summary = Summary() if accumulator is not None else None
    splits, names = context.splits, context.names
    key = None
    seen = base = expected = 0
    file = ""
    for path, start, raw in rows:
        if (path, start) != key:
            if key is not None and seen != expected:
                raise SplitMismatch(f"{file}: {seen} lines read from the split at byte {key[1]}, {expected} counted")
            key = (path, start)
            base, expected = splits[key]
            file = names.get(path, path)
            seen = 0
        seen += 1
        item = parse_ndjson_line(bytes(raw), file, base + seen)
        if item is not None:
            yield (file, item.position, *result(engine, item, context, summary))
    if key is not None and seen != expected:
        raise SplitMismatch(f"{file}: {seen} lines read from the split at byte {key[1]}, {expected} counted")
    if accumulator is not None:
        accumulator.add(summary)


BATCH = 4096  # rows per Arrow batch handed back to the JVM


def _rows(batches: Iterable) -> Iterator[tuple]:
    import pyarrow.compute as pc

    for batch in batches:
        paths, starts, values = (batch.column(k) for k in range(3))
        if len(pc.unique(starts)) == 1 and len(pc.unique(paths)) == 1:  # one byte range: the usual batch
            yield from zip(repeat(paths[0].as_py()), repeat(starts[0].as_py()), values.to_pylist())
        else:
            yield from zip(paths.to_pylist(), starts.to_pylist(), values.to_pylist())


def evaluate_batches(broadcast, accumulator, batches: Iterable) -> Iterator:
    """mapInArrow: Arrow batches of (file_path, block_start, value) in, batches of
    (file, line, response, record, stripped) out. Arrow moves the lines and records between the
    JVM and Python as whole columns, far cheaper than pickling row by row."""
    import pyarrow as pa

    schema = pa.schema([("file", pa.string()), ("line", pa.int64()), ("response", pa.string()), ("record", pa.binary()), ("stripped", pa.binary())])

    def batch(done: list):
        return pa.RecordBatch.from_arrays([pa.array(column, type=field.type) for column, field in zip(zip(*done), schema)], schema=schema)

    done: list = []
    for row in evaluate_lines(broadcast, _rows(batches), accumulator):
        done.append(row)
        if len(done) == BATCH:
            yield batch(done)
            done = []
    if done:
        yield batch(done)


def evaluate_value(broadcast, value: Any) -> tuple:
    """A Python UDF over one JSON column value (a whole JSON document: a string or bytes):
    (response, record, stripped). The value has no file or line; its record says file ''."""
    engine, context = _engine(broadcast)
    if value is None:
        item = Input("", None, None, [Issue("fhirrug-json-syntax", FATAL, "the value is null, not a JSON document", "", "")])
    else:
        raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)
        data, issues = parse_bytes(raw, "")
        item = Input("", None, data, issues)
    return result(engine, item, context)
