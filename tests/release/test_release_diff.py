from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug import exitcodes
from fhirrug.cli import main
from fhirrug.release.bump import apply_bump, plan_bump
from fhirrug.release.diff import diff_changes, diff_resources
from fhirrug.release.export import export
from fhirrug.release.trees import release_baseline
from release_tree import BASE, code_system, concept_map, edit_json, questionnaire, response, value_set

Q = f"{BASE}/Questionnaire/zelftest"
CS = f"{BASE}/CodeSystem/antwoord"


def _changes(old: list[dict], new: list[dict]) -> set[tuple[str, str, str]]:
    return {(c.kind, c.level, c.expression) for c in diff_changes(old, new)}


def _q_change(change) -> tuple[list[dict], list[dict]]:
    new = questionnaire()
    change(new)
    return [questionnaire()], [new]


def test_identical_releases_have_no_changes():
    assert diff_resources([questionnaire(), code_system()], [questionnaire(), code_system()]) == {"recommended": "none", "changes": []}


def test_version_date_and_reference_versions_are_not_changes():
    new, vs, cm = questionnaire(), value_set(), concept_map()
    new.update(version="0.2.0", date="2026-12-24")
    new["item"][0]["answerValueSet"] = f"{BASE}/ValueSet/antwoord|0.2.0"
    new["item"][1]["answerOption"][0]["valueCoding"]["version"] = "0.2.0"  # Coding.version of our own system
    vs["version"] = "0.2.0"
    cm["group"][0]["sourceVersion"] = "0.2.0"
    cm["sourceCanonical"] = f"{BASE}/ValueSet/antwoord|0.2.0"
    assert diff_changes([questionnaire(), value_set(), code_system(), concept_map()], [new, vs, code_system(), cm]) == []


def test_the_version_of_somebody_elses_reference_is_a_change():
    old, new = questionnaire(), questionnaire()
    old["item"][2]["answerValueSet"] = "http://snomed.info/sct?fhir_vs=isa/279039007|2024-01"
    new["item"][2]["answerValueSet"] = "http://snomed.info/sct?fhir_vs=isa/279039007|2025-01"
    assert ("answerValueSet-changed", "major", "Questionnaire.item[2].answerValueSet") in _changes([old], [new])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda q: q["item"].pop(2), ("item-removed", "major", "Questionnaire.item[2]")),
        (lambda q: q["item"].append({"linkId": "extra", "text": "Nog iets?", "type": "string"}), ("item-added", "minor", "Questionnaire.item[3]")),
        (lambda q: q["item"].append({"linkId": "extra", "text": "Nog iets?", "type": "string", "required": True}), ("item-added-required", "major", "Questionnaire.item[3]")),
        (lambda q: q["item"][2].update(required=True), ("item-required-changed", "major", "Questionnaire.item[2]")),
        (lambda q: q["item"][0].update(required=False), ("item-required-changed", "minor", "Questionnaire.item[0]")),
        (lambda q: q["item"][2].update(type="text"), ("item-type-changed", "major", "Questionnaire.item[2]")),
        (lambda q: q["item"][1]["enableWhen"][0].update(operator="!="), ("enableWhen-changed", "major", "Questionnaire.item[1].enableWhen")),
        (lambda q: q["item"][1].update(enableBehavior="any"), ("enableWhen-changed", "major", "Questionnaire.item[1].enableWhen")),
        (lambda q: q["item"][1]["answerOption"].pop(1), ("answer-option-removed", "major", "Questionnaire.item[1].answerOption[1]")),
        (lambda q: q["item"][1]["answerOption"].append({"valueCoding": {"system": CS, "code": "huisarts"}}), ("answer-option-added", "minor", "Questionnaire.item[1].answerOption[2]")),
        (lambda q: q["item"][1]["answerOption"][0]["valueCoding"].update(display="Jazeker"), ("answer-option-text-changed", "patch", "Questionnaire.item[1].answerOption[0]")),
        (lambda q: q["item"][0].update(text="Heeft u rugpijn?"), ("text-changed", "patch", "Questionnaire.item[0].text")),
        (lambda q: q["item"][0].update(_text={"extension": []}), ("translation-changed", "patch", "Questionnaire.item[0].text")),
        (lambda q: q.update(title="Nieuwe titel"), ("text-changed", "patch", "Questionnaire.title")),
        (lambda q: q["item"][0].update(answerValueSet=f"{BASE}/ValueSet/anders|0.1.0"), ("answerValueSet-changed", "major", "Questionnaire.item[0].answerValueSet")),
        (lambda q: q.update(status="active"), ("status-changed", "minor", "Questionnaire.status")),
    ],
)
def test_questionnaire_changes(change, expected):
    old, new = _q_change(change)
    assert expected in _changes(old, new)


