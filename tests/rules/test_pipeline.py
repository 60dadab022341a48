"""The validation pipeline: a file given alone is checked against its whole project, reported alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhirrug.issues import FATAL, Issue
from fhirrug.rules import RESOURCE, Rule
from fhirrug.rules.registry import Finding
from fhirrug.validate import has_errors, validate_paths, validate_root
from fhirrug.validate.pipeline import validate_package

from ._helpers import CANONICAL, own_rules, package, question, questionnaire

MANIFEST = f"""[package]
name = "test.package"
version = "0.1.0"
canonical = "{CANONICAL}"
publisher = "fhirrug"

[content]
folders = ["questionnaires", "valuesets"]
exclude = ["valuesets/invalid"]
"""


def _write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "fhirrug.toml").write_text(MANIFEST, encoding="utf-8")
    vs_url = f"{CANONICAL}/ValueSet/keuze"
    _write(tmp_path / "valuesets" / "ValueSet-keuze.json", {"resourceType": "ValueSet", "id": "keuze", "url": vs_url, "version": "0.1.0", "status": "draft", "compose": {"include": [{"system": "http://snomed.info/sct"}]}})
    # a deliberate vsd-1 error in another file of the project
    _write(tmp_path / "valuesets" / "ValueSet-kapot.json", {"resourceType": "ValueSet", "id": "kapot", "url": f"{CANONICAL}/ValueSet/kapot", "version": "0.1.0", "status": "draft", "compose": {"include": [{}]}})
    _write(tmp_path / "questionnaires" / "Questionnaire-q.json", {**questionnaire(question("a", "choice", answerValueSet=f"{vs_url}|0.1.0")), "version": "0.1.0"})
    return tmp_path


def _codes(result) -> set[tuple[str, str, str]]:
    return {(i.code, Path(i.file).name, i.expression) for i in result.issues}


def test_a_file_given_alone_resolves_references_in_the_rest_of_its_project(project):
    result = validate_paths([project / "questionnaires" / "Questionnaire-q.json"], rules=own_rules())
    assert not any(i.code == "fhirrug-canonical-unresolved" for i in result.issues)
    assert result.files == [str(project / "questionnaires" / "Questionnaire-q.json")]


def test_a_file_given_alone_is_the_only_file_reported_on(project):
    result = validate_paths([project / "questionnaires" / "Questionnaire-q.json"], rules=own_rules())
    assert {Path(i.file).name for i in result.issues} <= {"Questionnaire-q.json"}
    whole = validate_paths([project], rules=own_rules())
    assert ("vsd-1", "ValueSet-kapot.json", "ValueSet.compose.include[0]") in _codes(whole)


def test_a_file_outside_any_project_sees_only_the_files_given(tmp_path):
    lonely = _write(tmp_path / "Questionnaire-q.json", questionnaire(question("a", "choice", answerValueSet=f"{CANONICAL}/ValueSet/keuze|0.1.0")))
    result = validate_paths([lonely], rules=own_rules())
    # not resolved (nothing else is loaded); a file from outside any package is not required to
    # resolve its canonicals, so fhirrug says it could not look it up (information)
    assert ("fhirrug-canonical-external", "Questionnaire-q.json", "Questionnaire.item[0].answerValueSet") in _codes(result)
    assert not any(i.severity == "error" for i in result.issues)


def test_an_excluded_file_given_explicitly_is_validated_against_the_project(project):
    excluded = _write(project / "valuesets" / "invalid" / "ValueSet-keuze.json", {"resourceType": "ValueSet", "id": "keuze", "url": f"{CANONICAL}/ValueSet/keuze", "version": "0.1.0", "status": "draft", "compose": {"include": [{"system": "http://snomed.info/sct"}]}})
    result = validate_paths([excluded], rules=own_rules())
    codes = _codes(result)
    # it claims the canonical and the id of valuesets/ValueSet-keuze.json: reported on the file given
    assert ("fhirrug-canonical-duplicate", "ValueSet-keuze.json", "ValueSet.url") in codes
    assert ("fhirrug-id-duplicate", "ValueSet-keuze.json", "ValueSet.id") in codes
    assert {i.file for i in result.issues} == {str(excluded)}


def test_a_folder_and_a_file_in_it_are_read_once(project):
    q = project / "questionnaires" / "Questionnaire-q.json"
    result = validate_paths([project / "questionnaires", q], rules=own_rules())
    assert len(result.files) == 1
    assert not any(i.code in ("fhirrug-canonical-duplicate", "fhirrug-id-duplicate") for i in result.issues)


def test_validate_root_reports_on_every_file(project):
    result = validate_root(project, rules=own_rules())
    assert len(result.files) == 3
    assert has_errors(result)  # the vsd-1 in ValueSet-kapot.json


def _crashing(resource, ctx):
    """Always crashes."""
    raise KeyError("boom")
    yield  # pragma: no cover


def test_a_crashing_rule_is_a_fatal_issue_not_a_traceback():
    crash = Rule("test-crash", "error", "crashes", "https://example.org", RESOURCE, ("Questionnaire",), _crashing)
    result = validate_package(package(questionnaire(question("a"))), rules=[crash])
    internal = [i for i in result.issues if i.code == "fhirrug-internal-error"]
    assert len(internal) == 1 and internal[0].severity == FATAL and internal[0].file == "Questionnaire-q.json"


def _twice(resource, ctx):
    """Reports the same finding twice."""
    yield Finding("Questionnaire", "same")
    yield Finding("Questionnaire", "same")


def test_the_very_same_finding_is_reported_once():
    twice = Rule("test-twice", "warning", "twice", "https://example.org", RESOURCE, ("Questionnaire",), _twice)
    result = validate_package(package(questionnaire(question("a"))), rules=[twice])
    assert [i for i in result.issues if i.code == "test-twice"] == [Issue("test-twice", "warning", "same", "Questionnaire-q.json", "Questionnaire")]


def _relay(package, ctx):
    """Relays another component's findings as Issues under their own codes."""
    yield Issue("Questionnaire_QR_Item_NotEnabled", "error", "relayed", "QuestionnaireResponse-qr.json", "QuestionnaireResponse.item[0]")


