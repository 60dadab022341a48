"""Value constraints on answers (fhirrug.model.constraints through the engine): for every check a
response that fails it and one that passes, asserted on (code, expression).

Fixtures are our own (the HL7 cases stay in ../shared). docs/enablewhen-semantics.md §10.
"""

from __future__ import annotations

import pytest

import fhirrug
from fhirrug.model import ucum
from fhirrug.model.constraints import CODES, decimal_places

CORE = "http://hl7.org/fhir/StructureDefinition/"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
UCUM = "http://unitsofmeasure.org"
QR = "QuestionnaireResponse"
A0 = f"{QR}.item[0].answer[0]"
CONSTRAINT_CODES = {code for code, _, _ in CODES}


def ext(name: str, **value) -> dict:
    url = name if name.startswith("http") else CORE + name
    return {"url": url, **value}


def q(item_type: str, *extensions: dict, **fields) -> dict:
    item = {"linkId": "q1", "type": item_type, "repeats": True, **fields}
    if extensions:
        item["extension"] = list(extensions)
    return {"resourceType": "Questionnaire", "url": "http://example.org/Questionnaire/c", "status": "active", "item": [item]}


def qr(*answers: dict, status: str = "completed", **fields) -> dict:
    item = {"linkId": "q1"}
    if answers:
        item["answer"] = list(answers)
    return {"resourceType": "QuestionnaireResponse", "questionnaire": "http://example.org/Questionnaire/c", "status": status, "item": [item], **fields}


def qty(value, code=None, unit=None, system=UCUM) -> dict:
    out = {"value": value}
    if unit is not None:
        out["unit"] = unit
    if code is not None:
        out.update(system=system, code=code)
    return out


def found(questionnaire: dict, response: dict) -> set[tuple[str, str]]:
    return {(i.code, i.expression) for i in fhirrug.evaluate(questionnaire, response).issues if i.code in CONSTRAINT_CODES}


ATTACHMENT_500 = {"contentType": "application/pdf", "data": "YQ" + "A" * 665 + "=", "size": 500}  # 500 bytes

