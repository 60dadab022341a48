"""Responses from the wild: none of these may raise; each gives an issue."""

from __future__ import annotations

import fhirrug
from fhirrug.engine import compile

from engine_helpers import ans, ew, item, q, qr

QUEST = q(item("a"), item("b", "string", enableWhen=[ew("a", answerBoolean=True)]))


def _codes(ev):
    return {i.code for i in ev.issues}


def test_ten_thousand_answers_on_one_item():
    ev = fhirrug.evaluate(QUEST, qr(ans("a", *[{"valueBoolean": True}] * 10_000)))
    assert "Questionnaire_QR_Item_OnlyOneA" in _codes(ev)
    assert ev.is_enabled("b")


def test_wrong_types_everywhere():
    for response in (
        qr({"linkId": 5, "answer": "yes"}),
        qr({"linkId": "a", "answer": [None, 3, {"valueBoolean": "true"}]}),
        qr("not an item"),
        {"resourceType": "QuestionnaireResponse", "item": {"linkId": "a"}},
        {"resourceType": "QuestionnaireResponse", "item": [{"linkId": "a", "item": "x"}]},
        [],
        None,
    ):
        ev = fhirrug.evaluate(QUEST, response)
        assert ev.issues and not ev.valid


def test_unknown_linkids():
    ev = fhirrug.evaluate(QUEST, qr(ans("zz", {"valueBoolean": True}), {"linkId": "yy", "item": [ans("a", {"valueBoolean": True})]}))
    assert _codes(ev) == {"Questionnaire_QR_Item_NotFound"}


def test_deeply_nested_response_items():
    deep = {"linkId": "a", "answer": [{"valueBoolean": True}]}
    for _ in range(5000):
        deep = {"linkId": "g", "item": [deep]}
    nested = q(item("g", "group", item("g", "group"), repeats=True))
    for questionnaire in (QUEST, nested):
        ev = fhirrug.evaluate(questionnaire, qr(deep))
        assert ev.issues


def test_deeply_nested_questionnaire():
    node = item("leaf")
    for k in range(3000):
        node = item(f"g{k}", "group", node)
    plan = compile(q(node))
    plan.evaluate(qr())
    assert plan.issues or plan.nodes


def test_garbage_questionnaire():
    for questionnaire in ({}, {"resourceType": "Questionnaire", "item": "x"}, {"resourceType": "Questionnaire", "item": [{"linkId": "a", "enableWhen": [{"question": "a"}]}, 5]}):
        plan = compile(questionnaire)
        assert plan.issues
        plan.evaluate(qr(ans("a", {"valueBoolean": True})))
