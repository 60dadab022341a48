"""The release commands through the installed console script, as a pipeline runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from release_tree import edit_json, write_tree

SCRIPT = shutil.which("fhirrug", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(SCRIPT is None, reason="the fhirrug console script is not installed next to this python")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    return subprocess.run([SCRIPT, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


def test_export_twice_is_identical_and_diff_reads_the_packages(tmp_path: Path):
    root = write_tree(tmp_path / "content")
    for out in ("one", "two"):
        result = _run("export", "--no-validate", "--root", str(root), "--out", str(tmp_path / out), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "one/SHA256SUMS").read_bytes() == (tmp_path / "two/SHA256SUMS").read_bytes()
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path / "one", capture_output=True, text=True) if shutil.which("sha256sum") else None
    assert checked is None or checked.returncode == 0, checked.stdout

    edit_json(root / "questionnaires/Questionnaire-zelftest.json", lambda q: q["item"].pop(1))
    result = _run("diff", str(tmp_path / "one/fhirrug.test.nl-0.1.0.tgz"), str(root), "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["recommended"] == "major"
    assert ("item-removed", "Questionnaire.item[1]") in {(c["kind"], c["expression"]) for c in data["changes"]}


def test_bump_refuses_an_older_version_with_exit_2(tmp_path: Path):
    root = write_tree(tmp_path / "content")
    result = _run("bump", "--to", "0.0.9", "--root", str(root), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
