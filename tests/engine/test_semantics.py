"""One test per point of docs/enablewhen-semantics.md. Expected values come from the
semantics document and the FHIR specification, never from the engine's output."""

from __future__ import annotations

import pytest

import fhirrug
from fhirrug.engine import compile

from engine_helpers import ans, codes, ew, item, q, qr

B = lambda v: {"valueBoolean": v}  # noqa: E731


def enabled(questionnaire, response, link_id, position=()):
    return fhirrug.evaluate(questionnaire, response).is_enabled(link_id, position)


# -- operators ---------------------------------------------------------------------------------


def test_operator_exists_true_needs_an_answer():
    quest = q(item("a"), item("b", enableWhen=[ew("a", "exists", answerBoolean=True)]))
    assert enabled(quest, qr(ans("a", B(False))), "b")
    assert not enabled(quest, qr(), "b")


def test_operator_exists_false_is_true_without_answers():
    quest = q(item("a"), item("b", enableWhen=[ew("a", "exists", answerBoolean=False)]))
    assert enabled(quest, qr(), "b")
    assert not enabled(quest, qr(ans("a", B(True))), "b")


def test_operator_equals_false_without_answers():
    quest = q(item("a"), item("b", enableWhen=[ew("a", "=", answerBoolean=True)]))
    assert not enabled(quest, qr(), "b")
    assert enabled(quest, qr(ans("a", B(True))), "b")
    assert not enabled(quest, qr(ans("a", B(False))), "b")


def test_operator_not_equals_true_without_answers():
    quest = q(item("a"), item("b", enableWhen=[ew("a", "!=", answerBoolean=True)]))
    assert enabled(quest, qr(), "b")  # Java and Medplum: false; the definition: true
    assert enabled(quest, qr(ans("a", B(False))), "b")
    assert not enabled(quest, qr(ans("a", B(True))), "b")


def test_operator_not_equals_means_no_answer_equals():
    quest = q(
        item("a", "choice", repeats=True, answerOption=[{"valueCoding": {"system": "s", "code": c}} for c in "xy"]),
        item("b", enableWhen=[ew("a", "!=", answerCoding={"system": "s", "code": "x"})]),
    )
    both = qr(ans("a", {"valueCoding": {"system": "s", "code": "x"}}, {"valueCoding": {"system": "s", "code": "y"}}))
    assert not enabled(quest, both, "b")


@pytest.mark.parametrize(
    "operator,threshold,answer,expected",
    [(">", 5, 6, True), (">", 5, 5, False), ("<", 5, 4, True), ("<", 5, 5, False), (">=", 5, 5, True), ("<=", 5, 5, True), ("<=", 5, 6, False)],
)
def test_operator_ordering_at_least_one_answer(operator, threshold, answer, expected):
    quest = q(item("a", "integer"), item("b", enableWhen=[ew("a", operator, answerInteger=threshold)]))
    assert enabled(quest, qr(ans("a", {"valueInteger": answer})), "b") is expected
    assert not enabled(quest, qr(), "b")


def test_operator_exists_requires_answer_boolean_que_7():
    quest = q(item("a", "integer"), item("b", enableWhen=[ew("a", "exists", answerInteger=1)]))
    assert ("que-7", "Questionnaire.item[1].enableWhen[0]") in {(i.code, i.expression) for i in compile(quest).issues}


@pytest.mark.parametrize("key,value", [("answerBoolean", True), ("answerCoding", {"system": "s", "code": "x"})])
def test_operator_ordering_on_unordered_type_is_a_questionnaire_error(key, value):
    kind = "boolean" if key == "answerBoolean" else "choice"
    quest = q(item("a", kind), item("b", enableWhen=[ew("a", ">", **{key: value})]))
    assert ("fhirrug-enablewhen-operator-type", "Questionnaire.item[1].enableWhen[0].operator") in {(i.code, i.expression) for i in compile(quest).issues}


# -- combining ---------------------------------------------------------------------------------


def _two(behavior):
    extra = {"enableBehavior": behavior} if behavior else {}
    return q(item("a"), item("c"), item("b", enableWhen=[ew("a", answerBoolean=True), ew("c", answerBoolean=True)], **extra))


def test_enable_behavior_all_needs_every_condition():
    assert not enabled(_two("all"), qr(ans("a", B(True)), ans("c", B(False))), "b")
    assert enabled(_two("all"), qr(ans("a", B(True)), ans("c", B(True))), "b")


