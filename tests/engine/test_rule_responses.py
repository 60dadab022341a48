"""`fhirrug validate` covers the package's responses through the `fhirrug-response` rule, whose
findings keep the engine's own codes; and the installed console script evaluates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fhirrug.package import Package, Resource
from fhirrug.rules import all_rules
from fhirrug.rules.responses import RULES, responses
from fhirrug.validate.pipeline import validate_package

from engine_helpers import ans, ew, item, q, qr

ROOT = Path(__file__).resolve().parents[2]


def _package(tmp_path, *datas):
    resources = []
    for k, data in enumerate(datas):
        path = tmp_path / f"r{k}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        resources.append(Resource(path, data))
    return Package(manifest=None, resources=resources)


def test_package_rule_yields_engine_codes_on_the_response_file(tmp_path):
    quest = dict(q(item("a"), item("b", "string", enableWhen=[ew("a", answerBoolean=True)])), version="1")
    response = qr(ans("a", {"valueBoolean": False}), ans("b", {"valueString": "x"}))
    package = _package(tmp_path, quest, response)
    rule = next(r for r in RULES if r.id == "fhirrug-response")
    result = validate_package(package, rules=[rule])
    found = {(i.code, i.file, i.expression) for i in result.issues}
    assert ("Questionnaire_QR_Item_NotEnabled", str(tmp_path / "r1.json"), "QuestionnaireResponse.item[1]") in found


def test_package_rule_reports_unknown_questionnaire(tmp_path):
    package = _package(tmp_path, qr(questionnaire="http://example.org/Questionnaire/none"))
    issues = list(responses(package, None))
    assert [(i.code, i.expression) for i in issues] == [("Questionnaire_QR_Q_NotFound", "QuestionnaireResponse.questionnaire")]


def test_engine_codes_are_listed_as_rules():
    ids = {r.id for r in all_rules()}
    assert {"fhirrug-response", "Questionnaire_QR_Item_NotEnabled", "Questionnaire_QR_Item_Missing"} <= ids


def test_installed_console_script_evaluates():
    script = Path(sys.executable).parent / "fhirrug"
    example = ROOT / "examples" / "QuestionnaireResponse-zelfdiagnose-lijst1-1.json"
    done = subprocess.run([str(script), "evaluate", "-", "--format", "ndjson"], input=example.read_bytes(), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["valid"] is True
