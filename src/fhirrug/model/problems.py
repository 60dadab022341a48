"""One code and one severity for each problem of a Questionnaire, whichever command finds it.

`fhirrug validate` (its rules and stages), `fhirrug evaluate` and `fhirrug paths` (the engine's
plan) and the site report the same problem under the same code: the HL7 validator's message key
where it has one (`Questionnaire_Q_EnableWhen_NoTarget`), the FHIR invariant id (`que-12`), the
code of the validation stage that owns the shape (`fhirrug-schema-type`), else a `fhirrug-` id.
Where an older fhirrug release used another code, that code is an alias: `fhirrug rules` shows it
and --select/--ignore/--severity accept it. `tests/test_one_answer.py` holds the commands to it.
"""

from __future__ import annotations

from typing import NamedTuple

from ..issues import ERROR, WARNING


class Problem(NamedTuple):
    code: str
    severity: str


# enableWhen: the target (model.Condition.problems)
NO_TARGET = Problem("Questionnaire_Q_EnableWhen_NoTarget", ERROR)
SELF = Problem("Questionnaire_Q_EnableWhen_Self", ERROR)
INNER = Problem("Questionnaire_Q_EnableWhen_IsInner", ERROR)
AFTER = Problem("Questionnaire_Q_EnableWhen_After", WARNING)
# enableWhen: operator and answer
MISSING = Problem("Validation_VAL_Profile_Minimum", ERROR)  # operator or answer[x] absent (1..1)
NOT_IN_VALUESET = Problem("Terminology_TX_NoValid_16", ERROR)  # operator, enableBehavior, item type outside the required binding
ANSWERS = Problem("fhirrug-enablewhen-answer", ERROR)  # several answer[x], or one of no R4 type
EXISTS_NOT_BOOLEAN = Problem("que-7", ERROR)
NOT_ORDERABLE = Problem("fhirrug-enablewhen-operator-type", ERROR)
ANSWER_TYPE = Problem("fhirrug-enablewhen-answer-type", ERROR)
CYCLE = Problem("fhirrug-enablewhen-cycle", ERROR)
# items
ENABLE_BEHAVIOR = Problem("que-12", ERROR)  # several enableWhen, no enableBehavior
DUPLICATE_LINK_ID = Problem("que-2", ERROR)
ABSTRACT_TYPE = Problem("fhirrug-item-type-abstract", ERROR)  # item.type 'question'
# JSON shapes (the schema stage's codes)
WRONG_JSON_TYPE = Problem("fhirrug-schema-type", ERROR)  # an object where a list belongs, ...
PRIMITIVE_TYPE = Problem("fhirrug-primitive-type", ERROR)
EMPTY_VALUE = Problem("fhirrug-empty-value", ERROR)

# model.Condition.problems -> Problem
CONDITION = {
    "no-target": NO_TARGET,
    "self": SELF,
    "inner": INNER,
    "after": AFTER,
    "no-operator": MISSING,
    "operator": NOT_IN_VALUESET,
    "no-answer": MISSING,
    "answers": ANSWERS,
    "exists-not-boolean": EXISTS_NOT_BOOLEAN,
    "not-orderable": NOT_ORDERABLE,
    "answer-not-object": WRONG_JSON_TYPE,
    "answer-json-type": PRIMITIVE_TYPE,
    "type": ANSWER_TYPE,
}

# Rule ids of earlier releases -> the code now reported for the same problem. (The engine's own
# former codes, fhirrug-enablewhen-operator, fhirrug-enablebehavior, fhirrug-item-type and
# fhirrug-questionnaire-structure, were never rule ids; aliasing them to the stage codes would make
# `--ignore fhirrug-item-type` silence every binding finding, so they are gone, not aliased.)
ALIASES: dict[str, str] = {
    "fhirrug-enablewhen-target-missing": NO_TARGET.code,
}


def aliases_of(code: str) -> tuple[str, ...]:
    """The older codes that now mean `code`."""
    return tuple(old for old, new in ALIASES.items() if new == code)