def test_enable_behavior_any_needs_one_condition():
    assert enabled(_two("any"), qr(ans("a", B(True)), ans("c", B(False))), "b")
    assert not enabled(_two("any"), qr(ans("a", B(False)), ans("c", B(False))), "b")


def test_missing_enable_behavior_que_12_evaluated_as_all_with_error():
    # que-12 is an error, as `fhirrug validate` reports it (issue 17: one severity per problem;
    # until 0.2 the engine said warning).
    quest = _two(None)
    issues = {(i.code, i.severity, i.expression) for i in compile(quest).issues}
    assert ("que-12", "error", "Questionnaire.item[2]") in issues
    assert not enabled(quest, qr(ans("a", B(True)), ans("c", B(False))), "b")
    assert enabled(quest, qr(ans("a", B(True)), ans("c", B(True))), "b")


# -- which answers a condition sees ---------------------------------------------------------------


def _repeating():
    return q(
        item("pre"),
        item(
            "grp", "group",
            item("x"),
            item("y", "string", enableWhen=[ew("x", answerBoolean=True)]),
            repeats=True,
        ),
    )


def test_repeated_linkid_uses_the_same_repetition():
    quest = _repeating()
    response = qr(
        {"linkId": "grp", "item": [ans("x", B(True)), ans("y", {"valueString": "one"})]},
        {"linkId": "grp", "item": [ans("x", B(False))]},
    )
    ev = fhirrug.evaluate(quest, response)
    assert ev.is_enabled("y", (0,))
    assert not ev.is_enabled("y", (1,))
    assert ev.valid


def test_repeated_linkid_answer_in_wrong_repetition_is_not_enabled():
    quest = _repeating()
    response = qr(
        {"linkId": "grp", "item": [ans("x", B(True))]},
        {"linkId": "grp", "item": [ans("x", B(False)), ans("y", {"valueString": "two"})]},
    )
    assert ("Questionnaire_QR_Item_NotEnabled", "QuestionnaireResponse.item[1].item[1]") in codes(fhirrug.evaluate(quest, response))


def test_repeated_linkid_outside_group_sees_nearest_preceding_repetition():
    quest = q(
        item("grp", "group", item("x"), repeats=True),
        item("after", enableWhen=[ew("x", answerBoolean=True)]),
    )
    last_true = qr({"linkId": "grp", "item": [ans("x", B(False))]}, {"linkId": "grp", "item": [ans("x", B(True))]})
    last_false = qr({"linkId": "grp", "item": [ans("x", B(True))]}, {"linkId": "grp", "item": [ans("x", B(False))]})
    assert enabled(quest, last_true, "after")
    assert not enabled(quest, last_false, "after")


def test_repeated_linkid_inside_group_refers_to_ancestor_axis_first():
    quest = q(
        item("pre"),
        item("grp", "group", item("x"), item("inner", "group", item("z", "string", enableWhen=[ew("x", answerBoolean=True)])), repeats=True),
    )
    response = qr(
        {"linkId": "grp", "item": [ans("x", B(False))]},
        {"linkId": "grp", "item": [ans("x", B(True)), {"linkId": "inner", "item": [ans("z", {"valueString": "ok"})]}]},
    )
    ev = fhirrug.evaluate(quest, response)
    assert ev.is_enabled("z", (1,)) and not ev.is_enabled("z", (0,))
    assert ev.valid


def test_disabled_item_answer_does_not_count():
    quest = q(
        item("a"),
        item("b", enableWhen=[ew("a", answerBoolean=True)]),
        item("c", enableWhen=[ew("b", answerBoolean=True)]),
    )
    # b is disabled (a is false) but answered anyway: c must not see b's answer.
    ev = fhirrug.evaluate(quest, qr(ans("a", B(False)), ans("b", B(True))))
    assert not ev.is_enabled("c")
    assert ("Questionnaire_QR_Item_NotEnabled", "QuestionnaireResponse.item[1]") in codes(ev)


def test_disabled_item_answer_does_not_count_for_not_equals():
    quest = q(
        item("a"),
        item("b", enableWhen=[ew("a", answerBoolean=True)]),
        item("c", enableWhen=[ew("b", "!=", answerBoolean=True)]),
    )
    assert enabled(quest, qr(ans("a", B(False)), ans("b", B(True))), "c")


