"""The executor side without Spark: line numbering across byte ranges, the per-worker engine,
contained failures, and the NDJSON line parse both paths share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhirrug.engine.batch import parse_ndjson_line
from fhirrug.package import load_package
from fhirrug.spark import _tasks  # no pyspark needed: what an executor runs

ROOT = Path(__file__).resolve().parents[2]
VALID = json.dumps(json.loads((ROOT / "examples" / "QuestionnaireResponse-zelfdiagnose-lijst1-1.json").read_text(encoding="utf-8"))).encode()



class FakeBroadcast:
    """What a Python worker holds for a broadcast variable: an object with .value."""

    def __init__(self, value):
        self.value = value


@pytest.fixture(scope="module")
def package():
    return load_package(ROOT)


def context(package, **extra):
    return FakeBroadcast(_tasks.Context(package, **extra))


def test_a_line_parses_the_same_with_or_without_its_line_end():
    cut = b'{"resourceType": "QuestionnaireResponse", "id": "x", "status": "compl'
    bare = parse_ndjson_line(cut, "f.ndjson", 3)
    for ending in (b"\n", b"\r\n"):
        assert parse_ndjson_line(cut + ending, "f.ndjson", 3).issues == bare.issues
    assert "control character" not in bare.issues[0].message.lower()  # the line end is not in the string
    assert parse_ndjson_line(b"  \r\n", "f.ndjson", 4) is None
    assert parse_ndjson_line(VALID + b"\r", "f.ndjson", 5).data == json.loads(VALID)


def test_lines_are_numbered_from_their_range_across_ranges(package):
    # Two ranges of one file: 3 lines before the second range starts.
    broadcast = context(package, splits={("file:/x/a.ndjson", 0): (0, 3), ("file:/x/a.ndjson", 4096): (3, 2)}, names={"file:/x/a.ndjson": "a.ndjson"})
    rows = [("file:/x/a.ndjson", 0, VALID), ("file:/x/a.ndjson", 0, b""), ("file:/x/a.ndjson", 0, b"{kapot"),
            ("file:/x/a.ndjson", 4096, VALID), ("file:/x/a.ndjson", 4096, b"[]")]
    out = list(_tasks.evaluate_lines(broadcast, rows))
    assert [(file, line) for file, line, *_ in out] == [("a.ndjson", 1), ("a.ndjson", 3), ("a.ndjson", 4), ("a.ndjson", 5)]
    record = json.loads(out[1][3])
    assert record["line"] == 3 and record["issues"][0]["code"] == "fhirrug-json-syntax" and record["issues"][0]["file"] == "a.ndjson"
    assert out[0][2] == "zelfdiagnose-lijst1-1" and out[1][2] is None  # the response id column


def test_a_range_with_other_lines_than_counted_fails_the_task(package):
    broadcast = context(package, splits={("p", 0): (0, 3)}, names={"p": "p"})
    with pytest.raises(_tasks.SplitMismatch):
        list(_tasks.evaluate_lines(broadcast, [("p", 0, VALID), ("p", 0, VALID)]))


def test_one_engine_per_worker_and_broadcast(package):
    first = context(package)
    engine, _ = _tasks._engine(first)
    assert _tasks._engine(first)[0] is engine  # the same plans for every task of the job
    assert _tasks._engine(context(package))[0] is not engine  # a new job's package: a new engine


def test_an_internal_error_is_the_responses_record_not_a_failed_job(package):
    class Exploding:
        def evaluate(self, *args, **kwargs):
            raise KeyError("boom")

    item = parse_ndjson_line(VALID, "a.ndjson", 7)
    response, record, stripped = _tasks.result(Exploding(), item, _tasks.Context(package, strip=True))
    record = json.loads(record)
    assert response == "zelfdiagnose-lijst1-1" and record["response"] == "zelfdiagnose-lijst1-1"
    assert (record["valid"], record["line"], record["issues"][0]["code"]) == (False, 7, "fhirrug-internal-error")
    assert stripped is None


def test_a_json_value_is_parsed_as_one_document(package):
    broadcast = context(package)
    response, record, _ = _tasks.evaluate_value(broadcast, json.dumps(json.loads(VALID), indent=2))  # pretty-printed
    assert response == "zelfdiagnose-lijst1-1" and json.loads(record)["valid"] is True
    _, record, _ = _tasks.evaluate_value(broadcast, b"\xef\xbb\xbf{}")
    assert json.loads(record)["issues"][0]["code"] == "fhirrug-json-bom"
    _, record, _ = _tasks.evaluate_value(broadcast, None)
    assert json.loads(record)["valid"] is False


def test_task_summaries_merge_into_the_single_process_summary(package):
    from fhirrug.engine.batch import Summary

    broadcast = context(package, splits={("p", 0): (0, 2), ("q", 0): (0, 1)}, names={"p": "p", "q": "q"})

    class Accumulator:  # what a task holds: add() only
        def __init__(self):
            self.parts = []

        def add(self, part):
            self.parts.append(part)

    accumulator = Accumulator()
    out = list(_tasks.evaluate_lines(broadcast, [("p", 0, VALID), ("p", 0, b"{kapot")], accumulator))
    out += list(_tasks.evaluate_lines(broadcast, [("q", 0, VALID)], accumulator))
    param = _tasks.SummaryParam()
    total = param.zero(Summary())
    for part in accumulator.parts:
        total = param.addInPlace(total, part)
    expected = Summary()
    for row in out:
        expected.add(json.loads(row[3]))
    assert total.to_dict() == expected.to_dict() and total.responses == 3 and total.invalid == 1
