"""JSON type checks for untrusted input, where the engine and the rules read a value.

Every file fhirrug reads comes from outside: a `linkId` may be a list, a Coding's `system` an
object, an enableWhen `answerString` a number. The schema and bindings stages report such
values; the code that *uses* them (set lookups, comparisons, iteration) checks the JSON type
first with these helpers and skips or reports the value, never raising `TypeError`.
"""

from __future__ import annotations

from typing import Any

_KINDS = {str: "string", bool: "boolean", int: "number", float: "number", type(None): "null", list: "array", dict: "object"}


def json_type(value: Any) -> str:
    """The JSON type of a parsed value, for messages: string, number, boolean, null, array, object."""
    return _KINDS.get(type(value), type(value).__name__)


def shown(value: Any, limit: int = 80) -> str:
    """`repr(value)` cut to `limit` characters, for messages about untrusted values (a 10 MB
    string or a 10,000-element list would otherwise be copied into every report)."""
    text = repr(value) if not isinstance(value, (list, dict)) or len(value) < limit else f"<a JSON {json_type(value)} of {len(value):,} elements>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_text(value: Any) -> bool:
    return type(value) is str


def as_list(value: Any) -> list:
    """`value` when it is a JSON array, else an empty list (the shape stages report the rest)."""
    return value if type(value) is list else []


def coding_key(coding: Any) -> tuple | None:
    """(system, code) of a Coding object whose system and code are strings or absent; None for
    anything else (such a pair cannot be looked up in a set of options, and equals no option)."""
    if type(coding) is not dict:
        return None
    system, code = coding.get("system"), coding.get("code")
    if (system is None or type(system) is str) and (code is None or type(code) is str):
        return system, code
    return None


def bad_coding_part(coding: dict) -> str | None:
    """The first of `system`, `code` that is present but not a string (for the message), or None."""
    for key in ("system", "code"):
        value = coding.get(key)
        if value is not None and type(value) is not str:
            return key
    return None


def is_hashable_scalar(value: Any) -> bool:
    """A JSON scalar (string, number, boolean, null): safe as a set member or dict key."""
    return value is None or type(value) in (str, int, float, bool)
