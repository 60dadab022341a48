"""Reporters are pure functions from a Report to text: each format parses and carries every finding."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fhirrug.issues import Issue
from fhirrug.reporters import REPORTER_BY_NAME, Report
from fhirrug.reporters.operationoutcome import FILE_EXTENSION, MESSAGE_ID_EXTENSION, issue_type
from fhirrug.rules.registry import Rule

SARIF_SCHEMA = Path(__file__).resolve().parent / "fixtures" / "sarif" / "sarif-2.1.0-rtm.5.json"

ISSUES = [
    Issue("que-2", "error", "linkId 'a' is used twice", "questionnaires/Questionnaire-a.json", "Questionnaire.item[1].linkId"),
    Issue("fhirrug-translation-missing", "warning", "'x' has no translation into en", "questionnaires/Questionnaire-a.json", "Questionnaire.item[0].text"),
    Issue("fhirrug-json-syntax", "fatal", "invalid JSON", "valuesets/ValueSet-b.json", ""),
    Issue("fhirrug-note", "information", "package-level note", "", ""),
]
FILES = ["questionnaires/Questionnaire-a.json", "valuesets/ValueSet-b.json", "valuesets/CodeSystem-clean.json"]
SUMMARY = {"files": 3, "fatal": 1, "error": 1, "warning": 1, "information": 1}
RULES = [Rule("que-2", "error", "linkIds are unique", "http://hl7.org/fhir/R4/questionnaire.html#invs")]


def report(issues=ISSUES, files=FILES, summary=SUMMARY, **kw) -> Report:
    return Report(issues=issues, summary=summary, files=files, version="9.8.7", rules=RULES, **kw)


@pytest.fixture(autouse=True)
def _cwd(tmp_path, monkeypatch):
    # Paths are shown relative to the cwd; keep them as given.
    monkeypatch.chdir(tmp_path)


def test_every_format_is_registered():
    assert set(REPORTER_BY_NAME) == {"text", "json", "operationoutcome", "sarif", "junit"}


# text


def test_text_is_one_line_per_finding_with_file_line_column_first():
    issues = [*ISSUES[:2], Issue("que-3", "error", "m", "questionnaires/Questionnaire-a.json", "Questionnaire.item[2]", 40, 7), *ISSUES[2:]]
    lines = REPORTER_BY_NAME["text"](report(issues=issues)).splitlines()
    assert lines[0] == "(package): information fhirrug-note: package-level note"
    # In document order within a file: item[0] before item[1], whatever the severity.
    assert [line.split()[:3] for line in lines[1:4]] == [
        ["questionnaires/Questionnaire-a.json:", "warning", "fhirrug-translation-missing"],
        ["questionnaires/Questionnaire-a.json:", "error", "que-2"],
        ["questionnaires/Questionnaire-a.json:40:7:", "error", "que-3"],
    ]
    assert lines[4].startswith("valuesets/ValueSet-b.json: fatal fhirrug-json-syntax")
    assert lines[-1] == "3 files, 1 fatal, 1 error, 1 warning, 1 information"


POSITIONED = [Issue("que-2", "error", "twice", "questionnaires/Questionnaire-a.json", "Questionnaire.item[1].linkId", 12, 19)]


def test_every_format_carries_line_and_column():
    assert REPORTER_BY_NAME["text"](report(issues=POSITIONED)).startswith("questionnaires/Questionnaire-a.json:12:19: error que-2")
    (found,) = json.loads(REPORTER_BY_NAME["json"](report(issues=POSITIONED)))["issues"]
    assert (found["line"], found["column"]) == (12, 19)
    unknown = json.loads(REPORTER_BY_NAME["json"](report(issues=ISSUES[:1])))["issues"][0]
    assert (unknown["line"], unknown["column"]) == (None, None)
    (result,) = json.loads(REPORTER_BY_NAME["sarif"](report(issues=POSITIONED)))["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 12, "startColumn": 19}
    (issue,) = json.loads(REPORTER_BY_NAME["operationoutcome"](report(issues=POSITIONED)))["issue"]
    extensions = {e["url"]: e for e in issue["extension"]}
    assert extensions["http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"]["valueInteger"] == 12
    assert extensions["http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col"]["valueInteger"] == 19
    junit = ET.fromstring(REPORTER_BY_NAME["junit"](report(issues=POSITIONED)))
    assert "questionnaires/Questionnaire-a.json:12:19: error que-2" in junit.find(".//failure").text


def test_text_is_plain_unless_colour_is_asked_for():
    assert "\x1b[" not in REPORTER_BY_NAME["text"](report())
    assert "\x1b[" in REPORTER_BY_NAME["text"](report(color=True))


def test_text_of_a_clean_run_is_the_summary_only():
    out = REPORTER_BY_NAME["text"](report(issues=[], summary={"files": 2, "fatal": 0, "error": 0, "warning": 0, "information": 0}))
    assert out == "2 files, 0 errors, 0 warnings, 0 information\n"


def test_text_colour_does_not_interpret_markup_in_messages():
    issue = Issue("x-1", "error", "[bold]not markup[/bold]", "f.json", "")
    out = REPORTER_BY_NAME["text"](report(issues=[issue], color=True))
    assert "[bold]not markup[/bold]" in out


# json


def test_json_envelope():
    data = json.loads(REPORTER_BY_NAME["json"](report()))
    assert data["fhirrug"] == "9.8.7"
    assert data["summary"] == SUMMARY
    assert data["files"] == FILES
    assert {(i["code"], i["expression"], i["file"], i["severity"]) for i in data["issues"]} == {
        (i.code, i.expression, i.file, i.severity) for i in ISSUES
    }
    assert all(set(i) == {"code", "severity", "message", "file", "expression", "line", "column"} for i in data["issues"])


def test_json_keeps_non_ascii_text():
    issue = Issue("x-1", "error", "Heeft u pijn in de rug? ë", "f.json", "")
    assert "ë" in REPORTER_BY_NAME["json"](report(issues=[issue]))


# OperationOutcome


def test_operationoutcome_maps_each_finding():
    oo = json.loads(REPORTER_BY_NAME["operationoutcome"](report()))
    assert oo["resourceType"] == "OperationOutcome"
    assert oo["text"]["status"] == "generated" and oo["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    by_rule = {i["extension"][0]["valueCode"]: i for i in oo["issue"]}
    assert {i["extension"][0]["url"] for i in oo["issue"]} == {MESSAGE_ID_EXTENSION}
    assert set(by_rule) == {i.code for i in ISSUES}
    que2 = by_rule["que-2"]
    assert que2["severity"] == "error"
    assert que2["code"] == "invariant"
    assert que2["details"]["text"] == "linkId 'a' is used twice"
    assert que2["expression"] == ["Questionnaire.item[1].linkId"]
    assert que2["extension"][1] == {"url": FILE_EXTENSION, "valueString": "questionnaires/Questionnaire-a.json"}
    # No empty values: a finding without file or expression has neither element.
    note = by_rule["fhirrug-note"]
    assert "expression" not in note and len(note["extension"]) == 1
    assert by_rule["fhirrug-json-syntax"]["severity"] == "fatal"


def test_operationoutcome_without_findings_still_has_one_issue():
    oo = json.loads(REPORTER_BY_NAME["operationoutcome"](report(issues=[])))
    assert oo["issue"] == [{"severity": "information", "code": "informational", "details": {"text": "All OK"}}]


@pytest.mark.parametrize(
    ("code", "severity", "expected"),
    [
        ("que-4", "error", "invariant"),
        ("qrs-2", "error", "invariant"),
        ("fhirrug-json-syntax", "fatal", "structure"),
        ("fhirrug-file-too-large", "fatal", "too-costly"),
        ("fhirrug-schema-required", "error", "required"),
        ("fhirrug-binding-required", "error", "code-invalid"),
        # as the HL7 Java validator types the same message (its expected outcomes in fhir-test-cases)
        ("fhirrug-enablewhen-target-missing", "error", "business-rule"),  # = Questionnaire_Q_EnableWhen_NoTarget
        ("Questionnaire_QR_Item_NotEnabled", "error", "invalid"),  # "Item has answer, even though it is not enabled"
        ("Questionnaire_QR_Item_Missing", "error", "required"),  # "No response answer found for required item"
        ("Questionnaire_QR_Item_NotFound", "error", "not-found"),  # "LinkId 'X' not found in questionnaire"
        ("Questionnaire_QR_Item_WrongType", "error", "invariant"),  # "Answer value must be of the type ..."
        ("Questionnaire_QR_Item_OnlyOneA", "error", "invalid"),
        ("Questionnaire_QR_Item_Group", "error", "structure"),  # "Items of type group cannot have answers"
        ("Questionnaire_QR_Item_BadOption", "error", "code-invalid"),
        ("Questionnaire_QR_Q_NotFound", "warning", "required"),  # "The questionnaire 'X' could not be resolved"
        ("fhirrug-canonical-unresolved", "warning", "not-found"),  # "A definition for CodeSystem 'X' could not be found"
        ("fhirrug-code-unknown", "error", "code-invalid"),  # "Unknown code 'X' in the CodeSystem 'X'"
        ("fhirrug-code-display", "warning", "invalid"),  # "Wrong Display Name 'X' for ..."
        ("fhirrug-schema-additional-property", "error", "structure"),  # "Unrecognized property 'X'"
        ("fhirrug-qr-value", "error", "invariant"),  # "The value 5 is greater than the allowed maximum of 2"
        ("fhirrug-translation-missing", "warning", "business-rule"),
        ("fhirrug-internal-error", "fatal", "exception"),
        ("SomeValidatorKey", "information", "informational"),
        ("SomeValidatorKey", "error", "invalid"),
    ],
)
def test_operationoutcome_issue_type(code, severity, expected):
    assert issue_type(code, severity) == expected


def test_operationoutcome_issue_types_are_r4_issue_types():
    from fhirrug.reporters.operationoutcome import ISSUE_TYPE_BY_RULE

    r4_issue_types = {
        "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown", "expired",
        "forbidden", "suppressed", "processing", "not-supported", "duplicate", "multiple-matches", "not-found",
        "deleted", "too-long", "code-invalid", "extension", "too-costly", "business-rule", "conflict",
        "transient", "lock-error", "no-store", "exception", "timeout", "incomplete", "throttled", "informational",
    }  # http://hl7.org/fhir/R4/valueset-issue-type.html
    assert {kind for _, kind in ISSUE_TYPE_BY_RULE} <= r4_issue_types
    from fhirrug.reporters.operationoutcome import ISSUE_TYPE_BY_CODE

    assert set(ISSUE_TYPE_BY_CODE.values()) <= r4_issue_types


# SARIF


def test_sarif_is_valid_against_the_sarif_2_1_0_schema():
    import jsonschema

    log = json.loads(REPORTER_BY_NAME["sarif"](report()))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=str)
    assert not errors, [e.message for e in errors[:5]]


def test_sarif_results_and_rules():
    log = json.loads(REPORTER_BY_NAME["sarif"](report()))
    assert log["version"] == "2.1.0" and "$schema" in log and len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "fhirrug" and driver["version"] == "9.8.7" and driver["informationUri"].startswith("https://")
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids[0] == "que-2"  # registered rules first, with their metadata
    assert driver["rules"][0]["helpUri"] == RULES[0].spec
    assert driver["rules"][0]["shortDescription"]["text"] == RULES[0].summary
    results = log["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results}
    assert set(by_rule) == {i.code for i in ISSUES} <= set(rule_ids)
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
    assert {r["ruleId"]: r["level"] for r in results} == {
        "que-2": "error", "fhirrug-json-syntax": "error", "fhirrug-translation-missing": "warning", "fhirrug-note": "note",
    }
    location = by_rule["que-2"]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"] == {"uri": "questionnaires/Questionnaire-a.json", "uriBaseId": "%SRCROOT%"}
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "Questionnaire.item[1].linkId"
    assert "logicalLocations" not in by_rule["fhirrug-json-syntax"]["locations"][0]
    assert "locations" not in by_rule["fhirrug-note"]


def test_sarif_uri_is_percent_encoded_and_outside_files_are_absolute(tmp_path):
    inside = Issue("x-1", "error", "m", "my folder/Questionnaire-ë.json", "")
    outside = Issue("x-2", "error", "m", "/elsewhere/Questionnaire-x.json", "")
    log = json.loads(REPORTER_BY_NAME["sarif"](report(issues=[inside, outside])))
    uris = {r["ruleId"]: r["locations"][0]["physicalLocation"]["artifactLocation"] for r in log["runs"][0]["results"]}
    assert uris["x-1"] == {"uri": "my%20folder/Questionnaire-%C3%AB.json", "uriBaseId": "%SRCROOT%"}
    assert uris["x-2"] == {"uri": "file:///elsewhere/Questionnaire-x.json"}


# JUnit


def _cases(xml_text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml_text)
    suites = root.findall("testsuite")
    assert root.tag == "testsuites" and len(suites) == 1
    return {case.get("name"): case for case in suites[0].findall("testcase")}


def test_junit_one_testcase_per_file_and_failures_for_errors():
    text = REPORTER_BY_NAME["junit"](report())
    cases = _cases(text)
    assert set(cases) == set(FILES) | {"(package)"}
    assert cases["valuesets/CodeSystem-clean.json"].find("failure") is None  # clean files pass
    assert cases["valuesets/ValueSet-b.json"].find("failure").get("type") == "fhirrug-json-syntax"
    failure = cases["questionnaires/Questionnaire-a.json"].find("failure")
    assert failure.get("type") == "que-2" and "fhirrug-translation-missing" not in failure.text
    assert "fhirrug-translation-missing" in cases["questionnaires/Questionnaire-a.json"].find("system-out").text
    suite = ET.fromstring(text).find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("4", "2")


def test_junit_warnings_fail_only_when_strict():
    warning = [Issue("w-1", "warning", "careful", "a.json", "X.y")]
    relaxed = _cases(REPORTER_BY_NAME["junit"](report(issues=warning, files=["a.json"])))
    strict = _cases(REPORTER_BY_NAME["junit"](report(issues=warning, files=["a.json"], strict=True)))
    assert relaxed["a.json"].find("failure") is None and relaxed["a.json"].find("system-out") is not None
    assert strict["a.json"].find("failure").get("type") == "w-1"


def test_junit_escapes_markup_control_characters_and_surrogates():
    nasty = 'a <b> & "c" \x00\x07 \ud800 ]]>'
    issue = Issue("x-1", "error", nasty, 'f<&">.json', "X.item[0]")
    text = REPORTER_BY_NAME["junit"](report(issues=[issue], files=['f<&">.json']))
    text.encode("utf-8")  # no lone surrogate left
    case = _cases(text)['f<&">.json']
    assert 'a <b> & "c"' in case.find("failure").text and "]]>" in case.find("failure").text


def test_findings_are_in_document_order_within_a_file():
    issues = [
        Issue("x-1", "warning", "m", "a.json", "Questionnaire.item[10].text"),
        Issue("x-1", "error", "m", "a.json", "Questionnaire.item[2].text"),
        Issue("x-1", "error", "m", "a.json", "Questionnaire.item[1].item[3]"),
    ]
    data = json.loads(REPORTER_BY_NAME["json"](report(issues=issues)))
    assert [i["expression"] for i in data["issues"]] == [
        "Questionnaire.item[1].item[3]",
        "Questionnaire.item[2].text",
        "Questionnaire.item[10].text",
    ]
