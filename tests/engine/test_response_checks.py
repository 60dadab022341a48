"""QuestionnaireResponse checks: one failing and one passing case each, on (code, expression)."""

from __future__ import annotations

import fhirrug
from fhirrug.engine import Engine, expand_valuesets, strip_disabled, compile
from fhirrug.package import Package, Resource
from pathlib import Path

from engine_helpers import ans, codes, ew, item, q, qr

B = lambda v: {"valueBoolean": v}  # noqa: E731
QUEST = q(
    item("a", text="Vraag A"),
    item("b", "string", required=True, enableWhen=[ew("a", answerBoolean=True)]),
    item("g", "group", item("c", "integer")),
    item("d", "display", text="Uitkomst", code=[{"system": "http://example.org/cs", "code": "7", "display": "Zeven"}], enableWhen=[ew("a", answerBoolean=True)]),
    item("ch", "choice", answerOption=[{"valueCoding": {"system": "http://example.org/cs", "code": "x"}}]),
)


def check(response):
    return codes(fhirrug.evaluate(QUEST, response))


def test_valid_response_has_no_issues_and_reaches_outcome():
    ev = fhirrug.evaluate(QUEST, qr(ans("a", B(True), text="Vraag A"), ans("b", {"valueString": "x"})))
    assert ev.issues == [] and ev.valid
    assert ev.outcomes == [{"system": "http://example.org/cs", "code": "7", "display": "Zeven"}]
    assert ev.enabled == ["a", "b", "g", "c", "d", "ch"]


def test_outcomes_limited_to_package_codesystems():
    assert fhirrug.evaluate(QUEST, qr(ans("a", B(True)), ans("b", {"valueString": "x"})), codesystems=["http://other"]).outcomes == []


def test_answer_on_disabled_item():
    assert ("Questionnaire_QR_Item_NotEnabled", "QuestionnaireResponse.item[1]") in check(qr(ans("a", B(False)), ans("b", {"valueString": "x"})))


def test_required_enabled_unanswered_error_when_completed():
    ev = fhirrug.evaluate(QUEST, qr(ans("a", B(True))))
    assert [(i.code, i.severity, i.expression) for i in ev.issues] == [("Questionnaire_QR_Item_Missing", "error", "QuestionnaireResponse")]


def test_required_enabled_unanswered_warning_when_in_progress():
    ev = fhirrug.evaluate(QUEST, qr(ans("a", B(True)), status="in-progress"))
    assert [(i.code, i.severity) for i in ev.issues] == [("Questionnaire_QR_Item_Missing", "warning")]
    assert ev.valid


def test_required_disabled_unanswered_is_fine():
    assert check(qr(ans("a", B(False)))) == set()


def test_required_item_present_without_answer_reported_on_item():
    assert ("Questionnaire_QR_Item_Missing", "QuestionnaireResponse.item[1]") in check(qr(ans("a", B(True)), {"linkId": "b"}))


def test_unknown_linkid():
    assert ("Questionnaire_QR_Item_NotFound", "QuestionnaireResponse") in check(qr(ans("zz", B(True))))


def test_item_in_wrong_group():
    assert ("fhirrug-qr-item-wrong-group", "QuestionnaireResponse.item[0]") in check(qr(ans("c", {"valueInteger": 1})))


def test_items_out_of_order():
    assert ("Questionnaire_QR_Item_Order", "QuestionnaireResponse.item[1]") in check(qr({"linkId": "g", "item": [ans("c", {"valueInteger": 1})]}, ans("a", B(False))))


def test_repeated_item_that_does_not_repeat():
    assert ("Questionnaire_QR_Item_OnlyOneI", "QuestionnaireResponse.item[1]") in check(qr(ans("a", B(False)), ans("a", B(False))))


def test_several_answers_where_repeats_false():
    assert ("Questionnaire_QR_Item_OnlyOneA", "QuestionnaireResponse.item[0]") in check(qr(ans("a", B(False), B(True))))