def test_descendants_of_disabled_items_are_disabled():
    quest = q(
        item("a"),
        item("grp", "group", item("inside"), item("deeper", "group", item("leaf")), enableWhen=[ew("a", answerBoolean=True)]),
    )
    ev = fhirrug.evaluate(quest, qr(ans("a", B(False))))
    assert ev.enabled == ["a"]


def test_descendants_of_disabled_items_nested_under_answer_are_disabled():
    quest = q(
        item("a"),
        item("b", "boolean", item("nested", "string"), enableWhen=[ew("a", answerBoolean=True)]),
    )
    response = qr(ans("a", B(False)), {"linkId": "b", "answer": [{"valueBoolean": True, "item": [ans("nested", {"valueString": "x"})]}]})
    ev = fhirrug.evaluate(quest, response)
    assert not ev.is_enabled("nested")
    assert ("Questionnaire_QR_Item_NotEnabled", "QuestionnaireResponse.item[1].answer[0].item[0]") in codes(ev)


def test_items_nested_under_answer_see_their_parent_answer():
    quest = q(item("b", "boolean", item("nested", "string", enableWhen=[ew("b", answerBoolean=True)])))
    response = qr({"linkId": "b", "answer": [{"valueBoolean": True, "item": [ans("nested", {"valueString": "x"})]}]})
    ev = fhirrug.evaluate(quest, response)
    assert ev.is_enabled("nested") and ev.valid


def test_forward_reference_is_a_warning_and_evaluates():
    quest = q(item("b", enableWhen=[ew("a", answerBoolean=True)]), item("a"))
    assert ("Questionnaire_Q_EnableWhen_After", "warning", "Questionnaire.item[0]") in {(i.code, i.severity, i.expression) for i in compile(quest).issues}
    assert enabled(quest, qr(ans("b", B(True)), ans("a", B(True))), "b")
    assert not enabled(quest, qr(ans("a", B(False))), "b")


def test_cycle_is_a_questionnaire_error_and_terminates():
    quest = q(item("a", enableWhen=[ew("b", answerBoolean=True)]), item("b", enableWhen=[ew("a", answerBoolean=True)]))
    plan = compile(quest)
    assert any(i.code == "fhirrug-enablewhen-cycle" and i.severity == "error" for i in plan.issues)
    fhirrug.evaluate(quest, qr(ans("a", B(True)), ans("b", B(True))))  # terminates


def test_cycle_in_repeating_group_terminates():
    quest = q(item("g", "group", item("a", enableWhen=[ew("b", answerBoolean=True)]), item("b", enableWhen=[ew("a", answerBoolean=True)]), repeats=True))
    fhirrug.evaluate(quest, qr({"linkId": "g", "item": [ans("a", B(True)), ans("b", B(True))]}))


def test_reference_to_itself_is_an_error():
    quest = q(item("a", enableWhen=[ew("a", answerBoolean=True)]))
    assert ("Questionnaire_Q_EnableWhen_Self", "Questionnaire.item[0].enableWhen[0].question") in {(i.code, i.expression) for i in compile(quest).issues}


def test_reference_to_own_descendant_is_an_error():
    quest = q(item("g", "group", item("inner"), enableWhen=[ew("inner", answerBoolean=True)]))
    assert ("Questionnaire_Q_EnableWhen_IsInner", "Questionnaire.item[0]") in {(i.code, i.expression) for i in compile(quest).issues}


def test_unknown_question_is_an_error_and_sees_no_answer():
    quest = q(item("b", enableWhen=[ew("nope", "!=", answerBoolean=True)]))
    assert ("Questionnaire_Q_EnableWhen_NoTarget", "Questionnaire.item[0].enableWhen[0].question") in {(i.code, i.expression) for i in compile(quest).issues}
    assert enabled(quest, qr(), "b")


# -- comparing values -----------------------------------------------------------------------------


def test_compare_integer_and_decimal_numerically():
    quest = q(item("a", "decimal"), item("b", enableWhen=[ew("a", "=", answerInteger=1)]))
    assert enabled(quest, qr(ans("a", {"valueDecimal": 1.0})), "b")
    quest = q(item("a", "integer"), item("b", enableWhen=[ew("a", ">", answerDecimal=1.5)]))
    assert enabled(quest, qr(ans("a", {"valueInteger": 2})), "b")
    assert not enabled(quest, qr(ans("a", {"valueInteger": 1})), "b")


