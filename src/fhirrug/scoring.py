"""Scoring a QuestionnaireResponse by the weights its Questionnaire gives its answer options.

A Questionnaire records how much each answer is worth with a standard extension on
`item.answerOption` (or on the option's `valueCoding`):

- http://hl7.org/fhir/StructureDefinition/ordinalValue (R4 core: "a numeric value that allows
  ... adding up components of a score"; context Coding and Questionnaire.item.answerOption);
- http://hl7.org/fhir/StructureDefinition/itemWeight (its successor in R5 and SDC 3.0).

The ischias FAQ's self-check gives the correct answer to each statement weight 1 and the wrong
one weight 0, so the score is the number of statements answered correctly.

`score_response` sums the weights of the chosen options, item by item; items the response does
not answer score nothing; `maximum` is what a respondent answering every scored item with its
best options would get (for an item that repeats, the sum of its positive weights). Pass the
linkIds that are enabled (e.g. `fhirrug.evaluate(q, qr).enabled`) to count only those.
Plain parsed JSON in; never raises for bad input (malformed weights and answers are skipped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Iterator

WEIGHT_EXTENSIONS = (
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
)


@dataclass(frozen=True)
class Score:
    total: Decimal
    maximum: Decimal
    items: dict[str, Decimal] = field(default_factory=dict)  # linkId -> score of that item (scored items answered)

    @property
    def answered(self) -> int:
        return len(self.items)


def weight(element: Any) -> Decimal | None:
    """The ordinalValue/itemWeight of an answerOption or Coding, or None."""
    if not isinstance(element, dict):
        return None
    for extension in element.get("extension", []) if isinstance(element.get("extension"), list) else []:
        if isinstance(extension, dict) and extension.get("url") in WEIGHT_EXTENSIONS:
            value = extension.get("valueDecimal", extension.get("valueInteger"))
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                try:
                    return Decimal(str(value))
                except InvalidOperation:
                    return None
    return None


def option_weights(item: dict) -> list[tuple[dict, Decimal]]:
    """(valueCoding, weight) for each weighted Coding answerOption of a Questionnaire item."""
    found = []
    for option in item.get("answerOption", []) if isinstance(item.get("answerOption"), list) else []:
        if not isinstance(option, dict) or not isinstance(option.get("valueCoding"), dict):
            continue
        w = weight(option)
        if w is None:
            w = weight(option["valueCoding"])
        if w is not None:
            found.append((option["valueCoding"], w))
    return found


def _items(items: Any) -> Iterator[dict]:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            yield item
            yield from _items(item.get("item"))
            for answer in item.get("answer", []) if isinstance(item.get("answer"), list) else []:
                if isinstance(answer, dict):
                    yield from _items(answer.get("item"))


def _same(a: dict, b: dict) -> bool:
    return a.get("code") == b.get("code") and (not a.get("system") or not b.get("system") or a.get("system") == b.get("system"))


def score_response(questionnaire: dict, response: dict, enabled: Iterable[str] | None = None) -> Score:
    """Sum the weights of the answers in `response` (see the module docstring)."""
    only = set(enabled) if enabled is not None else None
    scored = {}
    for item in _items(questionnaire.get("item")):
        link_id = item.get("linkId")
        weights = option_weights(item)
        if isinstance(link_id, str) and weights and (only is None or link_id in only):
            scored[link_id] = (item, weights)
    maximum = Decimal(0)
    for item, weights in scored.values():
        values = [w for _, w in weights]
        maximum += sum((w for w in values if w > 0), Decimal(0)) if item.get("repeats") is True else max(values)
    per_item: dict[str, Decimal] = {}
    for answered in _items(response.get("item") if isinstance(response, dict) else None):
        link_id = answered.get("linkId")
        if link_id not in scored:
            continue
        _, weights = scored[link_id]
        for answer in answered.get("answer", []) if isinstance(answered.get("answer"), list) else []:
            coding = answer.get("valueCoding") if isinstance(answer, dict) else None
            if not isinstance(coding, dict):
                continue
            for option, w in weights:
                if _same(option, coding):
                    per_item[link_id] = per_item.get(link_id, Decimal(0)) + w
                    break
    return Score(sum(per_item.values(), Decimal(0)), maximum, per_item)