# (id, questionnaire, failing response, expected (code, expression), passing response)
CASES = [
    ("maxLength", q("string", maxLength=3), qr({"valueString": "abcd"}), {("QUESTIONNAIRE_QR_ITEM_STRING_MAX_LENGTH", f"{A0}.value.ofType(string)")}, qr({"valueString": "abc"})),
    ("minLength", q("text", ext("minLength", valueInteger=3)), qr({"valueString": "ab"}), {("QUESTIONNAIRE_QR_ITEM_STRING_MIN_LENGTH", f"{A0}.value.ofType(string)")}, qr({"valueString": "abé"})),
    ("regex", q("string", ext("regex", valueString=r"\d{4} ?[A-Z]{2}")), qr({"valueString": "1234 ab"}), {("QUESTIONNAIRE_QR_ITEM_STRING_REGEX", f"{A0}.value.ofType(string)")}, qr({"valueString": "1234 AB"})),
    ("regex-entryFormat", q("string", ext("regex", valueString=r"\d{4} ?[A-Z]{2}"), ext("entryFormat", valueString="1234 AB")), qr({"valueString": "x1234 AB"}), {("QUESTIONNAIRE_QR_ITEM_STRING_REGEX_EF", f"{A0}.value.ofType(string)")}, qr({"valueString": "1234AB"})),
    ("integer-min", q("integer", ext("minValue", valueInteger=18)), qr({"valueInteger": 17}), {("QUESTIONNAIRE_QR_ITEM_INTEGER_MIN", f"{A0}.value.ofType(integer)")}, qr({"valueInteger": 18})),
    ("integer-max", q("integer", ext("maxValue", valueInteger=10)), qr({"valueInteger": 11}), {("QUESTIONNAIRE_QR_ITEM_INTEGER_MAX", f"{A0}.value.ofType(integer)")}, qr({"valueInteger": 10})),
    ("decimal-min", q("decimal", ext("minValue", valueDecimal=0.5)), qr({"valueDecimal": 0.49}), {("QUESTIONNAIRE_QR_ITEM_DECIMAL_MIN", f"{A0}.value.ofType(decimal)")}, qr({"valueDecimal": 1})),
    ("decimal-max", q("decimal", ext("maxValue", valueInteger=2)), qr({"valueDecimal": 2.01}), {("QUESTIONNAIRE_QR_ITEM_DECIMAL_MAX", f"{A0}.value.ofType(decimal)")}, qr({"valueDecimal": 2.0})),
    ("maxDecimalPlaces", q("decimal", ext("maxDecimalPlaces", valueInteger=1)), qr({"valueDecimal": 37.25}), {("QUESTIONNAIRE_QR_ITEM_DECIMAL_MAX_DECIMALS", f"{A0}.value.ofType(decimal)")}, qr({"valueDecimal": 37.5})),
    ("date-min", q("date", ext("minValue", valueDate="2020")), qr({"valueDate": "2019-12-31"}), {("QUESTIONNAIRE_QR_ITEM_DATE_MIN", f"{A0}.value.ofType(date)")}, qr({"valueDate": "2020"})),
    ("date-max", q("date", ext("maxValue", valueDate="2022-06-30")), qr({"valueDate": "2022-07"}), {("QUESTIONNAIRE_QR_ITEM_DATE_MAX", f"{A0}.value.ofType(date)")}, qr({"valueDate": "2021"})),
    ("dateTime-zones", q("dateTime", ext("maxValue", valueDateTime="2024-01-01T10:00:00+01:00")), qr({"valueDateTime": "2024-01-01T09:30:00Z"}), {("QUESTIONNAIRE_QR_ITEM_DATE_MAX", f"{A0}.value.ofType(dateTime)")}, qr({"valueDateTime": "2024-01-01T08:59:59Z"})),
    ("dateTime-precision", q("dateTime", ext("maxValue", valueDateTime="2022-06")), qr({"valueDateTime": "2022-06-30"}), {("fhirrug-constraint-indeterminate", f"{A0}.value.ofType(dateTime)")}, qr({"valueDateTime": "2021"})),
    ("time-min", q("time", ext("minValue", valueTime="08:00:00")), qr({"valueTime": "07:59:59"}), {("QUESTIONNAIRE_QR_ITEM_TIME_MIN", f"{A0}.value.ofType(time)")}, qr({"valueTime": "08:00:00"})),
    ("quantity-min-ucum", q("quantity", ext(SDC + "sdc-questionnaire-minQuantity", valueQuantity=qty(50, "km"))), qr({"valueQuantity": qty(10000, "m")}), {("QUESTIONNAIRE_QR_ITEM_QUANTITY_MIN", f"{A0}.value.ofType(Quantity)")}, qr({"valueQuantity": qty(50000, "m")})),
    ("quantity-max-ucum", q("quantity", ext(SDC + "sdc-questionnaire-maxQuantity", valueQuantity=qty(200, "[lb_av]"))), qr({"valueQuantity": qty(91, "kg")}), {("QUESTIONNAIRE_QR_ITEM_QUANTITY_MAX", f"{A0}.value.ofType(Quantity)")}, qr({"valueQuantity": qty(90, "kg")})),
    ("quantity-other-kind", q("quantity", ext(SDC + "sdc-questionnaire-minQuantity", valueQuantity=qty(10, "[mi_i]"))), qr({"valueQuantity": qty(50, "kg")}), {("QUESTIONNAIRE_QR_ITEM_DECIMAL_CANNOT_COMPARE_MIN", f"{A0}.value.ofType(Quantity)")}, qr({"valueQuantity": qty(20000, "m")})),
    ("quantity-unknown-unit", q("quantity", ext(SDC + "sdc-questionnaire-maxQuantity", valueQuantity=qty(5, "[smoot]"))), qr({"valueQuantity": qty(1, "m")}), {("fhirrug-constraint-indeterminate", f"{A0}.value.ofType(Quantity)")}, qr({"valueQuantity": qty(4, "[smoot]")})),
    ("quantity-maxDecimalPlaces", q("quantity", ext("maxDecimalPlaces", valueInteger=0)), qr({"valueQuantity": qty(70.5, "kg")}), {("QUESTIONNAIRE_QR_ITEM_DECIMAL_MAX_DECIMALS", f"{A0}.value.ofType(Quantity)")}, qr({"valueQuantity": qty(70, "kg")})),
    ("unitOption", q("quantity", ext("questionnaire-unitOption", valueCoding={"system": UCUM, "code": "cm", "display": "centimetre"})), qr({"valueQuantity": qty(180, "m", unit="cm")}), {("QUESTIONNAIRE_QR_ITEM_DECIMAL_INVALID_UNITS", f"{A0}.value.ofType(Quantity)")}, qr({"valueQuantity": qty(180, "cm", unit="cm")})),
    ("minOccurs", q("string", ext("questionnaire-minOccurs", valueInteger=2)), qr({"valueString": "a"}), {("QUESTIONNAIRE_QR_ITEM_MIN_OCCURS", f"{QR}.item[0]")}, qr({"valueString": "a"}, {"valueString": "b"})),
    ("maxOccurs", q("string", ext("questionnaire-maxOccurs", valueInteger=2)), qr({"valueString": "a"}, {"valueString": "b"}, {"valueString": "c"}), {("QUESTIONNAIRE_QR_ITEM_MAX_OCCURS", f"{QR}.item[0]")}, qr({"valueString": "a"}, {"valueString": "b"})),
    (
        "optionExclusive",
        q("choice", answerOption=[{"valueCoding": {"system": "http://example.org/cs", "code": "a"}}, {"valueCoding": {"system": "http://example.org/cs", "code": "none"}, "extension": [ext("questionnaire-optionExclusive", valueBoolean=True)]}]),
        qr({"valueCoding": {"system": "http://example.org/cs", "code": "a"}}, {"valueCoding": {"system": "http://example.org/cs", "code": "none"}}),
        {("QUESTIONNAIRE_QR_ITEM_EXCLUSIVE", f"{QR}.item[0].answer[1]")},
        qr({"valueCoding": {"system": "http://example.org/cs", "code": "none"}}),
    ),
    ("mimeType", q("attachment", ext("mimeType", valueCode="image/*")), qr({"valueAttachment": ATTACHMENT_500}), {("QUESTIONNAIRE_QR_ITEM_BAD_ATTACHMENT_MIMETYPE", A0)}, qr({"valueAttachment": {**ATTACHMENT_500, "contentType": "image/PNG; q=1"}})),
    ("mimeType-missing", q("attachment", ext("mimeType", valueCode="application/pdf")), qr({"valueAttachment": {"url": "http://example.org/scan"}}), {("QUESTIONNAIRE_QR_ITEM_NOT_ATTACHMENT_MIMETYPE", A0)}, qr({"valueAttachment": {"url": "http://example.org/scan", "contentType": "application/pdf"}})),
    ("maxSize", q("attachment", ext("maxSize", valueDecimal=499)), qr({"valueAttachment": ATTACHMENT_500}), {("QUESTIONNAIRE_QR_ITEM_BAD_ATTACHMENT_LENGTH", A0)}, qr({"valueAttachment": {**ATTACHMENT_500, "data": "YWJj", "size": 3}})),
    ("attachment-size", q("attachment"), qr({"valueAttachment": {**ATTACHMENT_500, "size": 50200200}}), {("TYPE_SPECIFIC_CHECKS_DT_ATT_SIZE_CORRECT", f"{A0}.value.ofType(Attachment)")}, qr({"valueAttachment": ATTACHMENT_500})),
    ("referenceResource", q("reference", ext("questionnaire-referenceResource", valueCode="Practitioner")), qr({"valueReference": {"reference": "Organization/1"}}), {("QUESTIONNAIRE_QR_ITEM_REF_INVALID", f"{A0}.value.ofType(Reference)")}, qr({"valueReference": {"reference": "https://example.org/fhir/Practitioner/1/_history/2"}})),
    ("reference-type", q("reference"), qr({"valueReference": {"reference": "https://example.org/Chicken/1"}}), {("QUESTIONNAIRE_QR_ITEM_REF_INVALID_GENERAL", f"{A0}.value.ofType(Reference)")}, qr({"valueReference": {"reference": "urn:uuid:c757873d-ec9a-4326-a141-556f43239520"}})),
    ("reference-blank", q("reference"), qr({"valueReference": {"reference": "Patient/ 1"}}), {("REFERENCE_REF_INVALID_REF", f"{A0}.value.ofType(Reference)")}, qr({"valueReference": {"reference": "Patient/1"}})),
    ("uuid", q("url"), qr({"valueUri": "urn:uuid:C757873D-EC9A-4326-A141-556F43239520"}), {("Type_Specific_Checks_DT_UUID_Valid", f"{A0}.value.ofType(uri)")}, qr({"valueUri": "urn:uuid:c757873d-ec9a-4326-a141-556f43239520"})),
    ("effectivePeriod-end", {**q("string"), "effectivePeriod": {"end": "2024-03-31"}}, qr(authored="2024-04-01T00:00:00Z"), {("QUESTIONNAIRE_QR_AUTHOR_END", f"{QR}.authored")}, qr(authored="2024-03-31T23:59:00+02:00")),
    ("effectivePeriod-start", {**q("string"), "effectivePeriod": {"start": "2024"}}, qr(authored="2023-12-31"), {("QUESTIONNAIRE_QR_AUTHOR_START", f"{QR}.authored")}, qr(authored="2024-01")),
]


