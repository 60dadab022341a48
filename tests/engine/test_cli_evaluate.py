"""`fhirrug evaluate` through click's CliRunner: formats, NDJSON streaming, stdin, --strip-disabled, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug.cli import main
from fhirrug.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[2]
VALID = ROOT / "examples" / "QuestionnaireResponse-zelfdiagnose-lijst1-1.json"
INVALID = ROOT / "examples" / "invalid" / "QuestionnaireResponse-zelfdiagnose-ongeldig-antwoord-op-uitgeschakeld.json"


def run(*args, input=None):
    return CliRunner().invoke(main, ["evaluate", *map(str, args)], input=input)


def line(path: Path) -> str:
    return json.dumps(json.loads(path.read_text(encoding="utf-8")))


def test_valid_response_exit_0_and_json_record():
    result = run(VALID, "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)["results"][0]
    assert record["valid"] is True and record["response"] == "zelfdiagnose-lijst1-1"
    manifest = load_manifest(ROOT)
    assert record["questionnaire"] == f"{manifest.canonical}/Questionnaire/zelfdiagnose-lage-rugklachten|{manifest.version}"
    assert {"system", "code", "display"} <= set(record["outcomes"][0])
    assert "lijst1" in record["enabled"]


def test_invalid_response_exit_1_with_issue():
    result = run(INVALID, "--format", "json")
    assert result.exit_code == 1
    issues = json.loads(result.stdout)["results"][0]["issues"]
    assert ["Questionnaire_QR_Item_NotEnabled", "QuestionnaireResponse.item[2]"] in [[i["code"], i["expression"]] for i in issues]


def test_ndjson_bad_line_is_reported_and_the_rest_evaluated(tmp_path):
    source = tmp_path / "export.ndjson"
    source.write_text(line(VALID) + "\n{not json\n\n" + line(VALID) + "\n", encoding="utf-8")
    result = run(source, "--format", "ndjson")
    assert result.exit_code == 1
    records = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["valid"] for r in records] == [True, False, True]
    assert records[1]["line"] == 2 and records[1]["issues"][0]["code"] == "fhirrug-json-syntax"


def test_stdin_json_and_ndjson():
    result = run("-", "--format", "ndjson", input=VALID.read_text(encoding="utf-8"))
    assert result.exit_code == 0 and json.loads(result.stdout)["valid"]
    result = run("-", "--format", "ndjson", input=line(VALID) + "\n" + line(INVALID) + "\n")
    assert result.exit_code == 1 and len(result.stdout.splitlines()) == 2


def test_operationoutcome_single_and_bundle():
    single = json.loads(run(INVALID, "--format", "operationoutcome").stdout)
    assert single["resourceType"] == "OperationOutcome"
    assert any("Questionnaire_QR_Item_NotEnabled" in json.dumps(i) and i["expression"] == ["QuestionnaireResponse.item[2]"] for i in single["issue"])
    bundle = json.loads(run(VALID, INVALID, "--format", "operationoutcome").stdout)
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) == 2


def test_text_format_has_summary():
    result = run(VALID, INVALID)
    assert result.exit_code == 1
    assert "2 responses: 1 valid, 1 invalid" in result.stdout


def test_strip_disabled_ndjson_and_folder(tmp_path):
    out = tmp_path / "stripped.ndjson"
    result = run(INVALID, "--strip-disabled", out)
    assert result.exit_code == 1
    stripped = json.loads(out.read_text(encoding="utf-8"))
    assert run("-", "--format", "ndjson", input=json.dumps(stripped)).exit_code == 0
    folder = tmp_path / "folder"
    run(INVALID, VALID, "--strip-disabled", folder)
    assert len(list(folder.glob("*.json"))) == 2


def test_questionnaire_override_and_unknown_questionnaire(tmp_path):
    response = json.loads(VALID.read_text(encoding="utf-8"))
    response["questionnaire"] = "https://fhir.fhirrug.nl/Questionnaire/bestaat-niet"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(response), encoding="utf-8")
    result = run(path, "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["results"][0]["issues"][0]["code"] == "Questionnaire_QR_Q_NotFound"
    override = ROOT / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json"
    result = run(path, "--questionnaire", override, "--format", "json")
    codes = [i["code"] for i in json.loads(result.stdout)["results"][0]["issues"]]
    assert "fhirrug-qr-questionnaire-mismatch" in codes and "Questionnaire_QR_Q_NotFound" not in codes


@pytest.mark.parametrize("args", [["does-not-exist.json"], ["-", "-"], ["--format", "yaml", str(VALID)]])
def test_usage_errors_exit_2(args):
    assert run(*args).exit_code == 2


def test_folder_input(tmp_path):
    (tmp_path / "a.json").write_text(VALID.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b.ndjson").write_text(line(VALID) + "\n", encoding="utf-8")
    result = run(tmp_path, "--format", "ndjson")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2


def test_bundle_of_responses(tmp_path):
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": json.loads(VALID.read_text(encoding="utf-8"))}, {"resource": json.loads(INVALID.read_text(encoding="utf-8"))}, {"resource": {"resourceType": "Patient"}}]}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = run(path, "--format", "ndjson")
    assert result.exit_code == 1
    assert [json.loads(x)["valid"] for x in result.stdout.splitlines()] == [True, False]
