"""Contained resources (fhirrug.model.contained): a response's contained Questionnaire and
contained ValueSets (compose or expansion) are used by the engine; docs/enablewhen-semantics.md §11."""

from __future__ import annotations

from fhirrug.engine import Engine
from fhirrug.package import Package

CS = "http://example.org/cs"
QR = "QuestionnaireResponse"


def _response(code: str | None, *, questionnaire: str = "#q", system: str | None = CS) -> dict:
    coding = {"code": code} if system is None else {"system": system, "code": code}
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": questionnaire,
        "contained": [
            {"resourceType": "Questionnaire", "id": "q", "status": "active", "item": [
                {"linkId": "a", "type": "choice", "answerValueSet": "#compose"},
                {"linkId": "b", "type": "choice", "answerValueSet": "#expansion"},
            ]},
            {"resourceType": "ValueSet", "id": "compose", "status": "active", "compose": {"include": [{"system": CS, "concept": [{"code": "ja"}, {"code": "nee"}]}]}},
            {"resourceType": "ValueSet", "id": "expansion", "status": "active", "expansion": {"timestamp": "2024-01-01", "contains": [{"system": CS, "code": "ja"}]}},
        ],
        "item": [{"linkId": "a", "answer": [{"valueCoding": coding}]}, {"linkId": "b", "answer": [{"valueCoding": coding}]}],
    }


def _issues(response: dict) -> set[tuple[str, str]]:
    _, issues = Engine(Package(None, [])).evaluate(response)
    return {(i.code, i.expression) for i in issues}


def test_a_contained_questionnaire_and_contained_valuesets_are_used():
    assert _issues(_response("ja")) == set()
    assert _issues(_response("nee")) == {("Questionnaire_QR_Item_BadOption", f"{QR}.item[1].answer[0].value.ofType(Coding)")}
    assert _issues(_response("misschien")) == {
        ("Questionnaire_QR_Item_BadOption", f"{QR}.item[0].answer[0].value.ofType(Coding)"),
        ("Questionnaire_QR_Item_BadOption", f"{QR}.item[1].answer[0].value.ofType(Coding)"),
    }


def test_a_code_without_system_cannot_be_looked_up_in_a_valueset():
    assert _issues(_response("ja", system=None)) == {
        ("Coding_has_no_system__cannot_validate", f"{QR}.item[0].answer[0]"),
        ("Coding_has_no_system__cannot_validate", f"{QR}.item[1].answer[0]"),
    }


def test_a_missing_contained_questionnaire_is_an_error():
    assert _issues(_response("ja", questionnaire="#elders")) == {("Questionnaire_QR_Q_NotFound", f"{QR}.questionnaire")}
    assert _issues(_response("ja", questionnaire="#compose")) == {("Questionnaire_QR_Q_WrongType", f"{QR}.questionnaire")}
