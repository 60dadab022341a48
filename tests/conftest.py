"""Fixtures shared by the whole suite. Keep this small: add your own in a conftest.py of a subfolder."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = (REPO_ROOT / ".." / "shared").resolve()
FIXTURES_DIR = REPO_ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository checkout (holds fhirrug.toml and the content folders)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only reference material beside the repository (`../shared`). Never write there."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"{SHARED_DIR} is absent: the reference material (seeds, conformance cases) is not beside the repository")
    return SHARED_DIR


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES_DIR


@pytest.fixture(scope="session")
def fhirrug_exe() -> Path:
    """The installed console script, run as users run it (subprocess)."""
    exe = Path(sys.executable).parent / ("fhirrug.exe" if sys.platform == "win32" else "fhirrug")
    if not exe.exists():
        pytest.fail(f"{exe} is missing: install fhirrug into this environment (pip install -e '.[test]')")
    return exe


MINIMAL_MANIFEST = """\
[package]
name = "fhirrug.test"
version = "0.1.0"
date = "2026-11-25"
canonical = "https://fhir.fhirrug.nl"
publisher = "fhirrug"
language = "nl-NL"
translations = ["en"]

[content]
folders = ["definitions", "questionnaires", "valuesets", "examples"]
exclude = ["examples/invalid"]
"""


@pytest.fixture
def make_project(tmp_path):
    """A factory for a throw-away fhirrug project: fhirrug.toml (+ optional pyproject.toml text)
    and files given as {relative path: text or bytes}. Returns the project folder."""

    def make(files: dict[str, str | bytes] | None = None, pyproject: str | None = None, manifest: str = MINIMAL_MANIFEST, name: str = "project") -> Path:
        root = tmp_path / name
        root.mkdir()
        (root / "fhirrug.toml").write_text(manifest, encoding="utf-8")
        if pyproject is not None:
            (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
        for relative, content in (files or {}).items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return root

    return make


VALIDATE_FIXTURES = {
    "good": FIXTURES_DIR / "validate" / "good" / "Questionnaire-fixture-goed.json",
    "warning": FIXTURES_DIR / "validate" / "warning" / "Questionnaire-fixture-vertaling-ontbreekt.json",
    "broken": FIXTURES_DIR / "validate" / "bad" / "Questionnaire-fixture-kapot.json",
    "bad_status": FIXTURES_DIR / "validate" / "bad" / "Questionnaire-fixture-status-fout.json",
}


@pytest.fixture
def fixture_files(make_project) -> SimpleNamespace:
    """The files of tests/fixtures/validate copied into a small throw-away project (so they are
    validated on their own, not in the context of this repository's content), by role:
    good, warning (a missing translation), broken (invalid JSON), bad_status (an error)."""
    root = make_project({f"questionnaires/{path.name}": path.read_bytes() for path in VALIDATE_FIXTURES.values()}, name="fixtures")
    return SimpleNamespace(root=root, **{role: root / "questionnaires" / path.name for role, path in VALIDATE_FIXTURES.items()})
