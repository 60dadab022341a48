"""What a person at a terminal meets, through the installed console script: `--version` with the
embedded content, `--color/--no-color` with FORCE_COLOR and NO_COLOR, shell completion."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from fhirrug import __version__, exitcodes

from test_acceptance import run

REPO = Path(__file__).resolve().parents[1]


def test_version_names_the_tool_and_the_embedded_content(fhirrug_exe, tmp_path):
    package = tomllib.loads((REPO / "fhirrug.toml").read_text(encoding="utf-8"))["package"]
    result = run(fhirrug_exe, "--version", cwd=tmp_path)
    assert result.returncode == exitcodes.OK
    first, second = result.stdout.splitlines()[:2]
    assert first == f"fhirrug {__version__}"
    assert package["name"] in second and package["version"] in second and "embedded content" in second


def _coloured(fhirrug_exe, target, *flags, **env) -> bool:
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    result = subprocess.run([str(fhirrug_exe), "validate", *flags, str(target)], capture_output=True, text=True, env={**clean, **env}, timeout=120)
    assert result.returncode == exitcodes.FINDINGS, result.stderr
    assert "fhirrug-json-syntax" in result.stdout
    return "\x1b[" in result.stdout


@pytest.mark.parametrize(
    "flags, env, expected",
    [
        ((), {}, False),  # a pipe: plain
        ((), {"FORCE_COLOR": "1"}, True),
        ((), {"FORCE_COLOR": "0"}, False),
        ((), {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins over FORCE_COLOR
        (("--color",), {}, True),
        (("--color",), {"NO_COLOR": "1"}, True),  # the command line wins over the environment
        (("--no-color",), {"FORCE_COLOR": "1"}, False),
    ],
)
def test_colour_flags_and_environment(fhirrug_exe, fixture_files, flags, env, expected):
    assert _coloured(fhirrug_exe, fixture_files.broken, *flags, **env) is expected


def test_a_report_written_to_a_file_is_never_coloured(fhirrug_exe, fixture_files, tmp_path):
    report = tmp_path / "report.txt"
    run(fhirrug_exe, "validate", "--color", "--output", report, fixture_files.broken)
    assert "\x1b[" not in report.read_text(encoding="utf-8")


def test_shell_completion_as_the_readme_documents_it(fhirrug_exe):
    script = subprocess.run([str(fhirrug_exe)], env={**os.environ, "_FHIRRUG_COMPLETE": "bash_source"}, capture_output=True, text=True, timeout=60)
    assert "complete " in script.stdout and "_fhirrug_completion" in script.stdout
    words = subprocess.run(
        [str(fhirrug_exe)],
        env={**os.environ, "_FHIRRUG_COMPLETE": "bash_complete", "COMP_WORDS": "fhirrug val", "COMP_CWORD": "1"},
        capture_output=True, text=True, timeout=60,
    )
    assert "validate" in words.stdout
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "_FHIRRUG_COMPLETE=bash_source fhirrug" in readme
