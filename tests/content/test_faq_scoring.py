"""fhirrug.scoring: summing the ordinalValue / itemWeight of chosen answer options."""

from __future__ import annotations

from decimal import Decimal

from fhirrug.scoring import score_response, weight

ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"


def option(code: str, value, url: str = ORDINAL, on_coding: bool = False) -> dict:
    extension = [{"url": url, "valueDecimal": value}]
    coding = {"system": "urn:s", "code": code}
    if on_coding:
        return {"valueCoding": {**coding, "extension": extension}}
    return {"extension": extension, "valueCoding": coding}


QUESTIONNAIRE = {
    "resourceType": "Questionnaire",
    "item": [
        {"linkId": "a", "type": "choice", "answerOption": [option("x", 0), option("y", 2)]},
        {"linkId": "g", "type": "group", "item": [
            {"linkId": "b", "type": "choice", "repeats": True, "answerOption": [option("x", 1, ITEM_WEIGHT), option("y", 1.5, on_coding=True), option("z", -1)]},
        ]},
        {"linkId": "c", "type": "choice", "answerOption": [{"valueCoding": {"system": "urn:s", "code": "x"}}]},
    ],
}


def qr(*items) -> dict:
    return {"resourceType": "QuestionnaireResponse", "item": list(items)}


def answered(link_id, *codes, system="urn:s") -> dict:
    return {"linkId": link_id, "answer": [{"valueCoding": {"system": system, "code": c}} for c in codes]}


def test_sums_chosen_weights_across_groups_and_repeats():
    score = score_response(QUESTIONNAIRE, qr(answered("a", "y"), {"linkId": "g", "item": [answered("b", "x", "y", "z")]}))
    assert score.total == Decimal("3.5")
    assert score.items == {"a": Decimal(2), "b": Decimal("1.5")}


def test_maximum_takes_best_option_or_all_positive_when_repeating():
    assert score_response(QUESTIONNAIRE, qr()).maximum == Decimal("4.5")  # a: 2, b: 1 + 1.5


def test_unweighted_items_other_systems_and_unknown_links_score_nothing():
    score = score_response(QUESTIONNAIRE, qr(answered("c", "x"), answered("a", "y", system="urn:other"), answered("nope", "y")))
    assert score.total == 0 and score.items == {}


def test_only_enabled_items_count():
    score = score_response(QUESTIONNAIRE, qr(answered("a", "y"), {"linkId": "g", "item": [answered("b", "x")]}), enabled=["b"])
    assert (score.total, score.maximum) == (Decimal(1), Decimal("2.5"))


def test_malformed_input_never_raises():
    assert weight({"extension": [{"url": ORDINAL, "valueDecimal": "3"}]}) is None
    assert weight({"extension": [{"url": ORDINAL, "valueBoolean": True}]}) is None
    assert score_response({"item": "x"}, {"item": [None, {"linkId": "a", "answer": "y"}]}).total == 0
    assert score_response(QUESTIONNAIRE, None).total == 0
