"""QuestionnaireResponse invariants (stage 5) that need no Questionnaire: qrs-1 and qrs-2.

Checks against the Questionnaire (enabled items, required answers, answer types) belong to
the enableWhen engine and run as the package rule in `fhirrug.rules.responses`.
"""

from __future__ import annotations

from typing import Iterable

from ..issues import ERROR, WARNING
from .registry import Finding, Rule, rule_decorator
from .walk import dicts, present, response_items, text

RULES: list[Rule] = []
rule = rule_decorator(RULES)

INVARIANTS = "https://hl7.org/fhir/R4/questionnaireresponse.html#invs"
QR = ("QuestionnaireResponse",)


@rule("qrs-1", ERROR, "Nested item can't be beneath both item and answer", INVARIANTS, resource_types=QR)
def qrs_1(response: dict, ctx) -> Iterable[Finding]:
    """A response item has child items either directly (a group) or under its answers (a
    question with nested questions), never both at the same level."""
    for item, path in response_items(response):
        if present(item, "answer") and present(item, "item"):
            yield Finding(path, f"item '{text(item.get('linkId'))}' has both answer and item")


@rule("qrs-2", WARNING, "Repeated answers are combined in the answers array of a single item", INVARIANTS, resource_types=QR)
def qrs_2(response: dict, ctx) -> Iterable[Finding]:
    """Among the items at one level (the response, an item, an answer), the ones that carry
    answers have distinct linkIds: several answers to one question go into that item's
    `answer` array, not into repeated items. A repeating group legitimately repeats its item,
    so only items with answer values count. Reported as a warning: tools disagree on how
    strictly R4 means it, and R5/SDC changed it."""
    containers = [(response, "QuestionnaireResponse")]
    containers += list(response_items(response))
    for item, path in list(containers):
        for index, answer in dicts(item.get("answer")):
            containers.append((answer, f"{path}.answer[{index}]"))
    for node, path in containers:
        seen: set[str] = set()
        for index, child in dicts(node.get("item")):
            link_id = text(child.get("linkId"))
            if link_id is None or not any(_has_value(a) for _, a in dicts(child.get("answer"))):
                continue
            if link_id in seen:
                yield Finding(f"{path}.item[{index}]", f"linkId '{link_id}' is answered in more than one item here; put the answers in one item's answer list")
            seen.add(link_id)


def _has_value(answer: dict) -> bool:
    return any(key.startswith("value") and answer[key] is not None for key in answer)
