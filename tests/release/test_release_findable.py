"""Releases are findable without git tags (issue 12 item 3): `fhirrug diff 0.1.0 .` and
`fhirrug bump --auto` on a clone made without tags find the previous release in the package
kept in releases/, else a tag, else the release commit CHANGELOG.md records."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug import exitcodes
from fhirrug.cli import main
from fhirrug.release import bump as bump_module
from fhirrug.release.export import export
from fhirrug.release.record import changelog_record
from fhirrug.release.trees import ReleaseNotFound, TreeError, load_release, load_tree
from release_tree import edit_json, structural_validator

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
REPO_ROOT = Path(__file__).resolve().parents[2]
NAME = "fhirrug.test.nl-0.1.0.tgz"
Q = "questionnaires/Questionnaire-zelftest.json"


@pytest.fixture(autouse=True)
def _no_epoch(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args], capture_output=True, text=True, check=True).stdout


def _commit(root: Path, message: str) -> str:
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", message)
    return _git(root, "rev-parse", "HEAD").strip()


def _keep(tree: Path) -> Path:
    """Export the release as `fhirrug export` does in a project: the package kept in releases/."""
    result = CliRunner().invoke(main, ["export", "--root", str(tree), "--out", str(tree.parent / "out")])
    assert result.exit_code == exitcodes.OK, result.output
    return tree / "releases" / NAME


def _diff(cwd: Path, monkeypatch, *specs: str) -> dict:
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(main, ["diff", *specs, "--format", "json"])
    assert result.exit_code == exitcodes.OK, result.output
    return json.loads(result.stdout)


@pytest.fixture
def lenient(monkeypatch):
    monkeypatch.setattr(bump_module, "validate_content", structural_validator)


def test_diff_and_bump_auto_on_a_clone_without_tags(tree: Path, tmp_path: Path, monkeypatch, lenient):
    _git(tree, "init", "-q")
    _keep(tree)
    _commit(tree, "Release 0.1.0")
    _git(tree, "tag", "v0.1.0")  # the tag exists upstream ...
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(tree), str(clone)], check=True)
    assert _git(clone, "tag", "--list") == ""  # ... but not in this clone
    edit_json(clone / Q, lambda q: q["item"][0].update(text="Heeft u rugpijn?"))
    data = _diff(clone, monkeypatch, "0.1.0", ".")
    assert data["old"]["version"] == "0.1.0" and data["recommended"] == "patch"
    assert [c["kind"] for c in data["changes"]] == ["text-changed"]
    assert _diff(clone, monkeypatch, "v0.1.0", ".")["changes"] == data["changes"]  # the old spelling still works
    result = CliRunner().invoke(main, ["bump", "--auto", "--date", "2026-12-01"])
    assert result.exit_code == exitcodes.OK, result.output
    assert "0.1.0 (releases/fhirrug.test.nl-0.1.0.tgz)" in result.output
    assert tomllib.loads((clone / "fhirrug.toml").read_text())["package"]["version"] == "0.1.1"


def test_the_release_commit_in_the_changelog_is_found_without_a_tag(tree: Path, tmp_path: Path, monkeypatch):
    _git(tree, "init", "-q")
    commit = _commit(tree, "Release 0.1.0")
    log = tree / "CHANGELOG.md"
    log.write_text(log.read_text() + f"\n## 0.1.0 - 2026-11-25\n\nRelease commit: `{commit}`.\n", encoding="utf-8")
    edit_json(tree / Q, lambda q: q["item"].pop(2))
    _commit(tree, "after the release")
    data = _diff(tree, monkeypatch, "0.1.0", ".")
    assert data["recommended"] == "major" and [c["kind"] for c in data["changes"]] == ["item-removed"]
    assert changelog_record(tree, "0.1.0").commit == commit


def test_a_tag_is_used_when_nothing_is_kept(tree: Path, monkeypatch):
    _git(tree, "init", "-q")
    _commit(tree, "0.1.0")
    _git(tree, "tag", "v0.1.0")
    edit_json(tree / Q, lambda q: q.update(title="Nieuw"))
    assert load_release(tree, "0.1.0").label == "0.1.0 (tag v0.1.0)"
    assert _diff(tree, monkeypatch, "0.1.0", ".")["recommended"] == "patch"


def test_an_unknown_release_says_where_it_looked(tree: Path, monkeypatch):
    monkeypatch.chdir(tree)
    result = CliRunner().invoke(main, ["diff", "0.0.7", "."])
    assert result.exit_code == exitcodes.USAGE
    assert "releases/" in result.output and "v0.0.7" in result.output and "CHANGELOG.md" in result.output
    with pytest.raises(ReleaseNotFound):
        load_release(tree, "0.0.7")


def test_a_kept_package_that_does_not_match_the_changelog_is_refused(tree: Path, monkeypatch):
    kept = _keep(tree)
    log = tree / "CHANGELOG.md"
    log.write_text(log.read_text() + f"\n## 0.1.0 - 2026-11-25\n\nsha256 `{'0' * 64}`.\n", encoding="utf-8")
    with pytest.raises(TreeError, match="was changed after the release"):
        load_release(tree, "0.1.0")
    log.write_text(log.read_text().replace("0" * 64, hashlib.sha256(kept.read_bytes()).hexdigest()), encoding="utf-8")
    assert load_release(tree, "0.1.0").version == "0.1.0"


def test_a_kept_package_of_another_version_is_refused(tree: Path, tmp_path: Path):
    export(tree, tmp_path / "out", "npm")
    (tree / "releases").mkdir()
    shutil.copy(tmp_path / "out" / NAME, tree / "releases" / "fhirrug.test.nl-0.2.0.tgz")
    with pytest.raises(TreeError, match="holds version 0.1.0, not 0.2.0"):
        load_release(tree, "0.2.0")


def test_a_git_revision_is_read_without_a_temporary_folder(tree: Path, tmp_path: Path, monkeypatch):
    _git(tree, "init", "-q")
    (tree / "examples/invalid/QuestionnaireResponse-zelftest-fout-01.json").write_text("{ not json", encoding="utf-8")  # excluded: never read
    _commit(tree, "0.1.0")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    found = load_tree("HEAD", tree)
    assert found.issues == [] and sorted(r["resourceType"] for r in found.resources) == ["CodeSystem", "ConceptMap", "Questionnaire", "QuestionnaireResponse", "ValueSet"]
    assert list(scratch.iterdir()) == []


# --- this repository's own release 0.1.0 ------------------------------------------------------


def test_this_repository_records_release_0_1_0(tmp_path: Path, monkeypatch):
    """On a clone of this repository without tags, `fhirrug diff 0.1.0` finds the kept package,
    whose sha256 is the one CHANGELOG.md records, and the recorded release commit holds the same
    content."""
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(REPO_ROOT), str(clone)], check=True)
    record = changelog_record(clone, "0.1.0")
    kept = clone / "releases" / "fhirrug.lowbackpain.nl-0.1.0.tgz"
    assert hashlib.sha256(kept.read_bytes()).hexdigest() in record.sha256
    assert "6cdbaf590faca3e1ef9559cdd847a109329209f575fd4afdb1cf57eadaed4041" in record.sha256  # as released
    release = load_release(clone, "0.1.0")
    assert release.version == "0.1.0" and release.label.endswith("(releases/fhirrug.lowbackpain.nl-0.1.0.tgz)")
    assert len(release.resources) > 50
    data = _diff(clone, monkeypatch, "0.1.0", ".")
    assert data["old"]["version"] == "0.1.0"
    if subprocess.run(["git", "-C", str(clone), "cat-file", "-e", f"{record.commit}^{{commit}}"]).returncode != 0:
        pytest.skip("a shallow clone: the release commit is not here")
    same = _diff(clone, monkeypatch, record.commit, str(kept))
    assert same["changes"] == [] and same["new"]["version"] == "0.1.0"
