"""The R4 types of Questionnaire items, answers and enableWhen answers, and how they relate.

One table per question, read by the model, the engine and the rules alike.
"""

from __future__ import annotations

from typing import Any

# Item type -> the answer value[x] keys a response may use for it (choice items add the types of
# their answerOptions).
ITEM_VALUE_KEYS: dict[str, tuple[str, ...]] = {
    "boolean": ("valueBoolean",),
    "decimal": ("valueDecimal",),
    "integer": ("valueInteger",),
    "date": ("valueDate",),
    "dateTime": ("valueDateTime",),
    "time": ("valueTime",),
    "string": ("valueString",),
    "text": ("valueString",),
    "url": ("valueUri",),
    "choice": ("valueCoding",),
    "open-choice": ("valueCoding", "valueString"),
    "attachment": ("valueAttachment",),
    "reference": ("valueReference",),
    "quantity": ("valueQuantity",),
    "group": (),
    "display": (),
    "question": (),  # R4 has it in the code system but it is abstract: never valid on an item
}

# Item types that never hold answers.
NO_ANSWERS = frozenset({"group", "display"})

# The FHIR type name of each value[x] key, for messages ("must be of the type integer not Coding").
VALUE_TYPE_NAMES = {
    "valueBoolean": "boolean",
    "valueDecimal": "decimal",
    "valueInteger": "integer",
    "valueDate": "date",
    "valueDateTime": "dateTime",
    "valueTime": "time",
    "valueString": "string",
    "valueUri": "uri",
    "valueCoding": "Coding",
    "valueAttachment": "Attachment",
    "valueReference": "Reference",
    "valueQuantity": "Quantity",
}


def is_number(v: Any) -> bool:
    return type(v) is int or type(v) is float


# value[x] key -> check of the JSON value's Python type.
VALUE_TYPE_OK = {
    "valueBoolean": lambda v: type(v) is bool,
    "valueInteger": lambda v: type(v) is int,
    "valueDecimal": is_number,
    "valueDate": lambda v: type(v) is str,
    "valueDateTime": lambda v: type(v) is str,
    "valueTime": lambda v: type(v) is str,
    "valueString": lambda v: type(v) is str,
    "valueUri": lambda v: type(v) is str,
    "valueCoding": lambda v: type(v) is dict,
    "valueAttachment": lambda v: type(v) is dict,
    "valueReference": lambda v: type(v) is dict,
    "valueQuantity": lambda v: type(v) is dict,
}

# value[x] key -> the one Python type an ordinary answer holds (what the engine's fast path accepts).
VALUE_PYTHON_TYPES = {
    "valueBoolean": bool, "valueInteger": int, "valueDecimal": float, "valueString": str,
    "valueDate": str, "valueDateTime": str, "valueTime": str, "valueUri": str, "valueCoding": dict,
    "valueQuantity": dict, "valueReference": dict, "valueAttachment": dict,
}

# enableWhen.answer[x] key -> the QuestionnaireResponse answer value[x] keys it compares against,
# in the order R4 lists the answer[x] types.
ANSWER_KEYS: dict[str, tuple[str, ...]] = {
    "answerBoolean": ("valueBoolean",),
    "answerDecimal": ("valueDecimal", "valueInteger"),
    "answerInteger": ("valueInteger", "valueDecimal"),
    "answerDate": ("valueDate",),
    "answerDateTime": ("valueDateTime",),
    "answerTime": ("valueTime",),
    "answerString": ("valueString",),
    "answerCoding": ("valueCoding",),
    "answerQuantity": ("valueQuantity",),
    "answerReference": ("valueReference",),
}

ORDERING = (">", "<", ">=", "<=")
OPERATORS = ("exists", "=", "!=") + ORDERING
# enableWhen answer types that have no order: an ordering operator on them is a Questionnaire error.
UNORDERED = ("answerBoolean", "answerCoding", "answerReference")
# enableWhen answer types whose JSON value is an object.
OBJECT_ANSWERS = ("answerCoding", "answerQuantity", "answerReference")

# enableWhen answer[x] keys that can compare with the answers of an item of each fixed type.
ANSWER_KEYS_FOR_TYPE: dict[str, frozenset[str]] = {
    "boolean": frozenset({"answerBoolean"}),
    "decimal": frozenset({"answerDecimal", "answerInteger"}),
    "integer": frozenset({"answerInteger", "answerDecimal"}),
    "date": frozenset({"answerDate"}),
    "dateTime": frozenset({"answerDateTime"}),
    "time": frozenset({"answerTime"}),
    "string": frozenset({"answerString"}),
    "text": frozenset({"answerString"}),
    "url": frozenset({"answerString"}),
    "quantity": frozenset({"answerQuantity"}),
    "reference": frozenset({"answerReference"}),
    "attachment": frozenset(),
}

# answerOption.value[x] -> the enableWhen.answer[x] that compares with it.
OPTION_TO_ANSWER = {
    "valueInteger": "answerInteger",
    "valueDate": "answerDate",
    "valueTime": "answerTime",
    "valueString": "answerString",
    "valueCoding": "answerCoding",
    "valueReference": "answerReference",
}


def allowed_answer_keys(item_type: str | None, option_keys) -> set[str] | None:
    """The enableWhen.answer[x] types that can compare with the answers of an item of `item_type`
    whose answerOptions use the value[x] keys `option_keys`. None: the type is unknown."""
    if item_type in ("choice", "open-choice"):
        keys = {OPTION_TO_ANSWER[k] for k in option_keys if k in OPTION_TO_ANSWER}
        if not keys:
            keys = {"answerCoding"}
        if item_type == "open-choice":
            keys = keys | {"answerString"}
        return keys
    if item_type in NO_ANSWERS:
        return set()
    found = ANSWER_KEYS_FOR_TYPE.get(item_type) if item_type else None
    return set(found) if found is not None else None


def value_key(answer_key: str) -> str:
    """The answer value[x] key of the same type as an enableWhen answer[x] key."""
    return "value" + answer_key[len("answer"):]


def typed(key: str, value: Any) -> tuple | None:
    """A comparable, hashable form of an answer, option or enableWhen value (keyed by its
    value[x] or answer[x] name); None when the value does not have the type its key says."""
    if key.endswith("Boolean"):
        return ("boolean", value) if isinstance(value, bool) else None
    if key.endswith(("Integer", "Decimal")):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return ("number", float(value))
    if key.endswith("Coding"):
        if not isinstance(value, dict) or not isinstance(value.get("code"), str):
            return None
        system = value.get("system")
        return ("coding", system if isinstance(system, str) else None, value["code"])
    if key.endswith("Reference"):
        if not isinstance(value, dict):
            return None
        reference = value.get("reference")
        return ("reference", reference if isinstance(reference, str) else None)
    if key.endswith("Quantity"):
        if not isinstance(value, dict):
            return None
        system, code = value.get("system"), value.get("code")
        number = value.get("value")
        return ("quantity", number if isinstance(number, (int, float)) else None, system if isinstance(system, str) else None, code if isinstance(code, str) else None)
    kind = key.removeprefix("answer").removeprefix("value").lower()
    return (kind, value) if isinstance(value, str) else None
