"""Stage 1, read and parse: every bad input is one clear fatal Issue naming the file, never a traceback."""

from __future__ import annotations

import json
import os
import stat

import pytest

from fhirrug.issues import FATAL
from fhirrug.jsonio import MAX_DEPTH, atomic_write, dumps, parse_bytes, read_json


def codes(issues):
    return [(i.code, i.expression) for i in issues]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\xef\xbb\xbf{}", "fhirrug-json-bom"),
        (b'{"a": "\xff"}', "fhirrug-json-encoding"),
        (b'{"a": "\xc3"}', "fhirrug-json-encoding"),  # truncated multi-byte sequence
        (b'{"a": "\\ud800"}', "fhirrug-json-encoding"),  # lone surrogate escape
        (b'{"resourceType": "Questionnaire", "status": ', "fhirrug-json-syntax"),  # truncated
        (b"", "fhirrug-json-syntax"),
        (b"   \n", "fhirrug-json-syntax"),
        (b'{"a": NaN}', "fhirrug-json-syntax"),
        (b'{"a": Infinity}', "fhirrug-json-syntax"),
        (b'{"a": -Infinity}', "fhirrug-json-syntax"),
        (b'{"a": 1e400}', "fhirrug-json-syntax"),  # overflows to Infinity
        (b'{"a": ' + b"9" * 5000 + b"}", "fhirrug-json-syntax"),  # more digits than int() converts
        (b'{"a": "tab\tinside"}', "fhirrug-json-syntax"),  # raw control character in a string
        (b'{"a": 1, "a": 2}', "fhirrug-json-duplicate-key"),
        (b'{"x": {"a": 1, "b": {"a": 2, "a": 3}}}', "fhirrug-json-duplicate-key"),
        (b"[]", "fhirrug-json-not-object"),
        (b'"Questionnaire"', "fhirrug-json-not-object"),
        (b"null", "fhirrug-json-not-object"),
        (b"42", "fhirrug-json-not-object"),
        (b"[" * 10_000 + b"]" * 10_000, "fhirrug-json-too-deep"),
        (b'{"a":' * 200_000 + b"1" + b"}" * 200_000, "fhirrug-json-too-deep"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "fhirrug-json-too-deep"),
    ],
)
def test_bad_input_is_one_fatal_issue_naming_the_file(raw, code):
    value, issues = parse_bytes(raw, "some/file.json")
    assert value is None
    assert codes(issues) == [(code, "")]
    assert issues[0].severity == FATAL
    assert issues[0].file == "some/file.json"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"resourceType": "Questionnaire"}',
        '{"text": "rugpijn \u2013 ischias \U0001f600"}'.encode(),
        b'{"a": "\\ud83d\\ude00"}',  # a surrogate PAIR escape is fine
        b"[" * (MAX_DEPTH - 2) + b"{}" + b"]" * (MAX_DEPTH - 2),  # exactly MAX_DEPTH inside {"x": ...}
        b'{"a": 1.5e10, "b": -0.0, "c": 12345678901234567890}',
    ],
)
def test_good_input_parses_without_issues(raw):
    value, issues = parse_bytes(raw if raw.startswith(b"{") else b'{"x": ' + raw + b"}", "f.json")
    assert issues == []
    assert isinstance(value, dict)


def test_size_is_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    with path.open("wb") as handle:  # sparse: 100 MB on paper, nothing on disk
        handle.truncate(100 * 1024 * 1024)
    read = []
    monkeypatch.setattr(type(path), "read_bytes", lambda self: read.append(self) or b"")
    value, issues = read_json(path)
    assert value is None
    assert codes(issues) == [("fhirrug-file-too-large", "")]
    assert issues[0].file == str(path)
    assert read == []


def test_limit_is_configurable(tmp_path):
    path = tmp_path / "small.json"
    path.write_bytes(b'{"resourceType": "Questionnaire"}')
    assert codes(read_json(path, max_bytes=10)[1]) == [("fhirrug-file-too-large", "")]
    assert read_json(path)[1] == []


def test_unreadable_file_is_an_issue(tmp_path):
    value, issues = read_json(tmp_path / "missing.json")
    assert value is None and codes(issues) == [("fhirrug-file-unreadable", "")]
    value, issues = read_json(tmp_path)  # a folder
    assert value is None and codes(issues) == [("fhirrug-file-unreadable", "")]


def test_dumps_is_the_fixed_format():
    text = dumps({"b": "é", "a": [1, {"c": None}]})
    assert text == '{\n  "b": "é",\n  "a": [\n    1,\n    {\n      "c": null\n    }\n  ]\n}\n'
    assert json.loads(text) == {"b": "é", "a": [1, {"c": None}]}


def test_atomic_write_replaces_and_keeps_the_mode(tmp_path):
    path = tmp_path / "x.json"
    atomic_write(path, "one\n")
    mode_new = stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode_new == 0o666 & ~umask  # not mkstemp's 0600
    os.chmod(path, 0o640)
    atomic_write(path, b"two\n")
    assert path.read_bytes() == b"two\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temp file left


def test_atomic_write_failure_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "x.json"
    path.write_text("old\n")

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1])
def test_depth_limit_on_mixed_nesting_beside_wide_levels(depth):
    """The depth check (level by level) finds the one deep branch among wide shallow ones, through
    objects and arrays alike, exactly at the limit."""
    deep: object = 0
    for level in range(depth - 1):
        deep = {"item": deep, "linkId": str(level)} if level % 2 else [deep, 1, "x"]  # one level each
    document = {"resourceType": "QuestionnaireResponse", "wide": [[{"a": [1]}] for _ in range(50)], "deep": deep}
    # the top object, then depth - 1 levels of `deep`, of which the last is a container: depth levels
    value, issues = parse_bytes(json.dumps(document).encode(), "f.json")
    if depth == MAX_DEPTH:
        assert issues == [] and value == document
    else:
        assert [i.code for i in issues] == ["fhirrug-json-too-deep"]
