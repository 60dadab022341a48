"""On 50,000 generated lines (three files, broken lines, three Questionnaires, two versions of one,
every kind of `url|version` reference): Spark's record for each line is the single-process
`fhirrug evaluate --format ndjson` record for that line, and no line is lost or doubled."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from fhirrug.cli import main
from fhirrug.engine.batch import Summary
from spark_helpers import by_line, parsed

pytestmark = pytest.mark.slow


def test_the_export_covers_what_it_claims(single_lines):
    # The reference itself: several Questionnaires and versions resolved, every failure kind present.
    records = parsed(single_lines)
    questionnaires = Counter(r["questionnaire"] for r in records)
    assert any(q and q.endswith("|0.0.9") for q in questionnaires) and sum(1 for q in questionnaires if q) >= 4
    codes = {i["code"] for r in records for i in r["issues"]}
    assert {"fhirrug-json-syntax", "fhirrug-json-not-object", "fhirrug-not-a-response", "Questionnaire_QR_Q_NotFound",
            "Questionnaire_QR_Q_WrongType", "Questionnaire_QR_Q_None", "Questionnaire_QR_Item_NotEnabled"} <= codes
    assert any(not isinstance(r["response"], str) and r["questionnaire"] for r in records)  # valid JSON without an id
    assert len({r["file"] for r in records}) == 3


def test_every_record_equals_the_single_process_record(spark, export_dir, package_dir, single_lines):
    from fhirrug.spark import evaluate, to_record

    frame = evaluate(export_dir, package=package_dir, spark=spark)
    assert frame.rdd.getNumPartitions() > 10  # many byte ranges: numbering crosses their borders
    rows = frame.collect()
    expected = by_line(parsed(single_lines))
    got = by_line(to_record(row) for row in rows)  # fails on a line seen twice
    assert len(rows) == len(expected)
    assert got.keys() == expected.keys()
    different = [key for key in expected if got[key] != expected[key]]
    assert not different, f"{len(different)} records differ, e.g. {different[0]}: {got[different[0]]} != {expected[different[0]]}"


def test_cli_ndjson_out_is_the_single_process_output_line_for_line(spark, export_dir, package_dir, single_lines, tmp_path):
    out = tmp_path / "records.ndjson"
    result = CliRunner().invoke(main, ["evaluate", "--spark", "local[2]", str(export_dir), "--package", str(package_dir), "--out", str(out), "--format", "json"])
    assert result.exit_code == 1, result.output  # the export has invalid responses
    parts = sorted(out.glob("part-*.ndjson"))
    assert parts and (out / "_SUCCESS").exists()
    written = [line for part in parts for line in part.read_text(encoding="utf-8").splitlines()]
    assert Counter(written) == Counter(single_lines)  # byte for byte, none lost, none doubled
    summary = Summary()
    for record in parsed(single_lines):
        summary.add(record)
    assert json.loads(result.stdout)["summary"] == summary.to_dict()