def test_compare_coding_system_and_code():
    opts = [{"valueCoding": {"system": s, "code": "x"}} for s in ("s1", "s2")]
    quest = q(item("a", "choice", answerOption=opts), item("b", enableWhen=[ew("a", answerCoding={"system": "s1", "code": "x", "display": "ignored"})]))
    assert enabled(quest, qr(ans("a", {"valueCoding": {"system": "s1", "code": "x", "display": "other", "userSelected": True}})), "b")
    assert not enabled(quest, qr(ans("a", {"valueCoding": {"system": "s2", "code": "x"}})), "b")


def test_compare_coding_without_system_compares_code_only():
    opts = [{"valueCoding": {"system": s, "code": "x"}} for s in ("s1", "s2")]
    quest = q(item("a", "choice", answerOption=opts), item("b", enableWhen=[ew("a", answerCoding={"code": "x"})]))
    assert enabled(quest, qr(ans("a", {"valueCoding": {"system": "s2", "code": "x"}})), "b")


def test_compare_string_exact_and_by_code_point():
    quest = q(item("a", "string"), item("b", enableWhen=[ew("a", answerString="Rug")]))
    assert enabled(quest, qr(ans("a", {"valueString": "Rug"})), "b")
    assert not enabled(quest, qr(ans("a", {"valueString": "rug"})), "b")
    quest = q(item("a", "string"), item("b", enableWhen=[ew("a", "<", answerString="a")]))
    assert enabled(quest, qr(ans("a", {"valueString": "Z"})), "b")  # 'Z' (U+005A) < 'a' (U+0061)


def test_compare_dates_at_same_precision():
    quest = q(item("a", "date"), item("b", enableWhen=[ew("a", ">", answerDate="2020-01-01")]))
    assert enabled(quest, qr(ans("a", {"valueDate": "2020-06-01"})), "b")
    assert not enabled(quest, qr(ans("a", {"valueDate": "2019-06-01"})), "b")


def test_compare_dates_of_different_precision_is_false_with_warning():
    quest = q(item("a", "date"), item("b", enableWhen=[ew("a", ">", answerDate="2020-01-01")]))
    ev = fhirrug.evaluate(quest, qr(ans("a", {"valueDate": "2021"})))
    assert not ev.is_enabled("b")
    assert any(i.code == "fhirrug-enablewhen-indeterminate" and i.severity == "warning" for i in ev.issues)


def test_compare_datetime_instants_across_zones():
    quest = q(item("a", "dateTime"), item("b", enableWhen=[ew("a", "=", answerDateTime="2020-01-01T10:00:00+01:00")]))
    assert enabled(quest, qr(ans("a", {"valueDateTime": "2020-01-01T09:00:00Z"})), "b")


def test_compare_quantity_same_unit():
    quest = q(item("a", "quantity"), item("b", enableWhen=[ew("a", ">", answerQuantity={"value": 5, "system": "http://unitsofmeasure.org", "code": "kg"})]))
    assert enabled(quest, qr(ans("a", {"valueQuantity": {"value": 6, "system": "http://unitsofmeasure.org", "code": "kg"}})), "b")


def test_compare_quantity_other_unit_is_false_with_warning():
    quest = q(item("a", "quantity"), item("b", enableWhen=[ew("a", ">", answerQuantity={"value": 5, "system": "http://unitsofmeasure.org", "code": "kg"})]))
    ev = fhirrug.evaluate(quest, qr(ans("a", {"valueQuantity": {"value": 6000, "system": "http://unitsofmeasure.org", "code": "g"}})))
    assert not ev.is_enabled("b")
    assert any(i.code == "fhirrug-enablewhen-indeterminate" for i in ev.issues)


def test_compare_reference_by_reference_string():
    quest = q(item("a", "reference"), item("b", enableWhen=[ew("a", answerReference={"reference": "Patient/1"})]))
    assert enabled(quest, qr(ans("a", {"valueReference": {"reference": "Patient/1", "display": "x"}})), "b")
    assert not enabled(quest, qr(ans("a", {"valueReference": {"reference": "Patient/2"}})), "b")


def test_answer_of_wrong_type_never_equals_and_is_an_error():
    quest = q(item("a"), item("b", enableWhen=[ew("a", "=", answerBoolean=True)]))
    ev = fhirrug.evaluate(quest, qr(ans("a", {"valueString": "true"})))
    assert not ev.is_enabled("b")
    assert ("Questionnaire_QR_Item_WrongType", "QuestionnaireResponse.item[0].answer[0].value.ofType(string)") in codes(ev)
