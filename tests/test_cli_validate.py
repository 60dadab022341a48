"""`fhirrug validate` through click's CliRunner: options, exit codes, configuration, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug import exitcodes
from fhirrug.cli import main

BROKEN_JSON = '{\n  "resourceType": "Questionnaire",\n'


def invoke(*args, env=None, input=None):
    return CliRunner().invoke(main, ["validate", *map(str, args)], env=env, input=input)


def issues_of(result) -> list[tuple[str, str]]:
    return [(i["code"], i["expression"]) for i in json.loads(result.stdout)["issues"]]


def test_good_file_exits_0(fixture_files):
    result = invoke(fixture_files.good, "--format", "json")
    assert result.exit_code == exitcodes.OK, result.output
    assert json.loads(result.stdout)["issues"] == []


def test_broken_json_exits_1_with_a_fatal_finding(fixture_files):
    result = invoke(fixture_files.broken, "--format", "json")
    assert result.exit_code == exitcodes.FINDINGS
    assert issues_of(result) == [("fhirrug-json-syntax", "")]
    assert "Traceback" not in result.output


def test_wrong_status_code_exits_1(fixture_files):
    result = invoke(fixture_files.bad_status, "--format", "json")
    assert result.exit_code == exitcodes.FINDINGS, result.output
    data = json.loads(result.stdout)
    assert any(i["severity"] in ("error", "fatal") and i["file"].endswith(fixture_files.bad_status.name) for i in data["issues"])


def test_warnings_pass_unless_strict(fixture_files):
    relaxed = invoke(fixture_files.warning, "--format", "json")
    assert relaxed.exit_code == exitcodes.OK, relaxed.output
    assert ("fhirrug-translation-missing", "Questionnaire.item[1].text") in issues_of(relaxed)
    assert invoke(fixture_files.warning, "--strict").exit_code == exitcodes.FINDINGS


def test_ignore_and_select_filter_findings(fixture_files):
    assert invoke(fixture_files.broken, "--ignore", "fhirrug-json-*").exit_code == exitcodes.OK
    assert invoke(fixture_files.broken, "--select", "que-*").exit_code == exitcodes.OK
    result = invoke(fixture_files.broken, fixture_files.warning, "--select", "fhirrug-translation-*", "--format", "json")
    assert result.exit_code == exitcodes.OK
    assert {code for code, _ in issues_of(result)} == {"fhirrug-translation-missing"}


def test_severity_regrades_in_both_directions(fixture_files):
    assert invoke(fixture_files.broken, "--severity", "fhirrug-json-syntax=warning").exit_code == exitcodes.OK
    assert invoke(fixture_files.broken, "--severity", "fhirrug-json-syntax=warning", "--strict").exit_code == exitcodes.FINDINGS
    assert invoke(fixture_files.warning, "--severity", "fhirrug-translation-*=error").exit_code == exitcodes.FINDINGS


@pytest.mark.parametrize(
    "args",
    [
        ["--severity", "que-2"],  # no level
        ["--severity", "que-2=loud"],  # unknown level
        ["--format", "yaml"],
        ["--no-such-option"],
        ["does/not/exist.json"],
    ],
)
def test_usage_errors_exit_2(args, fixture_files):
    result = invoke(fixture_files.good, *args)
    assert result.exit_code == exitcodes.USAGE
    assert "Traceback" not in result.output and result.stdout == ""


def test_bad_project_configuration_exits_2(make_project):
    root = make_project({"questionnaires/Questionnaire-x.json": BROKEN_JSON}, pyproject="[tool.fhirrug]\nignored = ['x']\n")
    result = invoke(root)
    assert result.exit_code == exitcodes.USAGE
    assert "ignored" in result.stderr and result.stdout == ""


def test_project_configuration_is_used(make_project, monkeypatch):
    root = make_project(
        {"questionnaires/Questionnaire-x.json": BROKEN_JSON},
        pyproject='[tool.fhirrug]\nignore = ["fhirrug-json-syntax"]\n',
    )
    assert invoke(root).exit_code == exitcodes.OK
    assert invoke(root / "questionnaires" / "Questionnaire-x.json").exit_code == exitcodes.OK
    monkeypatch.chdir(root)  # no PATH: the project around the cwd
    assert invoke().exit_code == exitcodes.OK


def test_fhirrug_toml_rules_table_is_used(make_project):
    root = make_project({"questionnaires/Questionnaire-x.json": BROKEN_JSON})
    with (root / "fhirrug.toml").open("a", encoding="utf-8") as manifest:
        manifest.write('\n[rules.severity]\n"fhirrug-json-syntax" = "information"\n')
    result = invoke(root, "--format", "json")
    assert result.exit_code == exitcodes.OK
    assert [i["severity"] for i in json.loads(result.stdout)["issues"]] == ["information"]


def test_explicit_config_file_replaces_project_configuration(make_project, tmp_path):
    root = make_project({"questionnaires/Questionnaire-x.json": BROKEN_JSON}, pyproject='[tool.fhirrug]\nignore = ["fhirrug-json-*"]\n')
    strict_config = tmp_path / "ci.toml"
    strict_config.write_text("select = []\n")
    assert invoke(root).exit_code == exitcodes.OK
    assert invoke(root, "--config", strict_config).exit_code == exitcodes.FINDINGS
    assert invoke(root, "--config", tmp_path / "missing.toml").exit_code == exitcodes.USAGE


def test_no_path_validates_the_project_around_the_cwd(make_project, monkeypatch):
    root = make_project({"questionnaires/Questionnaire-x.json": BROKEN_JSON, "examples/invalid/Questionnaire-y.json": BROKEN_JSON})
    monkeypatch.chdir(root / "questionnaires")
    result = invoke("--format", "json")
    assert result.exit_code == exitcodes.FINDINGS
    data = json.loads(result.stdout)
    # Shown relative to the cwd; examples/invalid is excluded by the manifest.
    assert [(i["code"], i["file"]) for i in data["issues"]] == [("fhirrug-json-syntax", "Questionnaire-x.json")]


def test_manifest_error_exits_2(make_project):
    root = make_project({"questionnaires/Questionnaire-x.json": BROKEN_JSON}, manifest="[package]\nname = 'x'\n")
    result = invoke(root)
    assert result.exit_code == exitcodes.USAGE
    assert "fhirrug.toml" in result.stderr and "Traceback" not in result.output


def test_output_file_is_written_and_stdout_stays_empty(tmp_path, fixture_files):
    out = tmp_path / "report.sarif"
    result = invoke(fixture_files.broken, "--format", "sarif", "--output", out)
    assert result.exit_code == exitcodes.FINDINGS
    assert result.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert str(out) in result.stderr


def test_output_into_a_missing_folder_exits_2(tmp_path, fixture_files):
    result = invoke(fixture_files.broken, "--output", tmp_path / "no" / "such" / "report.json")
    assert result.exit_code == exitcodes.USAGE
    assert "Traceback" not in result.output


def test_internal_error_is_a_message_and_exit_2(monkeypatch, fixture_files):
    import fhirrug.validate.pipeline as pipeline

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(pipeline, "validate_in_context", boom)
    result = invoke(fixture_files.good)
    assert result.exit_code == exitcodes.USAGE
    assert "internal error" in result.stderr and "kaboom" in result.stderr
    assert "Traceback" not in result.output


def test_folder_without_json_is_a_usage_error_and_says_so(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    result = invoke(tmp_path)
    assert result.exit_code == exitcodes.USAGE
    assert "nothing to validate" in result.stderr


def test_lone_surrogates_in_findings_do_not_break_output(tmp_path):
    bad = tmp_path / "Questionnaire-x.json"
    bad.write_text('{"resourceType": "Questionnaire", "\\ud800": 1', encoding="utf-8")
    for fmt in ("text", "json", "junit", "sarif", "operationoutcome"):
        result = invoke(bad, "--format", fmt)
        assert result.exit_code == exitcodes.FINDINGS, (fmt, result.output)


def test_unknown_rule_pattern_is_a_usage_error(fixture_files):
    result = invoke(fixture_files.good, "--ignore", "no-such-rule-xyz")
    assert result.exit_code == exitcodes.USAGE
    assert "no-such-rule-xyz" in result.stderr and result.stdout == ""


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    from fhirrug.cli import _common

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert _common.use_color() is True
    assert _common.use_color(Path("report.txt")) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert _common.use_color() is False


def test_text_output_is_plain_when_not_a_terminal(fixture_files):
    result = invoke(fixture_files.broken)
    assert "\x1b[" not in result.stdout
    assert result.stdout.splitlines()[-1].startswith("1 file, 1 fatal")


def _tgz(path: Path, members: dict[str, bytes]) -> Path:
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_exported_package_archive_is_validated(tmp_path, fixture_files):
    package_json = b'{"name": "fhirrug.test", "version": "0.1.0"}'
    good = _tgz(tmp_path / "good.tgz", {"package/package.json": package_json, "package/Questionnaire-fixture-goed.json": fixture_files.good.read_bytes()})
    result = invoke(good, "--format", "json")
    assert result.exit_code == exitcodes.OK, result.output
    assert json.loads(result.stdout)["files"] == [f"{good}!package/Questionnaire-fixture-goed.json"]
    bad = _tgz(tmp_path / "bad.tgz", {"package/package.json": package_json, "package/Questionnaire-fixture-kapot.json": fixture_files.broken.read_bytes()})
    result = invoke(bad, "--format", "json")
    assert result.exit_code == exitcodes.FINDINGS
    assert issues_of(result) == [("fhirrug-json-syntax", "")]


def test_unsafe_or_bogus_archive_is_a_finding_not_a_crash(tmp_path):
    evil = _tgz(tmp_path / "evil.tgz", {"../evil.json": b"{}"})
    bogus = tmp_path / "bogus.tgz"
    bogus.write_bytes(b"not really a tgz")
    for archive in (evil, bogus):
        result = invoke(archive, "--format", "json")
        assert result.exit_code == exitcodes.FINDINGS, result.output
        assert [code for code, _ in issues_of(result)] == ["fhirrug-package-unsafe"]
        assert "Traceback" not in result.output


def test_command_line_regrades_over_the_project_configuration(make_project, fixture_files):
    root = make_project(
        {"questionnaires/" + fixture_files.warning.name: fixture_files.warning.read_bytes()},
        pyproject='[tool.fhirrug.severity]\n"fhirrug-translation-missing" = "error"\n',
    )
    assert invoke(root).exit_code == exitcodes.FINDINGS
    assert invoke(root, "--severity", "fhirrug-translation-missing=warning").exit_code == exitcodes.OK


def test_standard_input(fixture_files):
    good = invoke("-", "--format", "json", input=fixture_files.good.read_bytes())
    assert good.exit_code == exitcodes.OK, good.output
    assert json.loads(good.stdout)["files"] == ["-"]
    broken = invoke("-", "--format", "json", input=fixture_files.broken.read_bytes())
    assert broken.exit_code == exitcodes.FINDINGS
    assert [(i["code"], i["file"]) for i in json.loads(broken.stdout)["issues"]] == [("fhirrug-json-syntax", "-")]
    status = invoke("-", "--format", "json", input=b'{"resourceType": "Questionnaire", "status": "klaar"}')
    assert status.exit_code == exitcodes.FINDINGS
    assert ("Questionnaire.status" in {e for _, e in issues_of(status)})