def test_reordered_items_are_major():
    old, new = _q_change(lambda q: q["item"].insert(0, q["item"].pop(2)))
    kinds = _changes(old, new)
    assert ("item-reordered", "major", "Questionnaire.item[0]") in kinds


def test_item_moved_into_a_group_is_major():
    def move(q):
        moved = q["item"].pop(2)
        q["item"].append({"linkId": "groep", "text": "Groep", "type": "group", "item": [moved]})

    old, new = _q_change(move)
    kinds = _changes(old, new)
    assert ("item-moved", "major", "Questionnaire.item[2].item[0]") in kinds
    assert ("item-added", "minor", "Questionnaire.item[2]") in kinds


def test_code_system_changes():
    new = code_system()
    new["concept"].pop(2)  # huisarts
    new["concept"].append({"code": "misschien", "display": "Misschien"})
    new["concept"][0]["display"] = "Jawel"
    new["concept"][1]["property"] = [{"code": "status", "valueCode": "retired"}]
    assert _changes([code_system()], [new]) == {
        ("code-removed", "major", "CodeSystem.concept[2]"),
        ("code-added", "minor", "CodeSystem.concept[2]"),
        ("code-text-changed", "patch", "CodeSystem.concept[0]"),
        ("code-retired", "minor", "CodeSystem.concept[1]"),
    }


def test_value_set_changes():
    new = value_set()
    new["compose"]["include"][0]["concept"] = [{"code": "ja"}, {"code": "huisarts"}]
    assert _changes([value_set()], [new]) == {
        ("valueset-member-removed", "major", "ValueSet.compose.include[0].concept[1]"),
        ("valueset-member-added", "minor", "ValueSet.compose.include[0].concept[1]"),
    }


def test_concept_map_changes():
    new = concept_map()
    new["group"][0]["element"][0]["target"][0]["code"] = "nee"
    new["group"][0]["element"].append({"code": "nee", "target": [{"code": "ja", "equivalence": "relatedto"}]})
    assert _changes([concept_map()], [new]) == {
        ("mapping-changed", "major", "ConceptMap.group[0].element[0]"),
        ("mapping-added", "minor", "ConceptMap.group[0].element[1]"),
    }


def test_resources_added_and_removed():
    assert _changes([questionnaire()], [questionnaire(), code_system()]) == {("resource-added", "minor", "CodeSystem")}
    assert _changes([questionnaire(), code_system()], [questionnaire()]) == {("resource-removed", "major", "CodeSystem")}
    assert _changes([], [response()]) == {("resource-added", "patch", "QuestionnaireResponse")}


def test_recommended_is_the_highest_level():
    new = questionnaire()
    new["item"][0]["text"] = "Anders"
    new["item"].append({"linkId": "extra", "type": "string", "text": "x"})
    assert diff_resources([questionnaire()], [new])["recommended"] == "minor"


# --- OLD and NEW as folders, packages and git revisions ---------------------------------------


def test_cli_json_on_folders(tree: Path, tmp_path: Path):
    old = tmp_path / "old"
    shutil.copytree(tree, old)
    edit_json(tree / "questionnaires/Questionnaire-zelftest.json", lambda q: q["item"].pop(2))
    result = CliRunner().invoke(main, ["diff", str(old), str(tree), "--format", "json"])
    assert result.exit_code == exitcodes.OK, result.output
    data = json.loads(result.stdout)
    assert data["recommended"] == "major"
    assert [(c["resource"], c["kind"], c["expression"]) for c in data["changes"]] == [(Q, "item-removed", "Questionnaire.item[2]")]


