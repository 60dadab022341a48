"""`fhirrug evaluate --spark MASTER IN... --out OUT`: Parquet and NDJSON outputs, the stripped
responses, exit codes, all-or-nothing writes, and usage errors before Spark starts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug.cli import main
from spark_helpers import by_line, parsed, single_process

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("QuestionnaireResponse-*.json"))


def run(*args):
    return CliRunner().invoke(main, ["evaluate", *map(str, args)])


@pytest.fixture
def export(tmp_path) -> Path:
    path = tmp_path / "export.ndjson"
    lines = [json.dumps(json.loads(p.read_text(encoding="utf-8"))) for p in EXAMPLES] + ["[1, 2]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_parquet_out_with_stripped_responses(spark, export, tmp_path):
    from fhirrug.spark import summarize as fs_summarize, to_record

    out, stripped = tmp_path / "records.parquet", tmp_path / "stripped.ndjson"
    result = run("--spark", "local[2]", export, "--out", out, "--strip-disabled", stripped)
    assert result.exit_code == 1, result.output  # the [1, 2] line is not a response
    assert f"{len(EXAMPLES) + 1} responses: {len(EXAMPLES)} valid, 1 invalid" in result.stdout
    rows = spark.read.parquet(str(out)).collect()
    assert by_line(to_record(row) for row in rows) == by_line(parsed(single_process(export)))
    summary = fs_summarize(spark.read.parquet(str(out)))
    assert (summary["responses"], summary["valid"], summary["unevaluated"]) == (len(EXAMPLES) + 1, len(EXAMPLES), 1)
    assert summary["outcomes"] == json.loads(run(export, "--format", "json").stdout)["summary"]["outcomes"]
    # The stripped responses are NDJSON part files that `fhirrug evaluate` reads back as they are.
    again = parsed(single_process(stripped))
    assert len(again) == len(EXAMPLES) and all(record["valid"] for record in again)


def test_an_earlier_output_is_replaced_and_anything_else_refused(spark, export, tmp_path):
    out = tmp_path / "records.ndjson"
    assert run("--spark", "local[2]", export, "--out", out).exit_code == 1
    first = {p.name for p in out.iterdir()}
    assert run("--spark", "local[2]", export, "--out", out).exit_code == 1
    assert {p.name for p in out.iterdir()} != first  # new part files, the old ones gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.ndjson", "records.ndjson"]  # no temporary folders left
    mine = tmp_path / "mine.ndjson"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    result = run("--spark", "local[2]", export, "--out", mine)
    assert result.exit_code == 2 and "not an earlier Spark output" in result.output
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_a_failing_job_leaves_no_output(spark, export, tmp_path, monkeypatch):
    from fhirrug.spark import command

    def broken(**kwargs):
        raise RuntimeError("failed after writing")

    monkeypatch.setattr(command, "Written", broken)  # the records are on disk, not yet in place
    result = run("--spark", "local[2]", export, "--out", tmp_path / "records.parquet")
    assert result.exit_code == 2 and "the Spark job failed: failed after writing" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.ndjson"]


@pytest.mark.parametrize("args, message", [
    (["--spark", "local[1]"], "go together"),
    (["--out", "x.parquet"], "go together"),
    (["--spark", "local[1]", "--out", "x.csv"], "name it by its format"),
    (["--spark", "local[1]", "--out", "x.parquet", "--format", "ndjson"], "--format is text or json"),
    (["--spark", "local[1]", "--out", "x.parquet", "--strip-disabled", "folder"], "--strip-disabled folder"),
])
def test_usage_errors_exit_2_before_spark_starts(export, args, message):
    result = run(export, *args)
    assert result.exit_code == 2 and message in result.output


def test_json_documents_are_refused_with_a_way_out(tmp_path):
    response = tmp_path / "response.json"
    response.write_bytes(EXAMPLES[0].read_bytes())
    result = run("--spark", "local[1]", response, "--out", tmp_path / "x.parquet")
    assert result.exit_code == 2 and "evaluate it without --spark" in result.output


def test_without_java_a_message_not_a_traceback(export, tmp_path, fhirrug_exe):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # no java on it
    done = subprocess.run([str(fhirrug_exe), "evaluate", "--spark", "local[1]", str(export), "--out", str(tmp_path / "x.parquet")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "openjdk-17-jre-headless" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_console_script_in_its_own_jvm(export, tmp_path, fhirrug_exe):
    # As a user runs it: a fresh process and JVM, Spark's log kept to warnings, no Java stack.
    done = subprocess.run([str(fhirrug_exe), "evaluate", "--spark", "local[1]", str(export), "--out", str(tmp_path / "r.ndjson")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith(f"{len(EXAMPLES) + 1} responses: {len(EXAMPLES)} valid, 1 invalid")
    assert "Traceback" not in done.stderr and "INFO" not in done.stderr and "\tat " not in done.stderr
    written = [line for part in sorted((tmp_path / "r.ndjson").glob("part-*.ndjson")) for line in part.read_text(encoding="utf-8").splitlines()]
    assert sorted(written) == sorted(single_process(export))
