"""FHIR R4 XML input (fhirrug.xmlio): the same dict as the JSON twin, the same issues at the same
locations through validate and evaluate, and bad XML kept from reaching a traceback."""

from __future__ import annotations

import json

from click.testing import CliRunner

from fhirrug.cli import main
from fhirrug.jsonio import parse_bytes, read_json
from fhirrug.validate.pipeline import validate_paths

QUESTIONNAIRE_JSON = {
    "resourceType": "Questionnaire",
    "id": "x",
    "url": "http://example.org/Questionnaire/x",
    "status": "active",
    "item": [
        {"linkId": "rookt", "text": "Rookt u?", "type": "boolean", "required": True},
        {
            "linkId": "sigaretten",
            "text": "Hoeveel per dag?",
            "type": "integer",
            "enableWhen": [{"question": "rookt", "operator": "=", "answerBoolean": True}],
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 80}],
        },
    ],
}
QUESTIONNAIRE_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<Questionnaire xmlns="http://hl7.org/fhir">
  <id value="x"/>
  <!-- a comment is no content -->
  <url value="http://example.org/Questionnaire/x"/>
  <status value="active"/>
  <item>
    <linkId value="rookt"/>
    <text value="Rookt u?"/>
    <type value="boolean"/>
    <required value="true"/>
  </item>
  <item>
    <extension url="http://hl7.org/fhir/StructureDefinition/maxValue">
      <valueInteger value="80"/>
    </extension>
    <linkId value="sigaretten"/>
    <text value="Hoeveel per dag?"/>
    <type value="integer"/>
    <enableWhen>
      <question value="rookt"/>
      <operator value="="/>
      <answerBoolean value="true"/>
    </enableWhen>
  </item>
</Questionnaire>
"""
# Invalid three ways: an answer on a disabled item, a value over maxValue would be (but the item
# is disabled), and a wrongly typed answer.
RESPONSE_JSON = {
    "resourceType": "QuestionnaireResponse",
    "questionnaire": "http://example.org/Questionnaire/x",
    "status": "completed",
    "item": [
        {"linkId": "rookt", "answer": [{"valueBoolean": True}]},
        {"linkId": "sigaretten", "answer": [{"valueInteger": 90}, {"valueString": "veel"}]},
    ],
}
RESPONSE_XML = b"""<QuestionnaireResponse xmlns="http://hl7.org/fhir">
  <questionnaire value="http://example.org/Questionnaire/x"/>
  <status value="completed"/>
  <item>
    <linkId value="rookt"/>
    <answer><valueBoolean value="true"/></answer>
  </item>
  <item>
    <linkId value="sigaretten"/>
    <answer><valueInteger value="90"/></answer>
    <answer><valueString value="veel"/></answer>
  </item>
