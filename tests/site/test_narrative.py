"""The narrative rules (txt-1, txt-2, well-formed XHTML) and the narratives export generates."""

from __future__ import annotations

import json
import tarfile

import pytest
from click.testing import CliRunner

from fhirrug.cli import main
from fhirrug.release.export import build
from fhirrug.rules import all_rules
from fhirrug.rules import narrative as narrative_rules
from fhirrug.validate.pipeline import RuleContext
from fhirrug.package import Package

from site_helpers import ROOT, squash

NS = 'xmlns="http://www.w3.org/1999/xhtml"'


def _resource(div: str) -> dict:
    return {"resourceType": "CodeSystem", "id": "x", "status": "draft", "content": "complete", "text": {"status": "generated", "div": div}}


def _run(rule_id: str, resource: dict) -> set[tuple[str, str]]:
    (rule,) = [r for r in all_rules() if r.id == rule_id]
    return {(rule.id, f.expression) for f in rule.check(resource, RuleContext(Package(manifest=None)))}


WHERE = "CodeSystem.text.div"
CASES = [
    # (rule, div, expected findings)
    ("txt-1", f"<div {NS}><p>Hallo <a href=\"#x\">daar</a></p><table><tbody><tr><td lang=\"en\">x</td></tr></tbody></table></div>", set()),
    ("txt-1", f"<div {NS}><script>alert(1)</script></div>", {("txt-1", WHERE)}),
    ("txt-1", f"<div {NS}><p onclick=\"x()\">a</p></div>", {("txt-1", WHERE)}),
    ("txt-1", f"<div {NS}><p data-x=\"1\">a</p></div>", {("txt-1", WHERE)}),
    ("txt-1", f"<div {NS}><p xml:lang=\"nl\">a</p></div>", {("txt-1", WHERE)}),
    ("txt-1", f"<div {NS}><form><input/></form></div>", {("txt-1", WHERE)}),
    ("txt-1", f"<div {NS}><a href=\"javascript:alert(1)\">a</a></div>", {("txt-1", WHERE)}),
    ("txt-1", f"<div {NS}><svg xmlns=\"http://www.w3.org/2000/svg\"/>x</div>", {("txt-1", WHERE)}),
    ("txt-2", f"<div {NS}>  <p> </p></div>", {("txt-2", WHERE)}),
    ("txt-2", f"<div {NS}><img src=\"#pic\" alt=\"\"/></div>", set()),
    ("txt-2", f"<div {NS}><p>tekst</p></div>", set()),
    ("fhirrug-narrative-xhtml", f"<div {NS}><p>ok</p></div>", set()),
    ("fhirrug-narrative-xhtml", "<div><p>no namespace</p></div>", {("fhirrug-narrative-xhtml", WHERE)}),
    ("fhirrug-narrative-xhtml", f"<p {NS}>not a div</p>", {("fhirrug-narrative-xhtml", WHERE)}),
    ("fhirrug-narrative-xhtml", f"<div {NS}><p>unclosed</div>", {("fhirrug-narrative-xhtml", WHERE)}),
    ("fhirrug-narrative-xhtml", f"<div {NS}>&nbsp;</div>", {("fhirrug-narrative-xhtml", WHERE)}),
]


@pytest.mark.parametrize("rule_id,div,expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_cases(rule_id, div, expected):
    assert _run(rule_id, _resource(div)) == expected


def test_rules_are_registered_documented_and_have_both_fixtures():
    rules = narrative_rules.RULES
    assert {r.id for r in rules} == {"txt-1", "txt-2", "fhirrug-narrative-xhtml"}
    registered = {r.id for r in all_rules()}
    for rule in rules:
        assert rule.id in registered
        assert rule.check.__doc__ and len(rule.check.__doc__.strip()) > 20 and rule.spec.startswith("https://")
        outcomes = {bool(expected) for rule_id, _, expected in CASES if rule_id == rule.id}
        assert outcomes == {True, False}, rule.id


def test_a_resource_without_narrative_is_not_reported():
    resource = {"resourceType": "CodeSystem", "id": "x"}
    assert not any(_run(r.id, resource) for r in narrative_rules.RULES)


@pytest.fixture(scope="module")
def release():
    return build(ROOT, "npm")


def test_export_gives_every_resource_a_generated_narrative_that_passes_the_rules(release):
    resources = release.resources + release.examples
    assert len(resources) > 50
    for resource in resources:
        text = resource["text"]
        assert text["status"] == "generated"
        assert list(resource)[: list(resource).index("text")][-1] in ("id", "language", "meta"), resource["id"]
        for rule in narrative_rules.RULES:
            assert _run(rule.id, resource) == set(), (resource["id"], rule.id)
        assert 'lang="en"' in text["div"], resource["id"]


def test_narratives_show_the_texts_in_both_languages(release):
    questionnaire = next(r for r in release.resources if r["id"] == "zelfdiagnose-lage-rugklachten")
    div = squash(questionnaire["text"]["div"])
    source = json.loads((ROOT / "questionnaires/Questionnaire-zelfdiagnose-lage-rugklachten.json").read_text(encoding="utf-8"))
    first = source["item"][0]
    english = first["_text"]["extension"][0]["extension"][1]["valueString"]
    assert squash(first["text"]) in div and squash(english) in div


def test_the_exported_package_validates_clean_with_its_narratives(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["export", "--out", str(tmp_path), "--format", "npm"], catch_exceptions=False, env={"SOURCE_DATE_EPOCH": "0"})
    assert result.exit_code == 0, result.output
    (tgz,) = tmp_path.glob("*.tgz")
    with tarfile.open(tgz) as archive:
        member = archive.extractfile("package/Questionnaire-zelfdiagnose-lage-rugklachten.json")
        assert json.load(member)["text"]["status"] == "generated"
    checked = runner.invoke(main, ["validate", str(tgz), "--format", "json"])
    report = json.loads(checked.stdout)
    assert report["summary"]["files"] > 50
    assert not {i["code"] for i in report["issues"]} & {"txt-1", "txt-2", "fhirrug-narrative-xhtml"}
    assert checked.exit_code == 0, checked.output[:2000]
