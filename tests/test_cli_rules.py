"""`fhirrug rules`: every registered rule is listed, as text and as JSON."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fhirrug import exitcodes
from fhirrug.cli import main
from fhirrug.rules.registry import STAGE, Rule

FAKE = [
    Rule("que-2", "error", "linkIds are unique", "http://hl7.org/fhir/R4/questionnaire.html#invs", resource_types=("Questionnaire",)),
    Rule("fhirrug-json-syntax", "fatal", "The file is valid JSON", "https://www.rfc-editor.org/rfc/rfc8259", scope=STAGE),
]


def invoke(*args):
    return CliRunner().invoke(main, ["rules", *args])


@pytest.fixture
def fake_rules(monkeypatch):
    import fhirrug.rules

    monkeypatch.setattr(fhirrug.rules, "all_rules", lambda: list(FAKE))
    return FAKE


def test_json_lists_every_registered_rule():
    from fhirrug.rules import all_rules

    result = invoke("--format", "json")
    assert result.exit_code == exitcodes.OK, result.output
    data = json.loads(result.stdout)
    assert [r["id"] for r in data["rules"]] == [r.id for r in all_rules()]
    for entry in data["rules"]:
        assert set(entry) >= {"id", "severity", "scope", "resourceTypes", "summary", "spec"}


def test_text_has_one_line_per_rule_with_its_fields(fake_rules):
    result = invoke()
    assert result.exit_code == exitcodes.OK
    lines = result.stdout.splitlines()
    assert len(lines) == len(FAKE) + 1
    first = lines[0].split()
    assert first[:3] == ["que-2", "error", "resource:Questionnaire"]
    assert lines[0].endswith(f"<{FAKE[0].spec}>")
    assert lines[1].split()[:3] == ["fhirrug-json-syntax", "fatal", "stage:*"]


def test_json_fields(fake_rules):
    data = json.loads(invoke("-f", "json").stdout)
    assert data["rules"][0] == {
        "id": "que-2",
        "severity": "error",
        "scope": "resource",
        "resourceTypes": ["Questionnaire"],
        "summary": "linkIds are unique",
        "spec": "http://hl7.org/fhir/R4/questionnaire.html#invs",
        "doc": "linkIds are unique",
    }


def test_patterns_filter_and_unknown_pattern_is_a_usage_error(fake_rules):
    data = json.loads(invoke("que-*", "-f", "json").stdout)
    assert [r["id"] for r in data["rules"]] == ["que-2"]
    result = invoke("nope-*")
    assert result.exit_code == exitcodes.USAGE and result.stdout == ""


def test_verbose_prints_the_rule_documentation(monkeypatch):
    import fhirrug.rules

    def check(resource, ctx):
        """Every linkId occurs once in the Questionnaire.

        Longer explanation."""
        return []

    rule = Rule("que-2", "error", "linkIds are unique", "http://hl7.org/fhir/R4/questionnaire.html", check=check)
    monkeypatch.setattr(fhirrug.rules, "all_rules", lambda: [rule])
    assert "Longer explanation." in invoke("--verbose").stdout
    assert "Longer explanation." not in invoke().stdout


def test_every_registered_rule_can_be_listed_and_linked():
    """What `fhirrug rules`, SARIF's rule metadata and the configuration rely on."""
    from fhirrug.issues import SEVERITIES
    from fhirrug.rules import all_rules

    rules = all_rules()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for rule in rules:
        assert rule.id and not any(ch.isspace() for ch in rule.id), rule
        assert rule.severity in SEVERITIES, rule.id
        assert rule.summary.strip(), rule.id
        assert rule.spec.startswith(("http://", "https://")), rule.id