</QuestionnaireResponse>
"""


def test_xml_reads_as_its_json_twin():
    assert parse_bytes(QUESTIONNAIRE_XML, "q.xml") == (QUESTIONNAIRE_JSON, [])
    assert parse_bytes(RESPONSE_XML, "r.xml") == (RESPONSE_JSON, [])


def test_primitive_extensions_narrative_and_contained():
    xml = b"""<Questionnaire xmlns="http://hl7.org/fhir">
      <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Lijst 3</p></div></text>
      <contained><ValueSet><id value="vs"/><status value="draft"/></ValueSet></contained>
      <status value="draft"/>
      <subjectType value="Patient"/>
      <subjectType><extension url="http://example.org/why"><valueString value="x"/></extension></subjectType>
      <item><linkId value="a" id="i1"/><type value="choice"/><answerValueSet value="#vs"/></item>
    </Questionnaire>"""
    data, issues = parse_bytes(xml, "q.xml")
    assert issues == []
    assert data["text"]["div"] == '<div xmlns="http://www.w3.org/1999/xhtml"><p>Lijst 3</p></div>'
    assert data["contained"] == [{"resourceType": "ValueSet", "id": "vs", "status": "draft"}]
    assert data["subjectType"] == ["Patient", None]
    assert data["_subjectType"] == [None, {"extension": [{"url": "http://example.org/why", "valueString": "x"}]}]
    assert data["item"][0]["_linkId"] == {"id": "i1"}


def test_validate_reports_the_same_issues_for_the_xml_and_the_json_twin(tmp_path):
    def issues(suffix: str, questionnaire: bytes, response: bytes) -> set:
        (tmp_path / f"q{suffix}").write_bytes(questionnaire)
        (tmp_path / f"r{suffix}").write_bytes(response)
        result = validate_paths([tmp_path / f"q{suffix}", tmp_path / f"r{suffix}"])
        return {(i.code, i.severity, i.expression, i.file.rsplit("/", 1)[-1].split(".")[0]) for i in result.issues}

    from_json = issues(".json", json.dumps(QUESTIONNAIRE_JSON).encode(), json.dumps(RESPONSE_JSON).encode())
    from_xml = issues(".xml", QUESTIONNAIRE_XML, RESPONSE_XML)
    assert from_xml == from_json
    assert ("Questionnaire_QR_Item_WrongType", "error", "QuestionnaireResponse.item[1].answer[1].value.ofType(string)", "r") in from_xml
    assert ("QUESTIONNAIRE_QR_ITEM_INTEGER_MAX", "error", "QuestionnaireResponse.item[1].answer[0].value.ofType(integer)", "r") in from_xml


def test_evaluate_reads_xml_responses_and_questionnaires(tmp_path):
    (tmp_path / "q.xml").write_bytes(QUESTIONNAIRE_XML)
    (tmp_path / "r.xml").write_bytes(RESPONSE_XML)
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "r.xml"), "--questionnaire", str(tmp_path / "q.xml"), "--format", "json"])
    assert result.exit_code == 1, result.output
    (record,) = json.loads(result.stdout)["results"] if "results" in json.loads(result.stdout) else [json.loads(result.stdout)]
    assert {i["code"] for i in record["issues"]} >= {"QUESTIONNAIRE_QR_ITEM_INTEGER_MAX", "Questionnaire_QR_Item_WrongType"}


def test_entity_expansion_and_external_entities_are_refused(tmp_path):
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><Patient xmlns="http://hl7.org/fhir"><id value="&lol2;"/></Patient>'
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"><id value="&x;"/></Patient>'
    for raw in (laughs, xxe):
        data, issues = parse_bytes(raw, "evil.xml")
        assert data is None
        assert [(i.code, i.severity) for i in issues] == [("fhirrug-xml-forbidden", "fatal")]


def test_bad_xml_is_an_issue_with_its_place(tmp_path):
    data, issues = parse_bytes(b'<Patient xmlns="http://hl7.org/fhir">\n  <id value="a">\n</Patient>', "bad.xml")
    assert data is None and issues[0].code == "fhirrug-xml-syntax" and "line 3" in issues[0].message
    data, issues = parse_bytes(b"<Patient><id value='a'/></Patient>", "plain.xml")
    assert data is None and issues[0].code == "fhirrug-xml-not-fhir"
    deep = b'<Questionnaire xmlns="http://hl7.org/fhir">' + b"<item>" * 200 + b"</item>" * 200 + b"</Questionnaire>"
    data, issues = parse_bytes(deep, "deep.xml")
    assert data is None and issues[0].code == "fhirrug-xml-too-deep"


def test_a_huge_xml_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.xml"
    path.write_bytes(b'<Patient xmlns="http://hl7.org/fhir">' + b" " * 2048 + b"</Patient>")
    data, issues = read_json(path, max_bytes=1024)
    assert data is None and issues[0].code == "fhirrug-file-too-large"


def test_unknown_elements_and_bad_values_reach_the_schema_stage_at_their_place(tmp_path):
    path = tmp_path / "r.xml"
    path.write_bytes(b'<QuestionnaireResponse xmlns="http://hl7.org/fhir"><status value="completed"/><colour value="red"/>'
                     b'<item><linkId value="a"/><answer><valueBoolean value="yes"/></answer></item></QuestionnaireResponse>')
    data, _ = read_json(path)
    assert data["colour"] == "red" and data["item"][0]["answer"][0]["valueBoolean"] == "yes"  # as the JSON twin would be
    codes = {(i.code, i.expression) for i in validate_paths([path]).issues}
    assert any(code.startswith("fhirrug-schema") and expression.startswith("QuestionnaireResponse.colour") for code, expression in codes), codes
