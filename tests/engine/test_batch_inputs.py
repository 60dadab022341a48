"""`fhirrug.engine.batch`: NDJSON read exactly at any size and chunking, from files and stdin;
Bundles whose entries are bad; one verdict for the same bytes as .json or as an NDJSON line;
--strip-disabled never overwriting within a run; one failing response never stopping a batch."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from fhirrug.cli import main
from fhirrug.engine import batch
from fhirrug.engine.batch import iter_inputs

ROOT = Path(__file__).resolve().parents[2]
VALID = ROOT / "examples" / "QuestionnaireResponse-zelfdiagnose-lijst1-1.json"
RESPONSE = json.loads(VALID.read_text(encoding="utf-8"))


def line(**changes) -> bytes:
    return json.dumps({**RESPONSE, **changes}, separators=(",", ":")).encode()


def run(*args, input=None):
    return CliRunner().invoke(main, ["evaluate", "--no-progress", *map(str, args)], input=input)


def records(result) -> list[dict]:
    return [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


class Chunked(io.RawIOBase):
    """A stream returning at most the next planned number of bytes per read (a pipe, a socket)."""

    def __init__(self, data: bytes, sizes: list[int]):
        self.data, self.sizes, self.at = data, sizes or [1], 0

    def readable(self):
        return True

    def readinto(self, buffer):
        size = min(len(buffer), self.sizes[self.at % len(self.sizes)] if self.sizes else len(buffer))
        chunk = self.data[:size]
        self.data = self.data[size:]
        self.at += 1
        buffer[: len(chunk)] = chunk
        return len(chunk)


# -- NDJSON: exact whatever the size and chunking -------------------------------------------


def test_stdin_ndjson_line_across_the_size_limit_stays_whole(monkeypatch):
    # stdin was read as MAX_FILE_BYTES + 1 bytes, and the line straddling that boundary was
    # split in two "invalid lines" (at byte 20,971,521 with the real limit).
    monkeypatch.setattr(batch, "MAX_FILE_BYTES", 4096)
    lines = [line(id=f"r{k}") for k in range(12)]  # ~4 KB: the limit falls inside a line
    data = b"\n".join(lines) + b"\n"
    assert len(data) > 4096 and data[4095:4098].count(b"\n") == 0
    inputs = list(iter_inputs(["-"], io.BytesIO(data)))
    assert [(i.position, i.issues) for i in inputs] == [(k, []) for k in range(1, 13)]
    assert [i.data["id"] for i in inputs] == [f"r{k}" for k in range(12)]


@pytest.mark.slow
def test_stdin_ndjson_of_more_than_20_mib_is_read_exactly():
    lines = [line(id=f"r{k}") for k in range(21 * 1024 * 1024 // len(line()) + 10)]
    data = b"\n".join(lines) + b"\n"
    assert len(data) > batch.MAX_FILE_BYTES
    inputs = list(iter_inputs(["-"], io.BytesIO(data)))
    assert len(inputs) == len(lines)
    assert all(i.data is not None and not i.issues for i in inputs)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([b"", b" ", b"{}", b"{not json", line(id="x"), b"\r", b"[1]"]), max_size=12), st.lists(st.integers(1, 50), min_size=1, max_size=8), st.booleans())
def test_ndjson_lines_are_the_same_whatever_the_chunking(lines, sizes, final_newline):
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    expected = [(n, raw) for n, raw in enumerate(data.split(b"\n"), 1)]
    if expected and expected[-1][1] == b"":
        expected.pop()  # the empty rest after a final newline is no line
    assert list(batch.split_lines(batch._chunks(io.BufferedReader(Chunked(data, sizes), 7)))) == expected
    read = [(i.position, i.data, [x.code for x in i.issues]) for i in iter_inputs(["-"], io.BufferedReader(Chunked(data, sizes), 7))]
    whole = [(i.position, i.data, [x.code for x in i.issues]) for i in iter_inputs(["-"], io.BytesIO(data))]
    assert read == whole


def test_a_line_longer_than_the_limit_is_reported_without_being_held(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "_CHUNK", 64 * 1024)
    monkeypatch.setattr(batch, "MAX_FILE_BYTES", 1024 * 1024)  # a line of up to the limit is held, never more
    path = tmp_path / "long.ndjson"
    with path.open("wb") as handle:  # line 1: 24 MB without a newline; line 2: a response
        handle.write(b'{"resourceType":"QuestionnaireResponse","id":"' + b"x" * (24 * 1024 * 1024) + b'"}\n')
        handle.write(line() + b"\n")
    tracemalloc.start()
    try:
        inputs = [(i.position, [x.code for x in i.issues], i.data is not None) for i in iter_inputs([str(path)])]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert inputs == [(1, ["fhirrug-file-too-large"], False), (2, [], True)]
    assert peak < 3 * 1024 * 1024  # the 24 MB line was never in memory: flat


@pytest.mark.parametrize("data", ["", "\n", " \n\n\t\n"])
def test_stdin_of_nothing_is_nothing_to_evaluate_as_an_ndjson_file_of_blank_lines(tmp_path, data):
    # Empty standard input was one invalid record ("file is empty", exit 1) while the same bytes
    # in a .ndjson file are no response at all (exit 2): one answer for the same bytes.
    path = tmp_path / "leeg.ndjson"
    path.write_text(data)
    from_file, from_stdin = run(path, "--format", "ndjson"), run("-", "--format", "ndjson", input=data)
    assert (from_file.exit_code, from_file.stdout) == (2, "")
    assert (from_stdin.exit_code, from_stdin.stdout) == (2, "")
    assert "nothing to evaluate" in from_stdin.stderr


def test_pretty_printed_document_on_stdin_is_one_document_not_many_lines():
    # A broken pretty-printed resource used to be taken for NDJSON: one "invalid line" per line.
    text = json.dumps(RESPONSE, indent=2).replace('"status"', '"id": "x",\n  "status"', 1)
    result = run("-", "--format", "ndjson", input=text)
    assert result.exit_code == 1
    assert [[i["code"] for i in r["issues"]] for r in records(result)] == [["fhirrug-json-duplicate-key"]]


def test_a_truncated_file_among_others_is_its_own_record(tmp_path):
    # Finding the line and column of its issues ended the whole batch with StopIteration.
    (tmp_path / "a.json").write_bytes(line(id="a"))
    (tmp_path / "b.json").write_bytes(line(id="b")[:300])
    (tmp_path / "c.json").write_bytes(line(id="c"))
    result = run(tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json", "--format", "ndjson")
    assert result.exit_code == 1, result.stderr
    assert [(r["valid"], [i["code"] for i in r["issues"]]) for r in records(result)] == [(True, []), (False, ["fhirrug-json-syntax"]), (True, [])]


# -- the same bytes, the same verdict --------------------------------------------------------


def test_duplicate_keys_are_refused_in_ndjson_as_in_json(tmp_path):
    raw = line()[:-1] + b',"status":"completed"}'  # "status" twice
    (tmp_path / "one.json").write_bytes(raw)
    (tmp_path / "many.ndjson").write_bytes(line() + b"\n" + raw + b"\n")
    as_json = records(run(tmp_path / "one.json", "--format", "ndjson"))
    as_ndjson = records(run(tmp_path / "many.ndjson", "--format", "ndjson"))
    assert [i["code"] for i in as_json[0]["issues"]] == ["fhirrug-json-duplicate-key"]
    assert [r["valid"] for r in as_ndjson] == [True, False]
    assert [i["code"] for i in as_ndjson[1]["issues"]] == ["fhirrug-json-duplicate-key"]


# -- Bundles: nothing dropped ---------------------------------------------------------------


@pytest.mark.parametrize(
    "bundle, expected",
    [
        ({"resourceType": "Bundle", "type": "collection"}, [("fhirrug-bundle-empty", "Bundle")]),
        ({"resourceType": "Bundle", "type": "collection", "entry": []}, [("fhirrug-bundle-empty", "Bundle")]),
        ({"resourceType": "Bundle", "entry": {"resource": RESPONSE}}, [("fhirrug-bundle-entry", "Bundle.entry")]),
        ({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient"}}]}, [("fhirrug-bundle-empty", "Bundle.entry")]),
        (
            {"resourceType": "Bundle", "entry": [3, None, {"fullUrl": "x"}, {"resource": []}, {"resource": {"id": "r"}}]},
            [("fhirrug-bundle-entry", "Bundle.entry[0]"), ("fhirrug-bundle-entry", "Bundle.entry[1]"), ("fhirrug-bundle-entry", "Bundle.entry[2]"),
             ("fhirrug-bundle-entry", "Bundle.entry[3].resource"), ("fhirrug-bundle-entry", "Bundle.entry[4].resource")],
        ),
    ],
)
def test_bad_or_empty_bundle_is_an_issue_not_no_responses_found(tmp_path, bundle, expected):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = run(path, "--format", "ndjson")
    assert result.exit_code == 1, result.stderr
    found = [(i["code"], i["expression"]) for r in records(result) for i in r["issues"]]
    assert found == expected
    assert all(i["file"] == str(path) for r in records(result) for i in r["issues"])


def test_bundle_bad_entries_beside_good_responses(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "entry": [{"resource": RESPONSE}, "x", {"resource": RESPONSE}]}), encoding="utf-8")
    result = records(run(path, "--format", "ndjson"))
    assert [(r["position"], r["valid"]) for r in result] == [(1, True), (2, False), (3, True)]


# -- --strip-disabled -----------------------------------------------------------------------


def test_strip_disabled_never_overwrites_within_a_run(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "r.json").write_bytes(line(id="een"))
    (tmp_path / "b" / "r.json").write_bytes(line(id="twee"))
    (tmp_path / "same.ndjson").write_bytes(line(id="x") + b"\n" + line(id="x") + b"\n" + line(id="../../escape") + b"\n")
    out = tmp_path / "out"
    result = run(tmp_path / "a" / "r.json", tmp_path / "b" / "r.json", tmp_path / "same.ndjson", "--strip-disabled", out)
    assert result.exit_code == 0, result.stderr
    written = {p.name: json.loads(p.read_text(encoding="utf-8"))["id"] for p in out.iterdir()}
    assert sorted(written.values()) == ["../../escape", "een", "twee", "x", "x"]  # five responses, five files
    assert not list(tmp_path.glob("escape*")) and not list((tmp_path.parent).glob("escape*"))
    assert "5 stripped responses written" in result.stderr and "2 renamed" in result.stderr


# -- one failing response never stops the batch ----------------------------------------------


def test_an_internal_error_in_one_response_is_that_responses_issue(tmp_path, monkeypatch):
    from fhirrug.engine import Engine

    real = Engine.evaluate

    def evaluate(self, response, questionnaire=None, file=""):
        if isinstance(response, dict) and response.get("id") == "boom":
            raise RuntimeError("simulated bug")
        return real(self, response, questionnaire, file)

    monkeypatch.setattr(Engine, "evaluate", evaluate)
    path = tmp_path / "batch.ndjson"
    path.write_bytes(line(id="a") + b"\n" + line(id="boom") + b"\n" + line(id="c") + b"\n")
    result = run(path, "--format", "ndjson")
    assert result.exit_code == 1
    found = [(r["response"], r["valid"], [(i["code"], i["file"], i["expression"]) for i in r["issues"]]) for r in records(result)]
    assert found == [("a", True, []), ("boom", False, [("fhirrug-internal-error", str(path), "QuestionnaireResponse")]), ("c", True, [])]
