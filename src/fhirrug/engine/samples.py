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
    repetitions: tuple[int, int] = (1, 1),
) -> dict:
    """A response with random answers in questionnaire order (see the module docstring); a
    repeating group gets between repetitions[0] and repetitions[1] repetitions."""

    def items_for(nodes):
        out = []
        for node in nodes:
            if node.type == "group":
                for _ in range(rnd.randint(*repetitions) if node.scope else 1):
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


def medication_questionnaire() -> dict:
    """A Questionnaire with a repeating group, for benchmarks and tests of repeating groups (ours,
    not from the sources): the medicines a patient takes for the pain, one repetition each, with
    conditions inside the repetition and one on an answer outside it."""
    system = "http://example.org/CodeSystem/medicijn-soort"

    def ew(question, operator="=", **answer):
        return {"question": question, "operator": operator, **answer}

    kinds = [{"valueCoding": {"system": system, "code": code, "display": display}} for code, display in (
        ("paracetamol", "Paracetamol"), ("nsaid", "Ontstekingsremmer (NSAID)"), ("opioid", "Opioïde"), ("anders", "Anders"))]
    medicine = [
        {"linkId": "medicijn.soort", "type": "choice", "text": "Welk soort medicijn?", "required": True, "answerOption": kinds},
        {"linkId": "medicijn.naam", "type": "string", "text": "Welk medicijn?", "enableWhen": [ew("medicijn.soort", answerCoding={"system": system, "code": "anders"})]},
        {"linkId": "medicijn.dosis", "type": "integer", "text": "Hoeveel tabletten per keer?", "required": True},
        {"linkId": "medicijn.per-dag", "type": "integer", "text": "Hoe vaak per dag?", "enableWhen": [ew("medicijn.dosis", "exists", answerBoolean=True)]},
        {"linkId": "medicijn.helpt", "type": "boolean", "text": "Helpt het?"},
        {"linkId": "medicijn.sterker", "type": "boolean", "text": "Wilt u een sterker middel bespreken?", "enableBehavior": "all",
         "enableWhen": [ew("medicijn.helpt", answerBoolean=False), ew("pijn", ">", answerInteger=6)]},
        {"linkId": "medicijn.bijwerking", "type": "boolean", "text": "Hebt u bijwerkingen?"},
        {"linkId": "medicijn.bijwerking.welke", "type": "string", "text": "Welke bijwerkingen?", "required": True, "enableWhen": [ew("medicijn.bijwerking", answerBoolean=True)]},
        {"linkId": "medicijn.maag", "type": "boolean", "text": "Hebt u maagklachten?", "enableBehavior": "any",
         "enableWhen": [ew("medicijn.soort", answerCoding={"system": system, "code": "nsaid"}), ew("medicijn.bijwerking", answerBoolean=True)]},
    ]
    return {
        "resourceType": "Questionnaire", "id": "medicatie", "url": "http://example.org/Questionnaire/medicatie", "status": "draft",
        "item": [
            {"linkId": "pijn", "type": "integer", "text": "Hoe erg is de pijn (0-10)?", "required": True},
            {"linkId": "medicatie", "type": "boolean", "text": "Gebruikt u medicijnen tegen de pijn?", "required": True},
            {"linkId": "medicijn", "type": "group", "text": "Medicijn", "repeats": True, "required": True, "item": medicine,
             "enableWhen": [ew("medicatie", answerBoolean=True)]},
            {"linkId": "overig", "type": "string", "text": "Wilt u nog iets kwijt?"},
        ],
    }