def test_cli_text_on_packages(tree: Path, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    export(tree, tmp_path / "a", "npm")
    edit_json(tree / "valuesets/CodeSystem-antwoord.json", lambda cs: cs["concept"].append({"code": "misschien", "display": "Misschien"}))
    apply_bump(plan_bump(tree, "minor", date="2026-12-01", validator=None))
    export(tree, tmp_path / "b", "npm")
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "a/fhirrug.test.nl-0.1.0.tgz"), str(tmp_path / "b/fhirrug.test.nl-0.2.0.tgz")])
    assert result.exit_code == exitcodes.OK, result.output
    assert "code-added" in result.stdout and "recommended release: minor" in result.stdout
    assert "(0.1.0)" in result.stdout and "(0.2.0)" in result.stdout


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_cli_git_revisions(tree: Path, monkeypatch):
    _git(tree, "init", "-q")
    _git(tree, "-c", "user.name=t", "-c", "user.email=t@example.org", "add", ".")
    _git(tree, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "0.1.0")
    _git(tree, "tag", "v0.1.0")
    edit_json(tree / "questionnaires/Questionnaire-zelftest.json", lambda q: q["item"][0].update(text="Heeft u rugpijn?"))
    _git(tree, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qam", "text")
    monkeypatch.chdir(tree)
    result = CliRunner().invoke(main, ["diff", "v0.1.0", "HEAD", "--format", "json"])
    assert result.exit_code == exitcodes.OK, result.output
    data = json.loads(result.stdout)
    assert data["recommended"] == "patch"
    assert [(c["kind"], c["expression"]) for c in data["changes"]] == [("text-changed", "Questionnaire.item[0].text")]
    # bump finds the tag v0.1.0 by itself
    plan = plan_bump(tree, auto=True, date="2026-12-01", validator=None, baseline=release_baseline(tree, None, "0.1.0"))
    assert plan.new_version == "0.1.1"


def test_cli_unknown_old_is_a_usage_error(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["diff", "no-such-thing", str(tmp_path)])
    assert result.exit_code == exitcodes.USAGE and "Traceback" not in result.output


# --- outcomes and stored responses (through the enableWhen engine) ----------------------------

# An outcome in the package's own shape: a coded group with a text around the answer's display
# text (R4 que-3 forbids a code on a display item; the engine, paths and diff share this definition).
OUTCOME = {
    "linkId": "advies",
    "text": "Ga naar de huisarts",
    "type": "group",
    "code": [{"system": CS, "code": "huisarts", "display": "Ga naar de huisarts"}],
    "enableWhen": [{"question": "pijn", "operator": "=", "answerCoding": {"system": CS, "code": "ja"}}],
    "item": [{"linkId": "advies.tekst", "type": "display", "text": "Maak een afspraak bij de huisarts."}],
}


def _with_outcome() -> dict:
    q = questionnaire()
    q["item"].append(json.loads(json.dumps(OUTCOME)))
    return q


def _answered(code: str) -> dict:
    qr = response(f"antwoord-{code}")
    qr["item"][0]["answer"][0]["valueCoding"]["code"] = code
    return qr


def test_outcome_items_added_and_removed():
    assert ("outcome-added", "minor", "Questionnaire.item[3]") in _changes([questionnaire()], [_with_outcome()])
    assert ("outcome-removed", "major", "Questionnaire.item[3]") in _changes([_with_outcome()], [questionnaire()])


def test_removing_an_outcome_of_the_package_is_outcome_removed():
    """The shipped self-diagnosis: dropping one of its outcome groups is `outcome-removed`."""
    shipped = Path(__file__).resolve().parents[2] / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json"
    if not shipped.is_file():
        pytest.skip("the self-diagnosis Questionnaire is not in this checkout")
    old = json.loads(shipped.read_text(encoding="utf-8"))
    new = json.loads(json.dumps(old))
    group = next(i for i in new["item"] if i.get("type") == "group" and any(c.get("code") and c.get("type") == "group" for c in i.get("item", [])))
    position = next(k for k, c in enumerate(group["item"]) if c.get("code") and c.get("type") == "group")
    removed = group["item"].pop(position)
    found = {(c.kind, c.level) for c in diff_changes([old], [new]) if removed["linkId"] in c.detail}
    assert ("outcome-removed", "major") in found and ("item-removed", "major") in found


def test_a_stored_response_reaching_another_outcome_is_major():
    new = _with_outcome()
    new["item"][3]["enableWhen"][0]["answerCoding"]["code"] = "nee"
    old_tree = [_with_outcome(), code_system(), value_set(), _answered("ja"), _answered("nee")]
    new_tree = [new, code_system(), value_set(), _answered("ja"), _answered("nee")]
    found = _changes(old_tree, new_tree)
    assert ("outcome-condition-changed", "major", "Questionnaire.item[3].enableWhen") in found
    assert ("stored-response-outcome-changed", "major", "QuestionnaireResponse/antwoord-ja") in found
    assert ("stored-response-outcome-changed", "major", "QuestionnaireResponse/antwoord-nee") in found


def test_a_stored_response_that_becomes_invalid_is_major():
    new = questionnaire()
    new["item"][2]["required"] = True  # 'toelichting' was never answered
    found = _changes([questionnaire(), code_system(), value_set(), _answered("nee")], [new, code_system(), value_set(), _answered("nee")])
    assert ("stored-response-invalid", "major", "QuestionnaireResponse/antwoord-nee") in found


def test_a_release_that_keeps_outcomes_has_no_replay_changes():
    new = _with_outcome()
    new["item"][3]["text"] = "Neem contact op met de huisarts"
    found = _changes([_with_outcome(), code_system(), _answered("ja")], [new, code_system(), _answered("ja")])
    assert found == {("text-changed", "patch", "Questionnaire.item[3].text")}


def test_a_tree_with_an_interrupted_bump_is_not_compared(tree: Path, tmp_path: Path):
    (tree / ".fhirrug-transaction").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(tree), str(tree)])
    assert result.exit_code == exitcodes.USAGE and "interrupted" in result.output


