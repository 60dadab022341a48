from __future__ import annotations

import difflib
import json
import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug import exitcodes
from fhirrug.cli import main
from fhirrug.issues import ERROR, Issue
from fhirrug.release import bump as bump_module
from fhirrug.release.bump import BumpError, ContentInvalid, apply_bump, plan_bump
from fhirrug.release.trees import load_tree
from release_tree import BASE, edit_json, snapshot, structural_validator

DATE = "2026-12-01"


def _changed_lines(before: dict[str, bytes], after: dict[str, bytes]) -> dict[str, list[str]]:
    out = {}
    for name in after:
        old = before.get(name, b"").decode().splitlines()
        new = after[name].decode().splitlines()
        lines = [l for l in difflib.unified_diff(old, new, lineterm="", n=0) if l[:1] in "+-" and not l.startswith(("+++", "---"))]
        if lines:
            out[name] = lines
    return out


def test_bump_changes_only_version_date_and_reference_lines(tree: Path):
    before = snapshot(tree)
    apply_bump(plan_bump(tree, "minor", date=DATE, validator=structural_validator))
    after = snapshot(tree)
    changed = _changed_lines(before, after)
    assert set(changed) == {
        "fhirrug.toml",
        "CHANGELOG.md",
        "valuesets/CodeSystem-antwoord.json",
        "valuesets/ValueSet-antwoord.json",
        "valuesets/ConceptMap-uitkomst.json",
        "questionnaires/Questionnaire-zelftest.json",
        "examples/QuestionnaireResponse-zelftest-antwoord-01.json",
        "examples/invalid/QuestionnaireResponse-zelftest-fout-01.json",
    }
    for name, lines in changed.items():
        if name == "CHANGELOG.md":
            assert all(l.startswith("+") for l in lines)  # only added
            continue
        for line in lines:
            if line.startswith("+"):
                assert ('"0.2.0"' in line or "|0.2.0" in line or DATE in line), (name, line)
            else:
                assert ('"0.1.0"' in line or "|0.1.0" in line or "2026-11-25" in line), (name, line)
    manifest = tomllib.loads((tree / "fhirrug.toml").read_text())
    assert (manifest["package"]["version"], manifest["package"]["date"]) == ("0.2.0", DATE)
    assert (tree / "fhirrug.toml").read_text().startswith("# The FHIR content package, declared once.\n")


def test_every_versioned_reference_follows_the_release(tree: Path):
    apply_bump(plan_bump(tree, "major", date=DATE, validator=structural_validator))
    q = json.loads((tree / "questionnaires/Questionnaire-zelftest.json").read_text())
    cm = json.loads((tree / "valuesets/ConceptMap-uitkomst.json").read_text())
    qr = json.loads((tree / "examples/QuestionnaireResponse-zelftest-antwoord-01.json").read_text())
    assert q["version"] == "1.0.0" and q["date"] == DATE
    assert q["item"][0]["answerValueSet"] == f"{BASE}/ValueSet/antwoord|1.0.0"
    assert cm["sourceCanonical"] == f"{BASE}/ValueSet/antwoord|1.0.0"
    assert cm["targetCanonical"] == f"{BASE}/ValueSet/antwoord|1.0.0"
    assert cm["group"][0]["sourceVersion"] == "1.0.0"
    assert qr["questionnaire"] == f"{BASE}/Questionnaire/zelftest|1.0.0"