@pytest.mark.parametrize(("questionnaire", "failing", "expected", "passing"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_constraint_fails_and_passes(questionnaire, failing, expected, passing):
    assert found(questionnaire, failing) == expected
    assert found(questionnaire, passing) == set()


def test_repetitions_of_a_group_count_against_its_occurs():
    group = {"linkId": "g", "type": "group", "repeats": True, "extension": [ext("questionnaire-maxOccurs", valueInteger=2)], "item": [{"linkId": "s", "type": "string"}]}
    questionnaire = {"resourceType": "Questionnaire", "status": "active", "item": [group]}
    rep = {"linkId": "g", "item": [{"linkId": "s", "answer": [{"valueString": "x"}]}]}
    response = lambda n: {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [rep] * n}  # noqa: E731
    assert found(questionnaire, response(3)) == {("QUESTIONNAIRE_QR_ITEM_MAX_OCCURS", f"{QR}.item[0]")}
    assert found(questionnaire, response(2)) == set()


def test_in_progress_keeps_content_errors_and_softens_min_occurs():
    """An in-progress response: a value outside its limits is still an error (content), a
    shortfall against minOccurs is a warning (completeness), two answers on an item that does not
    repeat stay an error (string-draft-downgrade-qr; §10.1)."""
    questionnaire = q("integer", ext("minValue", valueInteger=1), ext("questionnaire-minOccurs", valueInteger=2))
    issues = fhirrug.evaluate(questionnaire, qr({"valueInteger": 0}, status="in-progress")).issues
    assert {(i.code, i.severity) for i in issues} == {("QUESTIONNAIRE_QR_ITEM_INTEGER_MIN", "error"), ("QUESTIONNAIRE_QR_ITEM_MIN_OCCURS", "warning")}
    single = q("string", repeats=False)
    issues = fhirrug.evaluate(single, qr({"valueString": "a1"}, {"valueString": "a2"}, status="in-progress")).issues
    assert [(i.code, i.severity, i.expression) for i in issues] == [("Questionnaire_QR_Item_OnlyOneA", "error", f"{QR}.item[0]")]


def test_quantities_with_the_same_free_text_unit_compare():
    """quantity-qr: limits and answer with unit 'Kg' and no code compare by value (§10.3)."""
    questionnaire = q("quantity", ext(SDC + "sdc-questionnaire-minQuantity", valueQuantity={"value": 5, "unit": "Kg"}), ext(SDC + "sdc-questionnaire-maxQuantity", valueQuantity={"value": 50, "unit": "Kg"}))
    assert found(questionnaire, qr({"valueQuantity": {"value": 10, "unit": "Kg"}})) == set()
    assert found(questionnaire, qr({"valueQuantity": {"value": 51, "unit": "Kg"}})) == {("QUESTIONNAIRE_QR_ITEM_QUANTITY_MAX", f"{A0}.value.ofType(Quantity)")}
    assert found(questionnaire, qr({"valueQuantity": {"value": 10, "unit": "pound"}})) == {("fhirrug-constraint-indeterminate", f"{A0}.value.ofType(Quantity)")}


def test_constraints_apply_to_enabled_items_only():
    questionnaire = {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [
            {"linkId": "a", "type": "boolean"},
            {"linkId": "b", "type": "integer", "enableWhen": [{"question": "a", "operator": "=", "answerBoolean": True}], "extension": [ext("maxValue", valueInteger=5)]},
        ],
    }
    response = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [{"linkId": "a", "answer": [{"valueBoolean": False}]}, {"linkId": "b", "answer": [{"valueInteger": 9}]}]}
    codes = {i.code for i in fhirrug.evaluate(questionnaire, response).issues}
    assert codes == {"Questionnaire_QR_Item_NotEnabled"}


def test_a_malformed_constraint_is_a_questionnaire_issue_and_is_not_checked():
    questionnaire = q("string", ext("regex", valueString="(unclosed"))
    plan = fhirrug.engine.compile(questionnaire)
    assert {(i.code, i.expression) for i in plan.issues} == {("fhirrug-constraint-invalid", "Questionnaire.item[0].extension[0]")}
    assert found(questionnaire, qr({"valueString": "anything"})) == set()


def test_a_backtracking_regex_from_an_untrusted_questionnaire_cannot_stall_a_batch():
    # A response's contained Questionnaire (or one given with --questionnaire) is input like any
    # other. With Python's re, (a+)+$ against 40 a's and a '!' backtracks for hours; the child is
    # given 60 s, which only a hang exceeds (RE2 answers in microseconds).
    import subprocess
    import sys

    program = (
        "import fhirrug, json, sys\n"
        "q = json.loads(sys.argv[1])\n"
        "r = json.loads(sys.argv[2])\n"
        "print(sorted(i.code for i in fhirrug.evaluate(q, r).issues))\n"
    )
    questionnaire = q("string", ext("regex", valueString="(a+)+$"))
    response = qr({"valueString": "a" * 40 + "!"})
    import json

    result = subprocess.run([sys.executable, "-c", program, json.dumps(questionnaire), json.dumps(response)], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "['QUESTIONNAIRE_QR_ITEM_STRING_REGEX']", result.stderr


@pytest.mark.parametrize(("pattern", "reason"), [(r"(a)\1", "back references"), (r"(?=a)a", "back references and lookaround"), ("(unclosed", "missing )")])
def test_a_regex_that_needs_backtracking_or_is_no_regex_is_reported_and_not_checked(pattern, reason, capfd):
    questionnaire = q("string", ext("regex", valueString=pattern))
    issues = fhirrug.engine.compile(questionnaire).issues
    assert [(i.code, i.expression) for i in issues] == [("fhirrug-constraint-invalid", "Questionnaire.item[0].extension[0]")]
    assert reason in issues[0].message
    assert found(questionnaire, qr({"valueString": "anything"})) == set()
    assert capfd.readouterr().err == ""  # RE2's own error log stays off


def test_items_without_constraints_get_no_constraint_object():
    plan = fhirrug.engine.compile(q("string"))
    assert plan.nodes[0].constraints is None
    assert fhirrug.engine.compile(q("string", maxLength=2)).nodes[0].constraints is not None


def test_decimal_places_of_json_numbers():
    assert [decimal_places(v) for v in (3, 2.5, -5.1234, 1e-7, 1.0)] == [0, 1, 4, 7, 1]  # 1.0: JSON "1.0", one place


@pytest.mark.parametrize(
    ("a", "code_a", "b", "code_b", "expected"),
    [
        (10000, "m", 50, "km", -1),
        (1, "[ft_i]", 12, "[in_i]", 0),
        (120, "mm[Hg]", 15, "kPa", 1),
        (1, "kg/m2", 1000, "g/m2", 0),
        (60, "/min", 1, "Hz", 0),
        (5, "mmol/L", 5, "umol/mL", 0),
        (1, "kg", 1, "[mi_i]", "incommensurable"),
        (1, "Cel", 1, "K", None),
        (1, "{beats}/min", 1, "/min", 0),
    ],
)
def test_ucum_compare(a, code_a, b, code_b, expected):
    assert ucum.compare(a, code_a, b, code_b) == expected
