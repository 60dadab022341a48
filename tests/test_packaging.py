"""The wheel ships the content tree, and an installed fhirrug validates its embedded content
from anywhere, without the repository or ../shared beside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTENT_FOLDERS = ("definitions", "questionnaires", "valuesets", "examples", "sources")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Build isolation fetches hatchling from PyPI, as any user's pip does.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO_ROOT)],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("fhirrug-*.whl")
    return path


@pytest.mark.slow
def test_wheel_carries_every_content_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "fhirrug/_content/fhirrug.toml" in names
    expected = {
        f"fhirrug/_content/{p.relative_to(REPO_ROOT).as_posix()}"
        for folder in CONTENT_FOLDERS
        for p in (REPO_ROOT / folder).rglob("*")
        if p.is_file()
    }
    assert expected, "the repository has no content files"
    assert expected <= names, sorted(expected - names)[:5]


@pytest.mark.slow
def test_wheel_carries_vendored_definitions(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("fhirrug/vendor/") and n.endswith(".json") for n in names)


@pytest.mark.slow
def test_installed_wheel_validates_its_embedded_content_outside_the_repository(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # The dependencies come from the test environment: a .pth line adds its site-packages after the
    # new venv's own (where the wheel goes), without running its .pth files, so the editable
    # install of the repository stays out of sight. (system_site_packages would give the base
    # interpreter's, which may lack them: the model stage then reported "fhir.resources could not
    # be imported" and the test still passed.)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    (site / "test-dependencies.pth").write_text("\n".join(sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})) + "\n")
    # The test environment already has the dependencies; install only fhirrug itself from the wheel.
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)]
        if _pip_has_python_option()
        else [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [str(env_dir / "bin" / "fhirrug"), "validate", "--format", "json"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert "internal error" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    assert not [i for i in report["issues"] if "could not be imported" in i["message"]], "a dependency is missing: not every stage ran"
    origin = subprocess.run([str(python), "-c", "import fhirrug; print(fhirrug.__file__)"], capture_output=True, text=True, env=env, cwd=elsewhere).stdout
    assert str(env_dir) in origin, f"fhirrug was imported from {origin}, not from the installed wheel"
    files = {Path(f).name for f in _validated_files(report)}
    assert any("/_content/" in f for f in _validated_files(report)), "did not validate the embedded content"
    assert "Questionnaire-zelfdiagnose-lage-rugklachten.json" in files
    assert result.returncode == 0, result.stdout[-2000:]


def _validated_files(report: dict) -> list[str]:
    return report.get("files") or [i["file"] for i in report["issues"]]


def _pip_has_python_option() -> bool:
    out = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True).stdout
    major, minor = (int(x) for x in out.split()[1].split(".")[:2])
    return (major, minor) >= (22, 3)