def test_answers_on_group_and_display_items():
    found = check(qr(ans("a", B(True)), ans("b", {"valueString": "x"}), ans("g", {"valueString": "x"}), ans("d", {"valueString": "x"})))
    assert ("Questionnaire_QR_Item_Group", "QuestionnaireResponse.item[2]") in found
    assert ("Questionnaire_QR_Item_Display", "QuestionnaireResponse.item[3]") in found


def test_answer_type_not_matching_item_type():
    assert ("Questionnaire_QR_Item_WrongType", "QuestionnaireResponse.item[0].answer[0].value.ofType(integer)") in check(qr(ans("a", {"valueInteger": 1})))


def test_answer_value_of_wrong_json_type():
    assert ("fhirrug-qr-value", "QuestionnaireResponse.item[0].answer[0].value.ofType(boolean)") in check(qr(ans("a", {"valueBoolean": "yes"})))


def test_coding_outside_answer_option():
    bad = qr(ans("a", B(False)), ans("ch", {"valueCoding": {"system": "http://example.org/cs", "code": "nope"}}))
    assert ("Questionnaire_QR_Item_NoCoding", "QuestionnaireResponse.item[1].answer[0]") in check(bad)
    good = qr(ans("a", B(False)), ans("ch", {"valueCoding": {"system": "http://example.org/cs", "code": "x"}}))
    assert check(good) == set()


def test_coding_outside_package_answer_value_set():
    cs = {"resourceType": "CodeSystem", "url": "http://example.org/cs", "concept": [{"code": "x"}, {"code": "y", "concept": [{"code": "y1"}]}]}
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs", "version": "1", "compose": {"include": [{"system": "http://example.org/cs"}], "exclude": [{"system": "http://example.org/cs", "concept": [{"code": "y"}]}]}}
    quest = q(item("v", "choice", answerValueSet="http://example.org/vs|1"))
    valuesets = expand_valuesets([cs, vs])
    assert valuesets["http://example.org/vs"] == {("http://example.org/cs", "x"), ("http://example.org/cs", "y1")}
    bad = fhirrug.evaluate(quest, qr(ans("v", {"valueCoding": {"system": "http://example.org/cs", "code": "y"}})), valuesets=valuesets)
    assert ("Questionnaire_QR_Item_BadOption", "QuestionnaireResponse.item[0].answer[0].value.ofType(Coding)") in codes(bad)
    good = fhirrug.evaluate(quest, qr(ans("v", {"valueCoding": {"system": "http://example.org/cs", "code": "y1"}})), valuesets=valuesets)
    assert good.valid


def test_answer_value_set_not_in_package_is_information():
    quest = q(item("v", "choice", answerValueSet="http://elsewhere/vs"))
    ev = fhirrug.evaluate(quest, qr(ans("v", {"valueCoding": {"system": "s", "code": "c"}})), valuesets={})
    assert [(i.code, i.severity) for i in ev.issues] == [("fhirrug-qr-valueset-unknown", "information")]


def test_text_differing_from_questionnaire_is_warning():
    ev = fhirrug.evaluate(QUEST, qr(ans("a", B(False), text="Andere tekst")))
    assert [(i.code, i.severity, i.expression) for i in ev.issues] == [("Questionnaire_QR_Item_Text", "warning", "QuestionnaireResponse.item[0].text")]


def test_qrs_1_answer_and_items_at_same_level():
    quest = q(item("b", "boolean", item("n", "string")))
    response = qr({"linkId": "b", "answer": [B(True)], "item": [ans("n", {"valueString": "x"})]})
    found = codes(fhirrug.evaluate(quest, response))
    assert ("qrs-1", "QuestionnaireResponse.item[0]") in found
    assert ("Questionnaire_QR_Item_GroupAnswer", "QuestionnaireResponse.item[0]") in found


def test_not_a_response():
    ev = fhirrug.evaluate(QUEST, {"resourceType": "Patient"})
    assert [(i.code, i.severity) for i in ev.issues] == [("fhirrug-not-a-response", "fatal")] and not ev.valid