def test_compose_include_valueset_and_version_are_rewritten(tree: Path):
    extra = tree / "valuesets/ValueSet-alles.json"
    vs = json.loads((tree / "valuesets/ValueSet-antwoord.json").read_text())
    vs.update(id="alles", url=f"{BASE}/ValueSet/alles")
    vs["compose"] = {
        "include": [
            {"valueSet": [f"{BASE}/ValueSet/antwoord|0.1.0"]},
            {"system": f"{BASE}/CodeSystem/antwoord", "version": "0.1.0"},
            {"system": "http://snomed.info/sct", "version": "0.1.0", "concept": [{"code": "279039007"}]},
            {"valueSet": ["https://elders.example/ValueSet/x|0.1.0"]},
        ]
    }
    extra.write_text(bump_module.dumps(vs), encoding="utf-8")
    apply_bump(plan_bump(tree, "patch", date=DATE, validator=structural_validator))
    include = json.loads(extra.read_text())["compose"]["include"]
    assert include[0]["valueSet"] == [f"{BASE}/ValueSet/antwoord|0.1.1"]
    assert include[1]["version"] == "0.1.1"
    assert include[2]["version"] == "0.1.0"  # not ours: untouched
    assert include[3]["valueSet"] == ["https://elders.example/ValueSet/x|0.1.0"]


def test_status_sets_package_and_resources(tree: Path):
    apply_bump(plan_bump(tree, "minor", date=DATE, status="active", validator=structural_validator))
    assert tomllib.loads((tree / "fhirrug.toml").read_text())["package"]["status"] == "active"
    assert json.loads((tree / "valuesets/CodeSystem-antwoord.json").read_text())["status"] == "active"
    assert json.loads((tree / "examples/QuestionnaireResponse-zelftest-antwoord-01.json").read_text())["status"] == "completed"


@pytest.mark.parametrize("to", ["0.1.0", "0.0.9", "0.1.0-rc1"])
def test_refuses_a_version_not_greater(tree: Path, to: str):
    before = snapshot(tree)
    with pytest.raises(BumpError, match="not greater"):
        plan_bump(tree, to=to, validator=structural_validator)
    assert snapshot(tree) == before


def test_refuses_content_that_does_not_validate(tree: Path):
    (tree / "questionnaires/Questionnaire-kapot.json").write_text("{ not json", encoding="utf-8")
    before = snapshot(tree)
    with pytest.raises(ContentInvalid):
        plan_bump(tree, "minor", validator=structural_validator)
    with pytest.raises(ContentInvalid):
        plan_bump(tree, "minor", validator=lambda root, package: [Issue("que-4", ERROR, "x", "f", "Questionnaire.item[0]")])
    assert snapshot(tree) == before


def test_a_validator_that_cannot_run_refuses_the_bump(tree: Path):
    def broken(root, package):
        raise ImportError("no validator")

    with pytest.raises(BumpError, match="cannot validate"):
        plan_bump(tree, "minor", validator=broken)


def test_refuses_files_not_in_the_fixed_format_unless_reformat(tree: Path):
    path = tree / "valuesets/CodeSystem-antwoord.json"
    path.write_text(json.dumps(json.loads(path.read_text()), indent=4), encoding="utf-8")
    with pytest.raises(ContentInvalid, match="fixed JSON format"):
        plan_bump(tree, "minor", validator=structural_validator)
    apply_bump(plan_bump(tree, "minor", reformat=True, date=DATE, validator=structural_validator))
    text = path.read_text()
    assert text == bump_module.dumps(json.loads(text)) and '"version": "0.2.0"' in text


def test_auto_takes_the_level_diff_recommends(tree: Path, tmp_path: Path):
    old = tmp_path / "old"
    shutil.copytree(tree, old)
    edit_json(tree / "questionnaires/Questionnaire-zelftest.json", lambda q: q["item"][1]["answerOption"].pop())
    plan = plan_bump(tree, auto=True, baseline=load_tree(str(old)), date=DATE, validator=structural_validator)
    # 0.1.0 is initial development (semver 0.y.z): a breaking change takes the next minor
    assert (plan.recommended, plan.new_version) == ("major", "0.2.0")
    apply_bump(plan)
    log = (tree / "CHANGELOG.md").read_text()
    assert "## 0.2.0 - 2026-12-01" in log and "answer option" in log and "Breaking changes (major)" in log


