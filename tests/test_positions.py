"""Line and column of findings: FHIRPath locations placed in the file's text (fhirrug.positions),
and every report format carrying them through the installed console script."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhirrug import exitcodes
from fhirrug.issues import Issue
from fhirrug.positions import line_columns, locate, with_positions

from test_acceptance import run

TEXT = """{
  "resourceType": "Questionnaire",
  "title": "Rugpijn",
  "_title": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/translation"}]},
  "item": [
    {"linkId": "a", "type": "boolean"},
    {
      "linkId": "b\\u00e9",
      "type": "choice",
      "enableWhen": [{"question": "a", "operator": "=", "answerBoolean": true}],
      "initial": [{"valueCoding": {"code": "x"}}],
      "text": "é€ \\"quoted\\" [not, a: structure]", "prefix": "1"
    }
  ]
}
"""


def where(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """(line, column) of the nth occurrence of `needle`, counted independently of the module."""
    offset = -1
    for _ in range(nth + 1):
        offset = text.index(needle, offset + 1)
    before = text[:offset]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


@pytest.mark.parametrize(
    "expression, needle",
    [
        ("Questionnaire", "{"),
        ("Questionnaire.title", '"Rugpijn"'),
        ("Questionnaire.item[0]", '{"linkId": "a"'),
        ("Questionnaire.item[1].linkId", '"b\\u00e9"'),
        ("Questionnaire.item[1].enableWhen[0].question", '"a", "operator"'),
        ("Questionnaire.item[1].enableWhen[0].answerBoolean", "true"),
        ("Questionnaire.title.extension[0].url", '"http://hl7.org'),  # on the _title sibling
        ("Questionnaire.item[1].initial[0].value.ofType(Coding).code", '"x"'),
        ("Questionnaire.item[1].prefix", '"1"'),  # after a string full of JSON punctuation
        # what the file does not hold: the deepest element on the path that it does
        ("Questionnaire.item[1].enableWhen[3]", "[{\"question\""),
        ("Questionnaire.item[1].required", '{\n      "linkId": "b'),
        ("Questionnaire.item[7].text", "[\n    {"),
    ],
)
def test_locate_places_each_expression(expression, needle):
    assert locate(TEXT, [expression]) == {expression: where(TEXT, needle)}


def test_columns_count_code_points_not_bytes():
    text = '{"resourceType": "Questionnaire", "title": "€€€", "status": "x"}'
    assert locate(text, ["Questionnaire.status"])["Questionnaire.status"] == (1, text.index('"x"') + 1)


def test_only_files_with_findings_and_expressions_get_positions():
    issues = [
        Issue("que-1", "error", "m", "a.json", "Questionnaire.item[0]"),
        Issue("que-1", "error", "m", "a.json", ""),
        Issue("que-1", "error", "m", "elsewhere.json", "Questionnaire.item[0]"),
    ]
    placed = with_positions(issues, {"a.json": TEXT.encode("utf-8")})
    assert [(i.line, i.column) for i in placed] == [where(TEXT, '{"linkId": "a"'), (0, 0), (0, 0)]


def test_every_report_format_carries_line_and_column(fhirrug_exe, tmp_path):
    bad = tmp_path / "Questionnaire-x.json"
    bad.write_text(
        '{\n  "resourceType": "Questionnaire",\n  "id": "x",\n  "status": "draft",\n  "item": [\n'
        '    {"linkId": "a", "type": "boolean"},\n    {"linkId": "b", "type": "bogus"}\n  ]\n}\n',
        encoding="utf-8",
    )
    line, column = where(bad.read_text(encoding="utf-8"), '"bogus"')
    text = run(fhirrug_exe, "validate", "--select", "Terminology_TX_NoValid_16", bad, cwd=tmp_path)
    assert text.returncode == exitcodes.FINDINGS
    assert f"Questionnaire-x.json:{line}:{column}: error Terminology_TX_NoValid_16" in text.stdout
    data = json.loads(run(fhirrug_exe, "validate", "--select", "Terminology_TX_NoValid_16", "--format", "json", bad, cwd=tmp_path).stdout)
    assert [(i["code"], i["line"], i["column"]) for i in data["issues"]] == [("Terminology_TX_NoValid_16", line, column)]
    sarif = json.loads(run(fhirrug_exe, "validate", "--select", "Terminology_TX_NoValid_16", "--format", "sarif", bad, cwd=tmp_path).stdout)
    assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"] == {"startLine": line, "startColumn": column}
    outcome = json.loads(run(fhirrug_exe, "validate", "--select", "Terminology_TX_NoValid_16", "--format", "operationoutcome", bad, cwd=tmp_path).stdout)
    extensions = {e["url"].rsplit("-", 1)[-1]: e.get("valueInteger") for e in outcome["issue"][0]["extension"]}
    assert (extensions["line"], extensions["col"]) == (line, column)
    junit = ET.fromstring(run(fhirrug_exe, "validate", "--select", "Terminology_TX_NoValid_16", "--format", "junit", bad, cwd=tmp_path).stdout)
    assert f"Questionnaire-x.json:{line}:{column}: error Terminology_TX_NoValid_16" in junit.find(".//failure").text


def test_a_syntax_error_has_the_parsers_line_and_column(fhirrug_exe, tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{\n  "resourceType": "Questionnaire",\n  "status": \n}\n', encoding="utf-8")
    data = json.loads(run(fhirrug_exe, "validate", "--format", "json", bad, cwd=tmp_path).stdout)
    assert [(i["code"], i["line"], i["column"]) for i in data["issues"]] == [("fhirrug-json-syntax", 4, 1)]


def test_stdin_findings_have_positions(fhirrug_exe, tmp_path):
    import subprocess

    data = b'{"resourceType": "Questionnaire", "status": "draft",\n "item": [{"linkId": "a", "type": "bogus"}]}'
    result = subprocess.run([str(fhirrug_exe), "validate", "--format", "json", "-"], input=data, capture_output=True, cwd=tmp_path, timeout=120)
    issues = json.loads(result.stdout)["issues"]
    typed = [i for i in issues if i["expression"] == "Questionnaire.item[0].type"]
    assert typed and all((i["file"], i["line"], i["column"]) == ("-", *where(data.decode(), '"bogus"')) for i in typed)


def test_evaluate_reports_line_and_column_of_a_response_and_of_a_bundle_entry(fhirrug_exe, tmp_path):
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "examples" / "invalid" / "QuestionnaireResponse-zelfdiagnose-ongeldig-antwoord-op-uitgeschakeld.json"
    response = json.loads(source.read_text(encoding="utf-8"))
    single = tmp_path / "response.json"
    single.write_text(json.dumps(response, indent=2), encoding="utf-8")
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": response}, {"resource": response}]}, indent=1), encoding="utf-8")
    for path in (single, bundle):
        text = path.read_text(encoding="utf-8")
        result = run(fhirrug_exe, "evaluate", "--format", "ndjson", path, cwd=tmp_path)
        records = [json.loads(line) for line in result.stdout.splitlines()]
        for k, record in enumerate(records):
            (issue,) = [i for i in record["issues"] if i["code"] == "Questionnaire_QR_Item_NotEnabled"]
            index = int(issue["expression"].split("item[")[1].split("]")[0])
            linkid = response["item"][index]["linkId"]
            # the k-th occurrence of that item's object in the file
            needle = '"linkId": ' + json.dumps(linkid)
            offset = -1
            for _ in range(k + 1):
                offset = text.index(needle, offset + 1)
            opening = text.rindex("{", 0, offset)
            assert (issue["line"], issue["column"]) == (text.count("\n", 0, opening) + 1, opening - text.rfind("\n", 0, opening)), path.name
        text_report = run(fhirrug_exe, "evaluate", path, cwd=tmp_path).stdout
        assert f"{path.name}:{records[0]['issues'][0]['line']}:" in text_report.replace(str(tmp_path) + "/", "")


@given(st.text(alphabet="a\n{é", max_size=200), st.lists(st.integers(min_value=0, max_value=200), max_size=30))
def test_line_columns_agree_with_counting_from_the_start(text, offsets):
    # Each column used to search back to the previous newline from scratch: on a one-line file
    # (minified JSON) that was the whole file per finding. The incremental count must agree.
    offsets = [o for o in offsets if o <= len(text)]
    expected = {o: (text.count("\n", 0, o) + 1, o - text.rfind("\n", 0, o)) for o in offsets}
    assert line_columns(text, offsets) == expected
