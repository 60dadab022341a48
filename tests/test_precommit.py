"""The pre-commit hooks: the file parses, and its entry behaves as pre-commit runs it
(entry + the staged file names, from the repository root), on good and bad files."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from fhirrug import exitcodes

HOOKS_FILE = Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "validate"


def _scalar(text: str):
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if text.startswith("[") and text.endswith("]"):
        return [item.strip() for item in text[1:-1].split(",") if item.strip()]
    return text


def read_hooks(path: Path = HOOKS_FILE) -> list[dict]:
    """The flat subset of YAML this file keeps to: a list of mappings of `key: scalar`."""
    hooks: list[dict] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("- "):
            hooks.append({})
            line = "  " + line[2:]
        assert line.startswith("  ") and not line.startswith("   "), f"line {number}: not flat"
        key, sep, value = line.strip().partition(": ")
        assert sep and hooks, f"line {number}: not `key: value`"
        assert key not in hooks[-1], f"line {number}: {key} twice"
        hooks[-1][key] = _scalar(value)
    return hooks


@pytest.fixture(scope="module")
def hooks() -> dict[str, dict]:
    return {hook["id"]: hook for hook in read_hooks()}


def test_hooks_have_what_pre_commit_requires(hooks):
    assert set(hooks) == {"fhirrug-validate", "fhirrug-validate-package"}
    for hook in hooks.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python"
        assert hook["entry"].split()[:2] == ["fhirrug", "validate"]
        re.compile(hook["files"])
    assert hooks["fhirrug-validate"]["pass_filenames"] is True
    assert hooks["fhirrug-validate-package"]["pass_filenames"] is False


@pytest.mark.parametrize(
    ("path", "selected"),
    [
        ("questionnaires/Questionnaire-x.json", True),
        ("valuesets/CodeSystem-y.json", True),
        ("examples/QuestionnaireResponse-z.json", True),
        ("definitions/StructureDefinition-tekstbron.json", True),
        ("examples/invalid/QuestionnaireResponse-bad.json", False),
        ("tests/fixtures/validate/bad/Questionnaire-fixture-kapot.json", False),
        ("questionnaires/notes.md", False),
    ],
)
def test_files_pattern_selects_content_json(hooks, path, selected):
    hook = hooks["fhirrug-validate"]
    matched = re.search(hook["files"], path) is not None and re.search(hook["exclude"], path) is None
    assert matched is selected


def run_hook(hook: dict, cwd: Path, filenames: list[str]) -> subprocess.CompletedProcess:
    # pre-commit installs the hook's repository and runs `entry` (shell-split) + file names with the
    # hook environment's bin on PATH; here the console script of this environment.
    command = shlex.split(hook["entry"])
    command[0] = str(Path(sys.executable).parent / command[0])
    args = command + (filenames if hook.get("pass_filenames", True) else [])
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_entry_on_good_and_bad_files(hooks, make_project):
    good = (FIXTURES / "good" / "Questionnaire-fixture-goed.json").read_text(encoding="utf-8")
    bad = (FIXTURES / "bad" / "Questionnaire-fixture-kapot.json").read_text(encoding="utf-8")
    root = make_project({"questionnaires/Questionnaire-fixture-goed.json": good, "questionnaires/Questionnaire-fixture-kapot.json": bad})
    hook = hooks["fhirrug-validate"]
    ok = run_hook(hook, root, ["questionnaires/Questionnaire-fixture-goed.json"])
    assert ok.returncode == exitcodes.OK, ok.stdout + ok.stderr
    failed = run_hook(hook, root, ["questionnaires/Questionnaire-fixture-goed.json", "questionnaires/Questionnaire-fixture-kapot.json"])
    assert failed.returncode == exitcodes.FINDINGS
    assert "Questionnaire-fixture-kapot.json" in failed.stdout and "fhirrug-json-syntax" in failed.stdout
    assert "Traceback" not in failed.stderr
    package = run_hook(hooks["fhirrug-validate-package"], root, ["questionnaires/Questionnaire-fixture-goed.json"])
    assert package.returncode == exitcodes.FINDINGS
    assert "Questionnaire-fixture-kapot.json" in package.stdout