@pytest.mark.parametrize(("fail_on", "code"), [("major", exitcodes.OK), ("minor", exitcodes.FINDINGS), ("patch", exitcodes.FINDINGS)])
def test_cli_fail_on_gates_a_pipeline(tree: Path, tmp_path: Path, fail_on: str, code: int):
    old = tmp_path / "old"
    shutil.copytree(tree, old)
    edit_json(tree / "valuesets/CodeSystem-antwoord.json", lambda cs: cs["concept"].append({"code": "misschien", "display": "Misschien"}))
    result = CliRunner().invoke(main, ["diff", str(old), str(tree), "--fail-on", fail_on])
    assert result.exit_code == code, result.output


# --- garbage never passes a gate (issue 17) ---------------------------------------------------


def _evil_tgz(path: Path, members: dict[str, bytes]) -> Path:
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path.write_bytes(raw.getvalue())
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda d: _evil_tgz(d / "evil.tgz", {"../evil.json": b"{}", "package/CodeSystem-x.json": b"{}"}),
        lambda d: (d / "bogus.tgz").write_bytes(b"not gzip at all") and d / "bogus.tgz",
        lambda d: _evil_tgz(d / "empty.tgz", {}),
        lambda d: _evil_tgz(d / "pax.tgz", {"package/" + "a" * 300_000 + ".json": b""}),
        lambda d: _evil_tgz(d / "broken.tgz", {"package/package.json": b'{"name": "x", "version": "0.1.0"}', "package/Questionnaire-x.json": b"{ not json"}),
    ],
    ids=["path traversal", "not an archive", "no members", "huge PAX name", "member does not parse"],
)
@pytest.mark.parametrize("side", ["old", "new"])
def test_an_unreadable_or_unsafe_package_is_exit_2_whatever_the_gate(tree: Path, tmp_path: Path, make, side: str):
    bad = str(make(tmp_path))
    args = [bad, str(tree)] if side == "old" else [str(tree), bad]
    result = CliRunner().invoke(main, ["diff", *args, "--fail-on", "patch"])
    assert result.exit_code == exitcodes.USAGE, result.output
    assert "Traceback" not in result.output and "recommended release" not in result.output


def test_a_file_that_does_not_parse_in_a_folder_is_exit_2(tree: Path, tmp_path: Path):
    old = tmp_path / "old"
    shutil.copytree(tree, old)
    (tree / "valuesets/ValueSet-nieuw.json").write_text('{"resourceType": "ValueSet",', encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(old), str(tree), "--fail-on", "major"])
    assert result.exit_code == exitcodes.USAGE, result.output
    assert "ValueSet-nieuw.json" in result.output and "cannot be read" in result.output


def test_a_folder_without_resources_is_exit_2(tree: Path, tmp_path: Path):
    (tmp_path / "leeg").mkdir()
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "leeg"), str(tree)])
    assert result.exit_code == exitcodes.USAGE and "no FHIR resources" in result.output


