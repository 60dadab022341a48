"""`validate` and `evaluate` check what they are given in the context of a package, through the
installed console script: stdin, files outside the content tree, members of an unpacked NPM
package, `--package DIR|TGZ` (with or without fhirrug.toml); one rule for an empty folder;
selectors that match no rule; `evaluate | head`."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from fhirrug import exitcodes

from test_acceptance import run

REPO = Path(__file__).resolve().parents[1]
FAQ = REPO / "questionnaires" / "Questionnaire-ischias-faq.json"
RESPONSE = REPO / "examples" / "QuestionnaireResponse-anamnese-chronische-discopathie.json"


def findings(result) -> list[tuple[str, str]]:
    return [(i["code"], i["severity"]) for i in json.loads(result.stdout)["issues"]]


def test_stdin_is_checked_against_the_package(fhirrug_exe, tmp_path):
    piped = subprocess.run([str(fhirrug_exe), "validate", "--format", "json", "-"], input=FAQ.read_bytes(), capture_output=True, cwd=tmp_path, timeout=120)
    assert piped.returncode == exitcodes.OK, piped.stdout[-2000:]
    data = json.loads(piped.stdout)
    assert data["issues"] == [] and data["files"] == ["-"]


def test_a_stored_response_outside_the_tree_gets_the_verdict_of_evaluate(fhirrug_exe, tmp_path):
    copy = tmp_path / RESPONSE.name
    shutil.copy(RESPONSE, copy)
    validated = run(fhirrug_exe, "validate", "--format", "json", copy, cwd=tmp_path)
    evaluated = run(fhirrug_exe, "evaluate", "--format", "json", copy, cwd=tmp_path)
    assert json.loads(evaluated.stdout)["results"][0]["valid"] is True
    assert validated.returncode == exitcodes.OK, validated.stdout
    assert findings(validated) == []


def test_a_changed_copy_outside_the_tree_is_still_checked(fhirrug_exe, tmp_path):
    """The copy takes the place of its namesake in the package: its own errors are reported."""
    data = json.loads(FAQ.read_text(encoding="utf-8"))
    data["item"][0]["enableWhen"] = [{"question": "no-such-linkId", "operator": "exists", "answerBoolean": True}]
    copy = tmp_path / FAQ.name
    copy.write_text(json.dumps(data), encoding="utf-8")
    result = run(fhirrug_exe, "validate", "--format", "json", copy, cwd=tmp_path)
    assert result.returncode == exitcodes.FINDINGS
    codes = {code for code, _ in findings(result)}
    assert "Questionnaire_Q_EnableWhen_NoTarget" in codes  # fhirrug-enablewhen-target-missing before 0.2
    assert not codes & {"fhirrug-canonical-duplicate", "fhirrug-id-duplicate", "fhirrug-canonical-unresolved"}


@pytest.fixture(scope="module")
def npm_package(tmp_path_factory) -> Path:
    """The package as `fhirrug export` writes it (a FHIR NPM .tgz)."""
    out = tmp_path_factory.mktemp("export")
    exe = Path(__import__("sys").executable).parent / "fhirrug"
    subprocess.run([str(exe), "export", "--out", str(out)], cwd=REPO, check=True, capture_output=True, timeout=300)
    return next(out.glob("*.tgz"))


def test_a_member_of_an_unpacked_npm_package_validates_clean(fhirrug_exe, tmp_path, npm_package):
    with tarfile.open(npm_package) as archive:
        archive.extractall(tmp_path, filter="data")
    member = tmp_path / "package" / FAQ.name
    result = run(fhirrug_exe, "validate", "--format", "json", member, cwd=tmp_path)
    assert result.returncode == exitcodes.OK, result.stdout[-2000:]
    # and the unpacked folder, which has no fhirrug.toml, is a --package for evaluate and validate
    response = tmp_path / RESPONSE.name
    shutil.copy(RESPONSE, response)
    for command in ("validate", "evaluate"):
        outcome = run(fhirrug_exe, command, "--package", tmp_path / "package", response, cwd=tmp_path)
        assert outcome.returncode == exitcodes.OK, (command, outcome.stdout, outcome.stderr)


def test_package_tgz_for_validate_and_evaluate(fhirrug_exe, tmp_path, npm_package):
    response = tmp_path / RESPONSE.name
    shutil.copy(RESPONSE, response)
    for command in ("validate", "evaluate"):
        outcome = run(fhirrug_exe, command, "--package", npm_package, response, cwd=tmp_path)
        assert outcome.returncode == exitcodes.OK, (command, outcome.stdout, outcome.stderr)
    # a package without the Questionnaire: the response cannot be checked, in both commands
    empty = tmp_path / "other"
    empty.mkdir()
    (empty / "ValueSet-x.json").write_text(json.dumps({"resourceType": "ValueSet", "id": "x", "status": "draft"}))
    for command in ("validate", "evaluate"):
        assert run(fhirrug_exe, command, "--package", empty, response, cwd=tmp_path).returncode == exitcodes.FINDINGS, command
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(b"not a tar")
    for command in ("validate", "evaluate"):
        refused = run(fhirrug_exe, command, "--package", bad, response, cwd=tmp_path)
        assert refused.returncode == exitcodes.USAGE and "bad.tgz" in refused.stderr, command


@pytest.mark.parametrize("command, word", [("validate", "nothing to validate"), ("evaluate", "nothing to evaluate")])
def test_an_empty_folder_is_a_usage_error_for_both_commands(fhirrug_exe, tmp_path, command, word):
    folder = tmp_path / "empty"
    folder.mkdir()
    result = run(fhirrug_exe, command, folder, cwd=tmp_path)
    assert result.returncode == exitcodes.USAGE
    assert word in result.stderr and str(folder) in result.stderr


@pytest.mark.parametrize(
    "args, named, closest",
    [
        (["--select", "que-99"], "que-99", "que-9"),
        (["--ignore", "fhirrug-translation-mising"], "fhirrug-translation-mising", "fhirrug-translation-missing"),
        (["--severity", "que-13x=warning"], "que-13x", "que-13"),
    ],
)
def test_a_selector_matching_no_rule_exits_2_with_the_closest_id(fhirrug_exe, fixture_files, args, named, closest):
    result = run(fhirrug_exe, "validate", *args, fixture_files.good)
    assert result.returncode == exitcodes.USAGE
    assert repr(named) in result.stderr and repr(closest) in result.stderr and result.stdout == ""


def test_a_selector_in_tool_fhirrug_matching_no_rule_exits_2(fhirrug_exe, make_project, fixture_files):
    root = make_project({"questionnaires/Questionnaire-fixture-goed.json": fixture_files.good.read_text()}, pyproject='[tool.fhirrug]\nselect = ["que-*", "fhirug-*"]\n')
    result = run(fhirrug_exe, "validate", cwd=root)
    assert result.returncode == exitcodes.USAGE
    assert "pyproject.toml" in result.stderr and "'fhirug-*'" in result.stderr and result.stdout == ""


def test_evaluate_into_a_closed_pipe_is_quiet_with_the_sigpipe_status(fhirrug_exe, tmp_path):
    lines = RESPONSE.read_text(encoding="utf-8")
    batch = tmp_path / "many.ndjson"
    batch.write_text((json.dumps(json.loads(lines)) + "\n") * 5000, encoding="utf-8")
    pipeline = subprocess.run(
        f"'{fhirrug_exe}' evaluate --format ndjson '{batch}' | head -n 1; echo \"status=${{PIPESTATUS[0]}}\"",
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert pipeline.stderr == ""
    out = pipeline.stdout.splitlines()
    assert json.loads(out[0])["valid"] is True
    assert out[-1] == "status=141"


@pytest.mark.parametrize(
    "name, key, issue_type",
    [
        ("QuestionnaireResponse-zelfdiagnose-ongeldig-antwoord-op-uitgeschakeld.json", "Questionnaire_QR_Item_NotEnabled", "invalid"),
        ("QuestionnaireResponse-zelfdiagnose-ongeldig-verplicht-ontbreekt.json", "Questionnaire_QR_Item_Missing", "required"),
    ],
)
def test_operationoutcome_issue_types_are_those_of_the_hl7_validator(fhirrug_exe, name, key, issue_type):
    """The IssueType Java's expected outcomes give the same message (not `business-rule` for all)."""
    response = REPO / "examples" / "invalid" / name
    for command in ("validate", "evaluate"):
        result = run(fhirrug_exe, command, "--format", "operationoutcome", response, cwd=REPO)
        assert result.returncode == exitcodes.FINDINGS, (command, result.stderr)
        issues = [i for i in json.loads(result.stdout)["issue"] if i["extension"][0]["valueCode"] == key]
        assert issues and {i["code"] for i in issues} == {issue_type}, (command, issues)
