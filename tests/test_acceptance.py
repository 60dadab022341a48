"""Acceptance: `fhirrug validate` as users run it, through the installed console script
(subprocess), on good and bad inputs, in every format, with configuration; never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fhirrug import exitcodes



def run(exe: Path, *args, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("NO_COLOR", None) if env is None or "NO_COLOR" not in env else None
    result = subprocess.run([str(exe), *map(str, args)], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    return result


def test_good_and_bad_fixtures_exit_codes(fhirrug_exe, fixture_files):
    assert run(fhirrug_exe, "validate", fixture_files.good).returncode == exitcodes.OK
    assert run(fhirrug_exe, "validate", fixture_files.broken).returncode == exitcodes.FINDINGS
    assert run(fhirrug_exe, "validate", fixture_files.warning).returncode == exitcodes.OK
    assert run(fhirrug_exe, "validate", "--strict", fixture_files.warning).returncode == exitcodes.FINDINGS


@pytest.mark.slow
def test_every_format_parses(fhirrug_exe, tmp_path, fixture_files):
    targets = [fixture_files.good, fixture_files.warning, fixture_files.broken, fixture_files.bad_status]
    outputs = {}
    for fmt in ("text", "json", "operationoutcome", "sarif", "junit"):
        result = run(fhirrug_exe, "validate", "--format", fmt, *targets)
        assert result.returncode == exitcodes.FINDINGS, (fmt, result.stderr)
        outputs[fmt] = result.stdout
    assert outputs["text"].splitlines()[-1] == "4 files, 1 fatal, 1 error, 1 warning, 0 information"
    data = json.loads(outputs["json"])
    assert {(i["code"], i["expression"]) for i in data["issues"]} >= {
        ("fhirrug-json-syntax", ""),
        ("fhirrug-translation-missing", "Questionnaire.item[1].text"),
    }
    oo = json.loads(outputs["operationoutcome"])
    assert oo["resourceType"] == "OperationOutcome" and len(oo["issue"]) == len(data["issues"])
    sarif = json.loads(outputs["sarif"])
    assert sarif["version"] == "2.1.0" and len(sarif["runs"][0]["results"]) == len(data["issues"])
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} <= {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    junit = ET.fromstring(outputs["junit"])
    assert len(junit.find("testsuite").findall("testcase")) == 4


@pytest.mark.parametrize("roles", [["good"], ["good", "warning", "broken", "bad_status"]], ids=["clean", "findings"])
def test_operationoutcome_output_passes_fhirrug_validate(fhirrug_exe, tmp_path, fixture_files, roles):
    targets = [getattr(fixture_files, role) for role in roles]
    report = tmp_path / "OperationOutcome-report.json"
    written = run(fhirrug_exe, "validate", "--format", "operationoutcome", "--output", report, *targets)
    assert written.stdout == "" and report.is_file()
    # R4 validity and every fhirrug rule, except the content package's file naming convention
    # (`<resourceType>-<id>.json`): a report has no id, as a $validate answer has none.
    check = run(fhirrug_exe, "validate", "--format", "json", "--strict", "--ignore", "fhirrug-id-file-name", report)
    assert check.returncode == exitcodes.OK, check.stdout
    assert json.loads(check.stdout)["issues"] == []


def test_select_ignore_severity(fhirrug_exe, fixture_files):
    assert run(fhirrug_exe, "validate", "--ignore", "fhirrug-json-syntax", fixture_files.broken).returncode == exitcodes.OK
    assert run(fhirrug_exe, "validate", "--severity", "fhirrug-translation-missing=error", fixture_files.warning).returncode == exitcodes.FINDINGS


def test_tool_fhirrug_configuration_in_a_project(fhirrug_exe, make_project, fixture_files):
    warning = fixture_files.warning.read_text(encoding="utf-8")
    root = make_project(
        {"questionnaires/Questionnaire-fixture-vertaling-ontbreekt.json": warning},
        pyproject='[project]\nname = "content"\n\n[tool.fhirrug.severity]\n"fhirrug-translation-missing" = "error"\n',
    )
    regraded = run(fhirrug_exe, "validate", "--format", "json", cwd=root)
    assert regraded.returncode == exitcodes.FINDINGS
    assert [(i["code"], i["severity"], i["file"]) for i in json.loads(regraded.stdout)["issues"]] == [
        ("fhirrug-translation-missing", "error", "questionnaires/Questionnaire-fixture-vertaling-ontbreekt.json")
    ]
    (root / "pyproject.toml").write_text('[tool.fhirrug]\nignore = ["fhirrug-translation-*"]\n')
    assert run(fhirrug_exe, "validate", "--strict", cwd=root).returncode == exitcodes.OK
    (root / "pyproject.toml").write_text('[tool.fhirrug]\nselect = "[unclosed"\nbogus = 1\n')
    bad = run(fhirrug_exe, "validate", cwd=root)
    assert bad.returncode == exitcodes.USAGE and "bogus" in bad.stderr and bad.stdout == ""
    (root / "pyproject.toml").write_text("[tool.fhirrug\n")
    assert run(fhirrug_exe, "validate", cwd=root).returncode == exitcodes.USAGE


BAD_INPUTS = {
    "empty.json": b"",
    "bom.json": b'\xef\xbb\xbf{"resourceType": "Questionnaire"}',
    "latin1.json": '{"resourceType": "Questionnaire", "title": "café"}'.encode("latin-1"),
    "binary.json": bytes(range(256)),
    "array.json": b"[1, 2, 3]",
    "nan.json": b'{"resourceType": "Questionnaire", "x": NaN}',
    "deep.json": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "duplicate.json": b'{"resourceType": "Questionnaire", "status": "draft", "status": "active"}',
    "no-type.json": b'{"id": "x"}',
    "unknown-type.json": b'{"resourceType": "Kwestionnaire"}',
    "type-number.json": b'{"resourceType": 5}',
    "nulls.json": b'{"resourceType": "Questionnaire", "status": null, "item": [null, {}]}',
    "surrogate.json": b'{"resourceType": "Questionnaire", "status": "draft", "title": "\\ud800"}',
    "wrong-types.json": b'{"resourceType": "Questionnaire", "status": "draft", "item": {"linkId": 5, "required": "yes"}}',
}


@pytest.mark.slow
def test_no_traceback_on_any_bad_input(fhirrug_exe, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    for name, data in BAD_INPUTS.items():
        (folder / name).write_bytes(data)
    assert run(fhirrug_exe, "validate", "--format", "junit", folder).returncode == exitcodes.FINDINGS
    result = run(fhirrug_exe, "validate", "--format", "json", folder)
    assert result.returncode == exitcodes.FINDINGS
    data = json.loads(result.stdout)
    flagged = {Path(i["file"]).name for i in data["issues"] if i["severity"] in ("fatal", "error")}
    assert flagged == set(BAD_INPUTS)


def test_usage_and_config_errors_exit_2_without_traceback(fhirrug_exe, tmp_path, fixture_files):
    assert run(fhirrug_exe, "validate", tmp_path / "missing.json").returncode == exitcodes.USAGE
    assert run(fhirrug_exe, "validate", "--bogus").returncode == exitcodes.USAGE
    assert run(fhirrug_exe, "validate", "--severity", "x", fixture_files.good).returncode == exitcodes.USAGE
    assert run(fhirrug_exe, "validate", "--config", tmp_path / "none.toml", fixture_files.good).returncode == exitcodes.USAGE
    assert run(fhirrug_exe, "nosuchcommand").returncode == exitcodes.USAGE
    (tmp_path / "fhirrug.toml").write_text("not toml [")
    result = run(fhirrug_exe, "validate", cwd=tmp_path)
    assert result.returncode == exitcodes.USAGE and "fhirrug.toml" in result.stderr


def test_rules_command(fhirrug_exe):
    result = run(fhirrug_exe, "rules", "--format", "json")
    assert result.returncode == exitcodes.OK
    assert json.loads(result.stdout)["fhirrug"]


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys\n"
        "from fhirrug.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('jsonschema', 'fhir', 'fhir_core', 'rich', 'pydantic'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stderr, result.stderr
    assert "validate" in result.stdout


def test_version(fhirrug_exe):
    import fhirrug

    result = run(fhirrug_exe, "--version")
    assert result.returncode == exitcodes.OK and fhirrug.__version__ in result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_text_is_coloured_on_a_terminal_unless_no_color(fhirrug_exe, fixture_files):
    import pty

    def on_terminal(env_extra: dict) -> str:
        primary, secondary = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        env.update({"TERM": "xterm", **env_extra})
        try:
            process = subprocess.run(
                [str(fhirrug_exe), "validate", str(fixture_files.broken)],
                stdout=secondary, stderr=subprocess.PIPE, env=env, timeout=120,
            )
            os.close(secondary)
            chunks = []
            while True:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # EIO: the terminal's other side is closed and drained
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(primary)
        assert process.returncode == exitcodes.FINDINGS
        return b"".join(chunks).decode("utf-8", "replace")

    assert "\x1b[" in on_terminal({})
    plain = on_terminal({"NO_COLOR": "1"})
    assert "\x1b[" not in plain and "fhirrug-json-syntax" in plain


def test_outside_a_project_the_embedded_content_is_validated(fhirrug_exe, tmp_path):
    """No fhirrug.toml above the cwd: the content shipped with the installation (for an editable
    install, the repository's). Whether it is clean is tests/rules/test_shipped_content.py's job."""
    result = run(fhirrug_exe, "validate", "--format", "json", cwd=tmp_path)
    assert result.returncode in (exitcodes.OK, exitcodes.FINDINGS), result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["files"] > 0
    assert any("Questionnaire-" in file for file in data["files"])
