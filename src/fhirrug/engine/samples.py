"""Random QuestionnaireResponses to a compiled Questionnaire: ordinary ones, as a form would
produce them, for benchmarks, property tests and fuzzing (one generator for all of them).

    rnd = random.Random(seed)
    response = random_response(plan, rnd)                 # a dict, as json.loads returns it

Answers are drawn per item type (boolean, Coding from the answerOptions, integer, decimal,
string); groups are present when they hold an answered item. `strip_rate` of the responses get
the answers of disabled items removed (what a form sends); the others keep them, so that some
answer disabled items.
"""

from __future__ import annotations

import random
from typing import Any

from .run import strip_disabled

STATUSES = ("completed", "completed", "in-progress", "amended")


def random_answer(node: Any, rnd: random.Random, true_rate: float = 0.3) -> dict | None:
    """One well-typed answer for a plan node, or None for types this generator leaves out."""
    if node.type == "boolean":
        return {"valueBoolean": rnd.random() < true_rate}
    if node.type in ("choice", "open-choice") and node.options:
        system, code = rnd.choice(sorted(node.options, key=str))
        return {"valueCoding": {"system": system, "code": code}}
    if node.type == "integer":
        return {"valueInteger": rnd.randint(0, 10)}
    if node.type == "decimal":
        return {"valueDecimal": rnd.choice([0.5, 2.5, 7.0])}
    if node.type in ("string", "text"):
        return {"valueString": rnd.choice(["a", "b", "tekst"])}
    return None


def random_response(
    plan: Any,
    rnd: random.Random,
    *,
    answer_rate: float = 0.85,
    true_rate: float = 0.3,
    empty_group_rate: float = 0.1,
    strip_rate: float = 0.7,
    statuses: tuple[str, ...] = STATUSES,
    response_id: str = "r",
) -> dict:
    """A response with random answers in questionnaire order (see the module docstring)."""

    def items_for(nodes):
        out = []
        for node in nodes:
            if node.type == "group":
                children = items_for(node.children)
                if children:
                    out.append({"linkId": node.linkId, "item": children})
                elif empty_group_rate and rnd.random() < empty_group_rate:
                    out.append({"linkId": node.linkId})
            elif node.type != "display" and rnd.random() < answer_rate:
                answer = random_answer(node, rnd, true_rate)
                if answer is not None:
                    out.append({"linkId": node.linkId, "answer": [answer]})
        return out

    response = {"resourceType": "QuestionnaireResponse", "id": response_id, "questionnaire": plan.canonical,
                "status": rnd.choice(statuses), "item": items_for(plan.top)}
    if strip_rate and rnd.random() < strip_rate:
        response = strip_disabled(plan, response)
    return response