def _package(*datas):
    return Package(manifest=None, resources=[Resource(Path(f"r{k}.json"), d) for k, d in enumerate(datas)])


def test_engine_resolves_canonical_with_and_without_version():
    quest = dict(QUEST, version="0.1.0")
    engine = Engine(_package(quest))
    for ref in ("http://example.org/Questionnaire/t", "http://example.org/Questionnaire/t|0.1.0"):
        ev, issues = engine.evaluate(qr(ans("a", B(False)), questionnaire=ref))
        assert ev is not None and ev.valid and ev.questionnaire == "http://example.org/Questionnaire/t|0.1.0"


def test_engine_unknown_questionnaire_is_an_error():
    engine = Engine(_package(QUEST))
    ev, issues = engine.evaluate(qr(questionnaire="http://example.org/Questionnaire/t|9.9"))
    assert ev is None and [(i.code, i.severity, i.expression) for i in issues] == [("Questionnaire_QR_Q_NotFound", "error", "QuestionnaireResponse.questionnaire")]
    ev, issues = engine.evaluate({"resourceType": "QuestionnaireResponse", "status": "completed"})
    assert [i.code for i in issues] == ["Questionnaire_QR_Q_None"]


def test_engine_wrong_resource_type_for_questionnaire():
    engine = Engine(_package({"resourceType": "ValueSet", "url": "http://example.org/vs"}))
    _, issues = engine.evaluate(qr(questionnaire="http://example.org/vs"))
    assert [i.code for i in issues] == ["Questionnaire_QR_Q_WrongType"]


def test_strip_disabled_removes_answers_of_disabled_items():
    response = qr(ans("a", B(False)), ans("b", {"valueString": "x"}), ans("zz", B(True)))
    stripped = strip_disabled(compile(QUEST), response)
    assert [i["linkId"] for i in stripped["item"]] == ["a", "zz"]
    assert [i["linkId"] for i in response["item"]] == ["a", "b", "zz"]  # the input is untouched


def test_plan_is_reused_for_the_same_questionnaire():
    assert compile(QUEST) is compile(QUEST)


def test_outcome_is_a_titled_coded_group_holding_only_display_items():
    coding = {"system": "http://example.org/cs", "code": "9", "display": "Negen"}
    quest = q(
        item("a"),
        item("uitkomst", "group", item("uitkomst.tekst", "display", text="..."), text="Negen", code=[coding], enableWhen=[ew("a", answerBoolean=True)]),
        item("sectie", "group", item("vraag", "string"), text="Sectie", code=[{"system": "http://example.org/cs", "code": "10"}]),
        item("verwijzing", "group", item("verwijzing.tekst", "display", text="zie antwoord 11"), code=[{"system": "http://example.org/cs", "code": "11"}]),
    )
    assert fhirrug.evaluate(quest, qr(ans("a", B(True)))).outcomes == [coding]
    assert fhirrug.evaluate(quest, qr(ans("a", B(False)))).outcomes == []


def test_required_item_under_absent_group_is_not_missing():
    quest = q(item("g", "group", item("in", "string", required=True)), item("top", "string", required=True))
    found = codes(fhirrug.evaluate(quest, qr(ans("top", {"valueString": "x"}))))
    assert found == set()
    found = codes(fhirrug.evaluate(quest, qr({"linkId": "g", "item": [{"linkId": "in"}]}, ans("top", {"valueString": "x"}))))
    assert ("Questionnaire_QR_Item_Missing", "QuestionnaireResponse.item[0].item[0]") in found


def test_answer_not_in_non_coding_options():
    quest = q(item("i", "integer", answerOption=[{"valueInteger": 1}, {"valueInteger": 2}]))
    assert ("Questionnaire_QR_Item_NotInOptions", "QuestionnaireResponse.item[0].answer[0].value.ofType(integer)") in codes(fhirrug.evaluate(quest, qr(ans("i", {"valueInteger": 3}))))
    assert fhirrug.evaluate(quest, qr(ans("i", {"valueInteger": 2}))).valid
