"""The broken-input corpus (tests/broken/, manifest tests/broken/expected.toml), run through the
INSTALLED console script as users run it: `fhirrug validate FILE --format json` must exit 1,
report the expected code (at the expected FHIRPath when the manifest gives one) and never print
a traceback. The same files are also run in-process through `fhirrug.validate.validate_paths`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fhirrug.validate import validate_paths

BROKEN = Path(__file__).resolve().parent / "broken"
EXPECTED = tomllib.loads((BROKEN / "expected.toml").read_text(encoding="utf-8"))
EXE = Path(sys.executable).parent / ("fhirrug.exe" if sys.platform == "win32" else "fhirrug")

# Reported by rules other engineers own (que-2, enableWhen graph rules), not by stages 1-4.
OTHER_OWNERS = {"que-2", "Questionnaire_Q_EnableWhen_NoTarget", "fhirrug-enablewhen-cycle"}


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def cli_results() -> dict[str, subprocess.CompletedProcess]:
    """Every corpus file through the console script, a few at a time (each is its own process)."""
    if not EXE.exists():
        pytest.fail(f"{EXE} is missing: install fhirrug into this environment (pip install -e '.[test]')")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run_cli, "validate", str(BROKEN / name), "--format", "json") for name in EXPECTED}
        return {name: future.result() for name, future in futures.items()}


def test_corpus_is_big_enough_and_manifest_matches_the_files():
    files = {p.name for p in BROKEN.iterdir() if p.name != "expected.toml"}
    assert files == set(EXPECTED)
    assert len(EXPECTED) >= 30


def _pairs(issues: list[dict], name: str) -> set[tuple[str, str]]:
    return {(i["code"], i["expression"]) for i in issues if Path(i["file"]).name == name}


@pytest.mark.slow  # one process per file: ~45 processes
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_through_the_console_script(name, cli_results):
    result = cli_results[name]
    expected = EXPECTED[name]
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    report = json.loads(result.stdout)
    pairs = _pairs(report["issues"], name)
    codes = {code for code, _ in pairs}
    assert expected["code"] in codes, sorted(pairs)
    if "expression" in expected:
        assert (expected["code"], expected["expression"]) in pairs, sorted(pairs)


STAGE_ENTRIES = sorted(name for name, entry in EXPECTED.items() if entry["code"] not in OTHER_OWNERS)


@pytest.fixture(scope="module")
def library_issues():
    """All stage entries through `validate_paths` in one call (package rules run once)."""
    return validate_paths([BROKEN / name for name in STAGE_ENTRIES]).issues


@pytest.mark.parametrize("name", STAGE_ENTRIES)
def test_broken_file_in_process(name, library_issues):
    """Stages 1-4 end to end through the library, independent of the CLI."""
    expected = EXPECTED[name]
    pairs = {(i.code, i.expression) for i in library_issues if Path(i.file).name == name}
    assert expected["code"] in {code for code, _ in pairs}, sorted(pairs)
    if "expression" in expected:
        assert (expected["code"], expected["expression"]) in pairs, sorted(pairs)


@pytest.mark.slow
def test_100_megabyte_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "Questionnaire-huge.json"
    with path.open("wb") as handle:
        handle.write(b'{"resourceType": "Questionnaire", "status": "draft", "title": "')
        handle.truncate(100 * 1024 * 1024)  # sparse: 100 MB on paper, no disk or memory used
    result = run_cli("validate", str(path), "--format", "json")
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    issues = json.loads(result.stdout)["issues"]
    assert ("fhirrug-file-too-large", "") in {(i["code"], i["expression"]) for i in issues}