@pytest.mark.parametrize(
    "change",
    [lambda vs: vs["compose"].update(include=[[{"system": CS}]]), lambda vs: vs["compose"]["include"][0]["concept"].append({"code": {"x": 1}})],
    ids=["include is a list", "code is an object"],
)
def test_a_malformed_resource_is_exit_2_naming_it(tree: Path, tmp_path: Path, change):
    old = tmp_path / "old"
    shutil.copytree(tree, old)
    edit_json(tree / "valuesets/ValueSet-antwoord.json", change)
    result = CliRunner().invoke(main, ["diff", str(old), str(tree)])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == exitcodes.USAGE, result.output
    assert f"{BASE}/ValueSet/antwoord: cannot compare" in result.output or "cannot expand the ValueSets of NEW" in result.output


def test_a_translation_extension_whose_url_is_a_list_is_no_traceback(tree: Path, tmp_path: Path):
    old = tmp_path / "old"
    shutil.copytree(tree, old)
    translation = {"extension": [{"url": ["http://hl7.org/fhir/StructureDefinition/translation"], "extension": [{"url": "lang", "valueCode": "en"}, {"url": "content", "valueString": "Back pain?"}]}]}
    edit_json(tree / "questionnaires/Questionnaire-zelftest.json", lambda q: q["item"][0].update(_text=translation))
    result = CliRunner().invoke(main, ["diff", str(old), str(tree)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (exitcodes.OK, exitcodes.USAGE) and "Traceback" not in result.output


def _replay_trees() -> tuple[list[dict], list[dict]]:
    new = questionnaire()
    new["item"][0]["text"] = "Heeft u rugpijn?"  # any change to the Questionnaire makes diff replay the stored responses
    return [questionnaire(), code_system(), value_set(), _answered("ja")], [new, code_system(), value_set(), _answered("ja")]


def _engine_bug_in_new(monkeypatch):
    from fhirrug.release import diff as diff_module

    real = diff_module._evaluate
    calls = []

    def evaluate(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:  # the replay against NEW
            raise TypeError("an engine bug")
        return real(*args, **kwargs)

    monkeypatch.setattr(diff_module, "_evaluate", evaluate)


def test_a_replay_failure_is_reported_not_swallowed(monkeypatch):
    from fhirrug.release.diff import ReplayFailed, ReplayFailure

    old, new = _replay_trees()
    _engine_bug_in_new(monkeypatch)
    failures: list[ReplayFailure] = []
    diff_changes(old, new, failures)
    assert [(f.response, f.release) for f in failures] == [("QuestionnaireResponse/antwoord-ja", "new")]
    assert "TypeError: an engine bug" in failures[0].error
    _engine_bug_in_new(monkeypatch)
    with pytest.raises(ReplayFailed, match="antwoord-ja"):
        diff_changes(old, new)


def test_cli_a_replay_failure_is_exit_2_with_the_response(tree: Path, tmp_path: Path, monkeypatch):
    from fhirrug.release import bump as bump_module
    from fhirrug.release import diff as diff_module
    from release_tree import structural_validator

    old = tmp_path / "old"
    shutil.copytree(tree, old)
    edit_json(tree / "questionnaires/Questionnaire-zelftest.json", lambda q: q["item"][0].update(text="Heeft u rugpijn?"))

    def broken(*args, **kwargs):
        raise KeyError("an engine bug")

    monkeypatch.setattr(diff_module, "_evaluate", broken)
    monkeypatch.setattr(bump_module, "validate_content", structural_validator)
    result = CliRunner().invoke(main, ["diff", str(old), str(tree), "--format", "json", "--fail-on", "major"])
    assert result.exit_code == exitcodes.USAGE, result.output
    failures = json.loads(result.stdout)["replay_failures"]
    assert [(f["response"], f["release"]) for f in failures] == [("QuestionnaireResponse/zelftest-antwoord-01", "old")]
    assert "replay failed" in result.stderr and "zelftest-antwoord-01" in result.stderr
    bump = CliRunner().invoke(main, ["bump", "--auto", "--since", str(old), "--root", str(tree), "--dry-run"])
    assert bump.exit_code == exitcodes.USAGE and "replayed" in bump.output, bump.output
