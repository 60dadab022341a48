"""fhirrug.spark on small inputs: a DataFrame with a JSON column, `questionnaire=`, the stripped
responses, and the inputs it refuses (with a message, before any job runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spark_helpers import by_line, parsed, single_process

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("QuestionnaireResponse-zelfdiagnose-*.json"))
SELF_DIAGNOSIS = ROOT / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json"
INVALID = ROOT / "examples" / "invalid" / "QuestionnaireResponse-zelfdiagnose-ongeldig-antwoord-op-uitgeschakeld.json"


def compact(path: Path) -> str:
    return json.dumps(json.loads(path.read_text(encoding="utf-8")), ensure_ascii=False)


@pytest.fixture
def small_export(tmp_path) -> Path:
    path = tmp_path / "klein.ndjson"
    path.write_text("\n".join([compact(p) for p in EXAMPLES[:6]] + ["{kapot", compact(INVALID)]) + "\n", encoding="utf-8")
    return path


def test_dataframe_json_column_keeps_its_other_columns(spark):
    from fhirrug.spark import evaluate

    rows = [("a", compact(EXAMPLES[0])), ("b", "{kapot"), ("c", compact(INVALID)), ("d", None)]
    frame = spark.createDataFrame(rows, "batch string, resource string")
    result = {row["batch"]: row for row in evaluate(frame, column="resource", spark=spark).collect()}
    assert set(result) == {"a", "b", "c", "d"}
    assert result["a"]["valid"] and result["a"]["response"] == json.loads(compact(EXAMPLES[0]))["id"]
    assert result["a"]["resource"] == compact(EXAMPLES[0])  # the input columns are all kept
    assert result["b"]["issues"][0]["code"] == "fhirrug-json-syntax" and result["b"]["questionnaire"] is None
    assert ["Questionnaire_QR_Item_NotEnabled", "QuestionnaireResponse.item[2]"] in [[i["code"], i["expression"]] for i in result["c"]["issues"]]
    assert result["d"]["valid"] is False


def test_dataframe_binary_column_and_its_errors(spark):
    from fhirrug.spark import SparkError, evaluate

    frame = spark.createDataFrame([(bytearray(compact(EXAMPLES[1]).encode()),)], "value binary")
    assert evaluate(frame, spark=spark).first()["valid"] is True
    with pytest.raises(SparkError, match="no column 'json'"):
        evaluate(frame, column="json", spark=spark)
    with pytest.raises(SparkError, match="valid"):
        evaluate(spark.createDataFrame([("{}", True)], "value string, valid boolean"), spark=spark)
    with pytest.raises(SparkError, match="not JSON text"):
        evaluate(spark.createDataFrame([(1,)], "value long"), spark=spark)


def test_questionnaire_override_equals_single_process_q(spark, small_export):
    from fhirrug.spark import evaluate, to_record

    questionnaire = json.loads(SELF_DIAGNOSIS.read_text(encoding="utf-8"))
    expected = by_line(parsed(single_process(small_export, "-q", SELF_DIAGNOSIS)))
    got = by_line(to_record(row) for row in evaluate(small_export, spark=spark, questionnaire=questionnaire).collect())
    assert got == expected


def test_strip_disabled_column_equals_single_process_strip(spark, small_export, tmp_path):
    from fhirrug.spark import evaluate

    stripped_file = tmp_path / "stripped.ndjson"
    single_process(small_export, "--strip-disabled", stripped_file)
    expected = parsed(stripped_file.read_text(encoding="utf-8").splitlines())
    rows = evaluate(small_export, spark=spark, strip_disabled=True).collect()
    got = [json.loads(row["stripped"]) for row in sorted(rows, key=lambda r: r["line"]) if row["stripped"] is not None]
    assert got == expected and len(got) == 7  # every line but the broken one


def test_an_empty_folder_gives_no_rows(spark, tmp_path):
    from fhirrug.spark import evaluate

    (tmp_path / "leeg").mkdir()
    assert evaluate(tmp_path / "leeg", spark=spark).count() == 0


@pytest.mark.parametrize("name, content, message", [
    ("_verborgen.ndjson", "{}\n", "starts with '_' or '.'"),
    ("bundel.json", "{}", "not an NDJSON file"),
])
def test_inputs_spark_would_lose_are_refused(tmp_path, name, content, message):
    from fhirrug.spark.sources import SourceError, list_sources

    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(SourceError, match=message):
        list_sources([str(tmp_path / name)])
    folder_message = "a JSON or XML document" if name.endswith(".json") else message
    with pytest.raises(SourceError, match=folder_message):
        list_sources([str(tmp_path)])


def test_sources_name_files_as_single_process_does(tmp_path):
    from fhirrug.spark.sources import SourceError, list_sources

    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x y.ndjson").write_text("{}\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text("{}\n", encoding="utf-8")
    sources = list_sources([str(tmp_path)])
    assert sorted(sources.names.values()) == [str(tmp_path / "a.jsonl"), str(tmp_path / "b" / "x y.ndjson")]
    assert sources.name_for((tmp_path / "b" / "x y.ndjson").resolve().as_uri()) == str(tmp_path / "b" / "x y.ndjson")
    assert list_sources(["hdfs://namenode/export/"]).paths == ["hdfs://namenode/export/"]
    with pytest.raises(SourceError, match="given twice"):
        list_sources([str(tmp_path), str(tmp_path / "a.jsonl")])
    with pytest.raises(SourceError, match="no such file"):
        list_sources([str(tmp_path / "weg.ndjson")])


def test_the_package_as_one_file_an_npm_tgz(spark, small_export):
    from fhirrug.spark import evaluate, to_record

    release = sorted((ROOT / "releases").glob("*.tgz"))[-1]  # what fhirrug export writes
    expected = by_line(parsed(single_process(small_export, "--package", release)))
    got = by_line(to_record(row) for row in evaluate(small_export, package=release, spark=spark).collect())
    assert got == expected and any(record["valid"] for record in got.values())
