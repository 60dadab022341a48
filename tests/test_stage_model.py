"""Stage 3, the fhir.resources R4B model: what it adds, mapped to (code, FHIRPath), without
repeating what the schema and bindings stages already report."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fhirrug.validate import bindings, model, schema

SRC = Path(__file__).resolve().parents[1] / "src" / "fhirrug"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test its own verdict cache: nothing written to the user's ~/.cache, no cross-talk."""
    monkeypatch.setenv("FHIRRUG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FHIRRUG_NO_CACHE", raising=False)


def found(resource):
    return {(i.code, i.expression) for i in model.check(resource, "f.json")}


def test_valid_resource_passes():
    q = {"resourceType": "Questionnaire", "status": "draft", "item": [{"linkId": "a", "type": "choice", "answerOption": [{"valueString": "ja"}]}]}
    assert found(q) == set()


def test_two_choices_of_one_value_x_are_rejected():
    q = {
        "resourceType": "Questionnaire",
        "status": "draft",
        "item": [{"linkId": "a", "type": "choice", "answerOption": [{"valueString": "ja", "valueInteger": 1}]}],
    }
    assert ("fhirrug-model", "Questionnaire.item[0].answerOption[0]") in found(q)


def test_missing_mandatory_element_reported_once():
    # The model reports the missing item.type, and so does the bindings stage: once in total.
    q = {"resourceType": "Questionnaire", "status": "draft", "item": [{"linkId": "a"}]}
    assert any(e["loc"] == ("item", 0, "type") for e in model._raw_errors(q, "Questionnaire"))
    all_issues = schema.check(q, "f") + model.check(q, "f") + bindings.check(q, "f")
    locations = [(i.expression) for i in all_issues]
    assert locations.count("Questionnaire.item[0].type") == 1


def test_model_duplicates_of_other_stages_are_left_out():
    q = {"resourceType": "Questionnaire", "status": "draft", "foo": 1, "item": [{"linkId": 5, "type": "group"}]}
    assert model._raw_errors(q, "Questionnaire")  # the model does object (extra field, linkId type)
    assert found(q) == set()  # schema: additional property; bindings: primitive type


def test_unknown_or_missing_resource_type_is_the_schema_stage_s():
    assert found({"resourceType": "Nope"}) == set()
    assert found({"status": "draft"}) == set()


def test_r4_type_without_r4b_model_is_said_not_silent():
    # MedicinalProduct exists in R4 but not in R4B: the stage says it did not run.
    assert found({"resourceType": "MedicinalProduct"}) == {("fhirrug-model-unavailable", "MedicinalProduct")}


def test_only_model_py_imports_fhir_resources():
    importers = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "fhir.resources" or n.startswith("fhir.resources.") for n in names):
                importers.append(path.relative_to(SRC).as_posix())
    assert set(importers) == {"validate/model.py"}


def test_importing_the_stages_does_not_import_heavy_libraries():
    import subprocess
    import sys

    code = (
        "import sys; import fhirrug.validate.schema, fhirrug.validate.model, fhirrug.validate.bindings;"
        "print(any(m.startswith(('fhir.resources', 'jsonschema', 'pydantic')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_accepted_resources_are_remembered_rejected_ones_are_not(tmp_path, monkeypatch):
    monkeypatch.setenv("FHIRRUG_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("FHIRRUG_NO_CACHE", raising=False)
    good = {"resourceType": "Questionnaire", "status": "draft", "item": [{"linkId": "a", "type": "string"}]}
    bad = {"resourceType": "Questionnaire", "status": "draft", "item": [{"linkId": "a", "type": "choice", "answerOption": [{"valueString": "ja", "valueInteger": 1}]}]}
    assert found(good) == set()
    assert found(bad) == {("fhirrug-model", "Questionnaire.item[0].answerOption[0]")}
    markers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(markers) == 1  # only the accepted one

    def no_model(*args):
        raise AssertionError("the model ran although its verdict was cached")

    monkeypatch.setattr(model, "_raw_errors", no_model)
    assert found(good) == set()
    changed = {**good, "title": "Nieuw"}
    try:
        found(changed)
    except AssertionError:
        pass
    else:
        raise AssertionError("a changed resource must not hit the cache")


def test_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("FHIRRUG_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("FHIRRUG_NO_CACHE", "1")
    assert model.cache_dir() is None
    assert found({"resourceType": "Questionnaire", "status": "draft"}) == set()
    assert not any(tmp_path.iterdir())


def test_unwritable_cache_is_not_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("FHIRRUG_CACHE_DIR", str(blocker))  # a file, so no folder can be made in it
    monkeypatch.delenv("FHIRRUG_NO_CACHE", raising=False)
    assert found({"resourceType": "Questionnaire", "status": "draft"}) == set()