def test_auto_breaking_change_after_1_0_takes_the_next_major(tree: Path, tmp_path: Path):
    apply_bump(plan_bump(tree, to="1.2.0", date=DATE, validator=structural_validator))
    old = tmp_path / "old"
    shutil.copytree(tree, old)
    edit_json(tree / "questionnaires/Questionnaire-zelftest.json", lambda q: q["item"][1]["answerOption"].pop())
    plan = plan_bump(tree, auto=True, baseline=load_tree(str(old)), date=DATE, validator=structural_validator)
    assert (plan.recommended, plan.new_version) == ("major", "2.0.0")


def test_a_breaking_change_in_0_y_is_released_as_the_next_minor_or_as_1_0_0(tree: Path, tmp_path: Path):
    old = tmp_path / "old"
    shutil.copytree(tree, old)
    edit_json(tree / "valuesets/CodeSystem-antwoord.json", lambda cs: cs["concept"].pop())
    assert plan_bump(tree, "minor", baseline=load_tree(str(old)), validator=structural_validator).new_version == "0.2.0"
    assert plan_bump(tree, "major", baseline=load_tree(str(old)), validator=structural_validator).new_version == "1.0.0"
    with pytest.raises(BumpError, match="major"):  # 0.1.1 still says "compatible"
        plan_bump(tree, "patch", baseline=load_tree(str(old)), validator=structural_validator)


def test_auto_text_change_is_a_patch(tree: Path, tmp_path: Path):
    old = tmp_path / "old"
    shutil.copytree(tree, old)
    edit_json(tree / "questionnaires/Questionnaire-zelftest.json", lambda q: q["item"][2].update(text="Toelichting (optioneel)"))
    plan = plan_bump(tree, auto=True, baseline=load_tree(str(old)), date=DATE, validator=structural_validator)
    assert (plan.recommended, plan.new_version) == ("patch", "0.1.1")


def test_refuses_a_smaller_level_than_the_changes_need_unless_forced(tree: Path, tmp_path: Path):
    old = tmp_path / "old"
    shutil.copytree(tree, old)
    edit_json(tree / "valuesets/CodeSystem-antwoord.json", lambda cs: cs["concept"].pop())
    with pytest.raises(BumpError, match="major"):
        plan_bump(tree, "patch", baseline=load_tree(str(old)), validator=structural_validator)
    assert plan_bump(tree, "patch", baseline=load_tree(str(old)), force=True, validator=structural_validator).new_version == "0.1.1"


def test_auto_with_nothing_changed_is_refused(tree: Path, tmp_path: Path):
    old = tmp_path / "old"
    shutil.copytree(tree, old)
    with pytest.raises(BumpError, match="nothing changed"):
        plan_bump(tree, auto=True, baseline=load_tree(str(old)), validator=structural_validator)


def test_hand_written_unreleased_notes_move_into_the_release(tree: Path):
    (tree / "CHANGELOG.md").write_text("# Changelog\n\n## Unreleased\n\n- Spelling fixed.\n\n## 0.0.1 - 2026-01-01\n\nFirst.\n", encoding="utf-8")
    apply_bump(plan_bump(tree, "patch", date=DATE, validator=structural_validator))
    log = (tree / "CHANGELOG.md").read_text()
    assert log.index("## Unreleased") < log.index("## 0.1.1 - 2026-12-01") < log.index("- Spelling fixed.") < log.index("## 0.0.1")


# --- through the command line -----------------------------------------------------------------


@pytest.fixture
def lenient(monkeypatch):
    monkeypatch.setattr(bump_module, "validate_content", structural_validator)


def test_cli_dry_run_prints_the_diff_and_writes_nothing(tree: Path, lenient):
    before = snapshot(tree)
    result = CliRunner().invoke(main, ["bump", "minor", "--dry-run", "--date", DATE, "--root", str(tree)])
    assert result.exit_code == exitcodes.OK, result.output
    assert '-  "version": "0.1.0",' in result.stdout and '+  "version": "0.2.0",' in result.stdout
    assert "+++ b/fhirrug.toml" in result.stdout
    assert snapshot(tree) == before


