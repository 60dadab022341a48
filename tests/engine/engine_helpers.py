"""Helpers to build small Questionnaires and responses inline."""

from __future__ import annotations


def q(*items, url="http://example.org/Questionnaire/t"):
    return {"resourceType": "Questionnaire", "id": "t", "url": url, "status": "draft", "item": list(items)}


def qr(*items, status="completed", questionnaire="http://example.org/Questionnaire/t"):
    return {"resourceType": "QuestionnaireResponse", "id": "r", "questionnaire": questionnaire, "status": status, "item": list(items)}


def item(link_id, kind="boolean", *children, **extra):
    out = {"linkId": link_id, "type": kind}
    out.update(extra)
    if children:
        out["item"] = list(children)
    return out


def ew(question, operator="=", **answer):
    return {"question": question, "operator": operator, **answer}


def ans(link_id, *values, **extra):
    out = {"linkId": link_id, "answer": [dict(v) for v in values]}
    out.update(extra)
    return out


def codes(evaluation):
    return {(i.code, i.expression) for i in evaluation.issues}
