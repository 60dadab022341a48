"""The fill page: a Questionnaire answered one answer at a time, every decision by the engine.

The page is a pure function of the answers given so far, carried in the URL: each answer button
is a submit button of a GET form whose hidden fields hold the earlier answers, so reload, back and
a shared link all show the same page, and the server keeps no state. After each answer the server
builds the QuestionnaireResponse, asks `fhirrug.engine` (through `adapter`) which items are
enabled and which outcomes are reached, drops the answers of items that are no longer enabled
(what a server stores) and renders exactly the enabled items.

Answer values in the URL (`a:<linkId>=<value>`): `true`/`false` for boolean items,
`<system>|<code>` for Codings, the text itself for the other types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode

from .views import ItemView, OutcomeView, QuestionnaireView, SiteContent

PREFIX = "a:"
SINGLE_CLICK = ("boolean",)  # and choice items that do not repeat
VALUE_KEYS = {
    "boolean": "valueBoolean", "decimal": "valueDecimal", "integer": "valueInteger", "date": "valueDate",
    "dateTime": "valueDateTime", "time": "valueTime", "string": "valueString", "text": "valueString",
    "url": "valueUri", "choice": "valueCoding", "open-choice": "valueCoding",
}
SUPPORTED = frozenset(VALUE_KEYS)


def encode(answer: dict) -> str | None:
    """How the fill page names one answer of a response (None: a value type it does not offer)."""
    for key, value in answer.items():
        if key == "valueBoolean" and isinstance(value, bool):
            return "true" if value else "false"
        if key == "valueCoding" and isinstance(value, dict):
            return f"{value.get('system') or ''}|{value.get('code') or ''}"
        if key in ("valueString", "valueDate", "valueDateTime", "valueTime", "valueUri") and isinstance(value, str):
            return value
        if key in ("valueInteger", "valueDecimal") and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    return None


def decode(item: ItemView, value: str) -> dict | None:
    """The response answer for a value from the URL, or None when it is no answer to this item."""
    value = value.strip()
    if not value:
        return None
    key = VALUE_KEYS.get(item.type)
    if key is None:
        return None
    if item.type == "boolean":
        return {"valueBoolean": True} if value == "true" else {"valueBoolean": False} if value == "false" else None
    if item.type in ("choice", "open-choice"):
        for option in item.options:
            if option.value == value:
                coding = {"system": option.system, "code": option.code} if option.system else {"code": option.code}
                if option.display.first:
                    coding["display"] = option.display.first
                return {"valueCoding": coding}
        return {"valueString": value} if item.type == "open-choice" and "|" not in value else None
    if item.type == "integer":
        try:
            return {"valueInteger": int(value)}
        except ValueError:
            return None
    if item.type == "decimal":
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return {"valueDecimal": float(number)} if number.is_finite() else None
    return {key: value}


def parse_state(query: str) -> tuple[dict[str, list[str]], bool]:
    """(linkId -> answer values, whether the query changed something: a `set` button or a save)."""
    answers: dict[str, list[str]] = {}
    sets: list[tuple[str, str]] = []
    changed = False
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name.startswith(PREFIX):
            answers.setdefault(name[len(PREFIX):], []).append(value)
        elif name == "set" and "=" in value:
            link_id, _, chosen = value.partition("=")
            sets.append((link_id, chosen))
            changed = True
        elif name in ("save", "clear"):
            changed = True
            if name == "clear":
                answers.pop(value, None)
    for link_id, chosen in sets:  # a button press replaces the hidden field's earlier answer
        answers[link_id] = [chosen]
    return answers, changed


def state_query(answers: dict[str, list[str]], order: list[str]) -> str:
    """The canonical query of a state: answers in questionnaire order."""
    pairs = [(PREFIX + link_id, value) for link_id in order if link_id in answers for value in answers[link_id]]
    return urlencode(pairs)


@dataclass
class FillState:
    questionnaire: QuestionnaireView
    answers: dict[str, list[dict]]  # linkId -> the response answers of enabled items
    values: dict[str, list[str]]  # the same, as URL values
    enabled: set[str]
    outcomes: list[OutcomeView | None]
    outcome_refs: list
    valid: bool
    issues: list
    response: dict
    next_item: str | None  # the first enabled question without an answer
    query: str  # the canonical query of this state


def fill(content: SiteContent, q: QuestionnaireView, query: str) -> FillState:
    raw, _ = parse_state(query)
    answers: dict[str, list[dict]] = {}
    for link_id, values in raw.items():
        item = q.by_link_id.get(link_id)
        if item is None:
            continue
        decoded = [d for d in (decode(item, v) for v in values) if d is not None]
        if decoded:
            answers[link_id] = decoded if item.repeats else decoded[:1]
    response = build_response(q, answers, "completed")
    result = q.logic.evaluate(response)
    if not result.valid:  # not finished yet: required questions unanswered is no error then
        response = build_response(q, answers, "in-progress")
        result = q.logic.evaluate(response)
    kept = {link_id: a for link_id, a in answers.items() if link_id in result.enabled}
    if kept != answers:
        response = build_response(q, kept, response["status"])
        result = q.logic.evaluate(response)
    order = list(q.by_link_id)
    values = {link_id: [v for v in (encode(a) for a in kept[link_id]) if v is not None] for link_id in kept}
    next_item = next(
        (link_id for link_id in order if link_id in result.enabled and link_id not in kept and q.by_link_id[link_id].type in SUPPORTED),
        None,
    )
    refs = [content.outcome_ref(o) for o in result.outcomes]
    return FillState(
        q, kept, values, result.enabled, [content.outcome_view(r.system, r.code) for r in refs], refs, result.valid,
        result.issues, result.response, next_item, state_query(values, order),
    )


def build_response(q: QuestionnaireView, answers: dict[str, list[dict]], status: str) -> dict:
    """A QuestionnaireResponse holding `answers`, nested as the Questionnaire nests its items."""

    def items(views: list[ItemView]) -> list[dict]:
        out = []
        for view in views:
            inner = items(view.children)
            if view.type == "group":
                if inner:
                    out.append({"linkId": view.link_id, "item": inner})
                continue
            given = answers.get(view.link_id)
            if given:
                answer = [dict(a) for a in given]
                if inner:
                    answer[0]["item"] = inner  # questions under a question sit under its answer
                entry = {"linkId": view.link_id}
                if view.text:
                    entry["text"] = view.text.first
                entry["answer"] = answer
                out.append(entry)
        return out

    resource = q.resource
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": q.logic.canonical,
        "status": status,
    }
    if isinstance(resource.get("language"), str):
        response = {"resourceType": "QuestionnaireResponse", "language": resource["language"], "questionnaire": q.logic.canonical, "status": status}
    tree = items(q.items)
    if tree:
        response["item"] = tree
    return response


def response_json(state: FillState) -> str:
    return json.dumps(state.response, ensure_ascii=False, indent=2) + "\n"