def test_a_package_rule_may_relay_issues_under_their_own_codes():
    from fhirrug.rules import PACKAGE

    relay = Rule("test-relay", "error", "relays", "https://example.org", PACKAGE, (), _relay)
    result = validate_package(package({"resourceType": "QuestionnaireResponse", "id": "qr", "status": "completed"}), rules=[relay])
    assert [(i.code, i.file, i.expression) for i in result.issues] == [("Questionnaire_QR_Item_NotEnabled", "QuestionnaireResponse-qr.json", "QuestionnaireResponse.item[0]")]


def _relay_resource(resource, ctx):
    """Relays an Issue without a file."""
    yield Issue("SomeKey", "warning", "relayed", "", "Questionnaire.item[0]")


def test_a_resource_rule_may_relay_issues_and_gets_its_file_filled_in():
    relay = Rule("test-relay-resource", "error", "relays", "https://example.org", RESOURCE, ("Questionnaire",), _relay_resource)
    result = validate_package(package(questionnaire(question("a"))), rules=[relay])
    assert [(i.code, i.severity, i.file) for i in result.issues] == [("SomeKey", "warning", "Questionnaire-q.json")]


def test_a_resource_edited_in_place_between_runs_is_seen_afresh():
    from ._helpers import when

    q = questionnaire(question("a"), question("b", enableWhen=[when("a", "exists", answerBoolean=True)]))
    pkg = package(q)
    rules = own_rules()
    assert not any(i.code == "Questionnaire_Q_EnableWhen_NoTarget" for i in validate_package(pkg, rules=rules).issues)
    q["item"][1]["enableWhen"][0]["question"] = "zzz"
    assert any(i.code == "Questionnaire_Q_EnableWhen_NoTarget" for i in validate_package(pkg, rules=rules).issues)


def test_resource_rules_also_check_contained_resources():
    inner = questionnaire(question("a"), question("a"))
    outer = {"resourceType": "QuestionnaireResponse", "id": "qr", "status": "completed", "contained": [{"resourceType": "ValueSet", "id": "x"}, inner]}
    result = validate_package(package(outer), rules=own_rules())
    assert ("que-2", "QuestionnaireResponse.contained[1]") in {(i.code, i.expression) for i in result.issues}