def test_cli_bump_writes(tree: Path, lenient):
    result = CliRunner().invoke(main, ["bump", "patch", "--date", DATE, "--root", str(tree)])
    assert result.exit_code == exitcodes.OK, result.output
    assert tomllib.loads((tree / "fhirrug.toml").read_text())["package"]["version"] == "0.1.1"


def test_cli_since_a_folder(tree: Path, tmp_path: Path, lenient):
    old = tmp_path / "old"
    shutil.copytree(tree, old)
    edit_json(tree / "valuesets/CodeSystem-antwoord.json", lambda cs: cs["concept"].append({"code": "misschien", "display": "Misschien"}))
    result = CliRunner().invoke(main, ["bump", "--auto", "--since", str(old), "--date", DATE, "--root", str(tree)])
    assert result.exit_code == exitcodes.OK, result.output
    assert tomllib.loads((tree / "fhirrug.toml").read_text())["package"]["version"] == "0.2.0"
    assert "code 'misschien' added" in (tree / "CHANGELOG.md").read_text()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["bump", "--to", "0.0.1"], exitcodes.USAGE),
        (["bump"], exitcodes.USAGE),
        (["bump", "minor", "--to", "1.0.0"], exitcodes.USAGE),
        (["bump", "--auto"], exitcodes.USAGE),  # no tag v0.1.0 and no --since
        (["bump", "minor", "--date", "1 december"], exitcodes.USAGE),
    ],
)
def test_cli_usage_errors(tree: Path, lenient, args, code):
    result = CliRunner().invoke(main, [*args, "--root", str(tree)])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


def test_cli_invalid_content_exits_with_findings(tree: Path, lenient):
    (tree / "questionnaires/Questionnaire-kapot.json").write_text("[]", encoding="utf-8")
    result = CliRunner().invoke(main, ["bump", "minor", "--root", str(tree)])
    assert result.exit_code == exitcodes.FINDINGS, result.output


def test_cli_outside_a_project(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["bump", "minor"])
    assert result.exit_code == exitcodes.USAGE and "Traceback" not in result.output


def test_cli_bump_recovers_an_interrupted_bump_first(tree: Path, lenient):
    from fhirrug.release import transaction

    class Crash(Exception):
        pass

    def crash_after_journal(name: str) -> None:
        if name == "journal":
            raise Crash

    with pytest.raises(Crash):
        apply_bump(plan_bump(tree, "minor", date=DATE, validator=None), hook=crash_after_journal)
    dry = CliRunner().invoke(main, ["bump", "minor", "--dry-run", "--root", str(tree)])
    assert dry.exit_code == exitcodes.USAGE and "interrupted" in dry.output
    result = CliRunner().invoke(main, ["bump", "minor", "--date", DATE, "--root", str(tree)])
    assert result.exit_code == exitcodes.OK, result.output
    assert "rolled forward" in result.output
    # the interrupted 0.2.0 was finished, then this bump made 0.3.0
    assert tomllib.loads((tree / "fhirrug.toml").read_text())["package"]["version"] == "0.3.0"
    assert not (tree / transaction.JOURNAL_NAME).exists()


def test_a_file_edited_between_plan_and_apply_stops_the_bump(tree: Path):
    from fhirrug.release.transaction import TransactionError

    plan = plan_bump(tree, "minor", date=DATE, validator=structural_validator)
    edit_json(tree / "valuesets/ValueSet-antwoord.json", lambda vs: vs.update(title="Bewerkt"))
    before = snapshot(tree)
    with pytest.raises(TransactionError, match="changed since"):
        apply_bump(plan)
    assert snapshot(tree) == before
