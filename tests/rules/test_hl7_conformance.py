"""The Questionnaire rules agree with the HL7 Java validator on its own test cases.

Reads ../shared/conformance/fhir-test-cases (never copied into the project). For every R4
Questionnaire case, the findings of our stage-5 rules that share a code with the Java validator
(que-*, Questionnaire_Q_EnableWhen_*) must equal the Java expectations on (code, expression),
and no other error of ours may fire where Java reports none.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fhirrug.jsonio import read_json
from fhirrug.package import Package, Resource
from fhirrug.validate.pipeline import RuleContext

from ._helpers import own_rules

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
CASES_DIR = SHARED / "conformance" / "fhir-test-cases"
VALIDATOR = CASES_DIR / "validator"

# Java message text -> the key fhirrug reports (from the expected OperationOutcomes)
JAVA_TEXT = [
    (re.compile(r"Constraint failed: (que-\d+):"), None),
    (re.compile(r"cannot refer to an inner question"), "Questionnaire_Q_EnableWhen_IsInner"),
    (re.compile(r"comes after the question itself"), "Questionnaire_Q_EnableWhen_After"),
    (re.compile(r"refer to itself|cannot refer to themselves"), "Questionnaire_Q_EnableWhen_Self"),
]
def _cases():
    if not CASES_DIR.is_dir():
        return []
    manifest = json.loads((CASES_DIR / "manifest.questionnaire.json").read_text(encoding="utf-8"))
    out = []
    for case in manifest["test-cases"]:
        if case.get("version") != "4.0" or not case["file"].endswith((".json", ".xml")):
            continue
        path = VALIDATOR / case["file"]
        data, _ = read_json(path)  # JSON or FHIR XML (fhirrug.xmlio)
        if data.get("resourceType") != "Questionnaire":
            continue
        out.append(pytest.param(case["name"], data, id=case["name"]))
    return out


def _java_expected(name: str) -> tuple[set[tuple[str, str]], bool]:
    outcome = VALIDATOR / "outcomes" / "java" / f"R4.{name}-base.json"
    expected: set[tuple[str, str]] = set()
    any_error = False
    for issue in json.loads(outcome.read_text(encoding="utf-8")).get("issue", []):
        text = (issue.get("details") or {}).get("text", "")
        expression = (issue.get("expression") or [""])[0]
        any_error |= issue.get("severity") in ("error", "fatal")
        for pattern, key in JAVA_TEXT:
            match = pattern.search(text)
            if match:
                expected.add((key or match.group(1), expression))
    return expected, any_error


@pytest.mark.skipif(not CASES_DIR.is_dir(), reason=f"{CASES_DIR} is absent: the HL7 conformance cases live in ../shared")
@pytest.mark.parametrize(("name", "questionnaire"), _cases())
def test_questionnaire_rules_agree_with_the_java_validator(name, questionnaire):
    expected, java_has_errors = _java_expected(name)
    package = Package(None, [Resource(Path(f"{name}.json"), questionnaire)])
    ours: set[tuple[str, str]] = set()
    our_errors: set[tuple[str, str]] = set()
    for rule in own_rules():
        if rule.scope == "package" or not rule.applies_to("Questionnaire"):
            continue
        for finding in rule.check(questionnaire, RuleContext(package)):
            if rule.id.startswith(("que-", "Questionnaire_Q_")):
                ours.add((rule.id, finding.expression))
            if rule.severity == "error":
                our_errors.add((rule.id, finding.expression))
    assert ours == expected
    if not java_has_errors:
        assert our_errors == set()


def test_the_cases_are_found():
    if not CASES_DIR.is_dir():
        pytest.skip(f"{CASES_DIR} is absent")
    names = {p.values[0] for p in _cases()}
    assert {"questionnaire-enableWhen-dw", "q-enablewhen-me-wrong", "questionnaire-enableWhen-test-invalid", "questionnaire-enableWhen-test-order"} <= names
