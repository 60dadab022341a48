"""Stages 2 and 4 (schema, bindings) remembered between runs (fhirrug.validate.stagecache): a hit
gives exactly the findings a fresh run gives, without running the stages; an edit, another
fhirrug or a crashed stage never serves a stale answer; the cache switches of the model stage
apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhirrug.validate import bindings, schema, stagecache
from fhirrug.validate.pipeline import validate_paths

REPO = Path(__file__).resolve().parents[1]
BAD = REPO / "tests" / "broken"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FHIRRUG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FHIRRUG_NO_CACHE", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def calls(monkeypatch):
    """How often each stage really ran."""
    counted = {"schema": 0, "bindings": 0}
    for name, stage in (("schema", schema), ("bindings", bindings)):
        real = stage.check

        def check(resource, file, _real=real, _name=name):
            counted[_name] += 1
            return _real(resource, file)

        monkeypatch.setattr(stage, "check", check)
    return counted


def as_tuples(result):
    return [(i.code, i.severity, i.message, i.file, i.expression, i.line, i.column) for i in result.issues]


def copy(tmp_path: Path, *names: str) -> list[Path]:
    out = []
    for name in names:
        target = tmp_path / name
        target.write_bytes((BAD / name).read_bytes())
        out.append(target)
    return out


def test_a_hit_gives_the_same_findings_without_running_the_stages(cache, calls, tmp_path):
    files = copy(tmp_path, "bad-status.json", "bad-operator.json", "answer-integer-string.json")
    first = validate_paths(files)
    assert calls == {"schema": 3, "bindings": 3}
    assert {i.code for i in first.issues} & {"Terminology_TX_NoValid_16", "fhirrug-primitive-type"}  # the stages found something
    second = validate_paths(files)
    assert as_tuples(second) == as_tuples(first)  # positions too: added after the cache
    assert calls == {"schema": 3, "bindings": 3}  # nothing ran again
    assert len(list((cache / "stages").rglob("*.json"))) == 3


def test_an_edit_misses(cache, calls, tmp_path):
    (path,) = copy(tmp_path, "bad-status.json")
    before = validate_paths([path])
    data = json.loads(path.read_text(encoding="utf-8"))
    data["status"] = "draft"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    after = validate_paths([path])
    assert calls == {"schema": 2, "bindings": 2}
    assert "Terminology_TX_NoValid_16" in {i.code for i in before.issues}
    assert "Terminology_TX_NoValid_16" not in {i.code for i in after.issues}


def test_another_file_with_the_same_bytes_gets_its_own_name(cache, calls, tmp_path):
    (one,) = copy(tmp_path, "bad-status.json")
    other = tmp_path / "elsewhere.json"
    other.write_bytes(one.read_bytes())
    first = validate_paths([one])
    second = validate_paths([other])
    assert calls["schema"] == 1
    assert {i.file for i in second.issues} == {str(other)}
    assert [(i.code, i.expression) for i in second.issues] == [(i.code, i.expression) for i in first.issues]


def test_another_fhirrug_misses(cache, monkeypatch):
    resource = {"resourceType": "Questionnaire", "status": "draft"}
    before = stagecache.key(resource, b"{}")
    monkeypatch.setattr(stagecache, "_salt", lambda: b"fhirrug-stages-1\n9.9.9\nother sources")
    assert stagecache.key(resource, b"{}") != before
    assert stagecache.key(resource, None) != stagecache.key({"status": "draft", "resourceType": "Questionnaire"}, None)  # order kept


def test_a_crashed_stage_is_not_remembered(cache, monkeypatch, tmp_path):
    (path,) = copy(tmp_path, "bad-status.json")

    def boom(resource, file):
        raise RuntimeError("kapot")

    monkeypatch.setattr(bindings, "check", boom)
    crashed = validate_paths([path])
    assert "fhirrug-internal-error" in {i.code for i in crashed.issues}
    assert not list(cache.rglob("*.json"))
    monkeypatch.undo()
    monkeypatch.setenv("FHIRRUG_CACHE_DIR", str(cache))
    monkeypatch.delenv("FHIRRUG_NO_CACHE", raising=False)
    assert "fhirrug-internal-error" not in {i.code for i in validate_paths([path]).issues}


def test_no_cache_writes_nothing_and_a_broken_entry_is_ignored(cache, calls, monkeypatch, tmp_path):
    (path,) = copy(tmp_path, "bad-status.json")
    monkeypatch.setenv("FHIRRUG_NO_CACHE", "1")
    fresh = validate_paths([path])
    assert not cache.exists()
    monkeypatch.delenv("FHIRRUG_NO_CACHE")
    validate_paths([path])
    (entry,) = (cache / "stages").rglob("*.json")
    entry.write_text("{not json", encoding="utf-8")
    assert as_tuples(validate_paths([path])) == as_tuples(fresh)
    assert calls["schema"] == 3  # the broken entry was recomputed (and replaced)
    assert json.loads(entry.read_text(encoding="utf-8"))["schema"] is not None
