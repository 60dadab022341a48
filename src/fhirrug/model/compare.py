"""Typed comparison of an answer with an enableWhen answer: the one definition fhirrug has.

`compile_test(operator, answer_key, expected)` compiles one enableWhen into a test over the
*answer dicts* the condition sees (already empty when the target item is absent, unanswered or
disabled); it returns True, False, or None for "indeterminate" (date precisions or Quantity units
that cannot be compared). The engine treats None as false and reports a warning, as FHIRPath does
with an empty result; the static analysis of the rules treats it as "cannot say".

Answer dicts are the QuestionnaireResponse `answer` entries themselves; the engine only lets
through answers whose value[x] is of a type the target item allows, so a wrongly typed answer
never equals anything. The semantics are those of docs/enablewhen-semantics.md, section 4.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from .types import ANSWER_KEYS, ORDERING, UNORDERED, is_number

Test = Callable[[list], "bool | None"]

__all__ = ["ANSWER_KEYS", "ORDERING", "UNORDERED", "Test", "compile_test", "make_comparator", "never"]


def never(answers: list) -> bool:
    """The test of a condition that cannot hold (a broken enableWhen)."""
    return False


never.indeterminate = False  # type: ignore[attr-defined]


def _cmp_numbers(a: Any, b: Any) -> int | None:
    if not is_number(a):
        return None
    return (a > b) - (a < b)


def _time_key(value: str) -> tuple | None:
    """A time hh:mm:ss(.fff): compare as (precision, text); precision is the number of parts."""
    if not isinstance(value, str):
        return None
    return (value.count(":"), "." in value), value


def _date_key(value: Any) -> tuple | None:
    """Precision class and a comparable key for a FHIR date or dateTime.

    year / year-month / date compare as text at the same precision; a dateTime with a time and a
    zone compares as an instant; a time without zone only with another time without zone.
    """
    if not isinstance(value, str) or not value:
        return None
    if "T" not in value:
        return (len(value), "date"), value
    text = value.replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    zoned = moment.tzinfo is not None
    time_part = value.split("T", 1)[1]
    for sep in ("Z", "+", "-"):
        time_part = time_part.split(sep, 1)[0]
    seconds = time_part.count(":") >= 2
    return ("instant" if zoned else "local", seconds), moment


def _cmp_keyed(keyfn, a: Any, b_key: tuple | None) -> int | None:
    if b_key is None:
        return None
    a_key = keyfn(a)
    if a_key is None or a_key[0] != b_key[0]:
        return None
    x, y = a_key[1], b_key[1]
    return (x > y) - (x < y)


def _cmp_quantity(a: Any, b: dict) -> int | None:
    if not isinstance(a, dict) or a.get("system") != b.get("system") or a.get("code") != b.get("code"):
        return None
    if b.get("code") is None and a.get("unit") != b.get("unit"):
        return None
    x, y = a.get("value"), b.get("value")
    if not is_number(x) or not is_number(y):
        return None
    return (x > y) - (x < y)


def make_comparator(ew_key: str, expected: Any) -> Callable[[Any], "int | bool | None"]:
    """value -> comparison with `expected`.

    For ordered types: -1/0/1 or None (indeterminate). For unordered types: True/False (equal).
    """
    if ew_key == "answerBoolean":
        return lambda v: v is expected
    if ew_key == "answerCoding":
        system, code = expected.get("system"), expected.get("code")
        if system is None:
            return lambda v: isinstance(v, dict) and v.get("code") == code
        return lambda v: isinstance(v, dict) and v.get("code") == code and v.get("system") == system
    if ew_key == "answerReference":
        ref = expected.get("reference")
        return lambda v: isinstance(v, dict) and v.get("reference") == ref
    if ew_key in ("answerInteger", "answerDecimal"):
        return lambda v: _cmp_numbers(v, expected)
    if ew_key == "answerString":
        return lambda v: ((v > expected) - (v < expected)) if isinstance(v, str) else None
    if ew_key in ("answerDate", "answerDateTime"):
        key = _date_key(expected)
        return lambda v: _cmp_keyed(_date_key, v, key)
    if ew_key == "answerTime":
        key = _time_key(expected)
        return lambda v: _cmp_keyed(_time_key, v, key)
    if ew_key == "answerQuantity":
        return lambda v: _cmp_quantity(v, expected)
    return lambda v: None  # pragma: no cover - unknown keys are rejected at compile time


_MAY_BE_INDETERMINATE = ("answerDate", "answerDateTime", "answerTime", "answerQuantity")


def compile_test(operator: str, ew_key: str | None, expected: Any) -> Test:
    """Compile one enableWhen into a test over the answers the condition sees.

    The returned function has an attribute `indeterminate`: whether it can return None.
    """
    test = _compile_test(operator, ew_key, expected)
    try:
        test.indeterminate = operator != "exists" and ew_key in _MAY_BE_INDETERMINATE
        # The result on an empty answer list, which generated code uses to skip the call.
        if operator == "exists":
            test.on_empty = expected is not True
        else:
            test.on_empty = operator == "!="
    except AttributeError:  # pragma: no cover - every test is a plain function
        pass
    return test


def _compile_test(operator: str, ew_key: str | None, expected: Any) -> Test:
    if operator == "exists":
        want = expected is True
        return lambda answers: (len(answers) > 0) is want
    keys = ANSWER_KEYS[ew_key]
    compare = make_comparator(ew_key, expected)
    ordered = ew_key not in UNORDERED

    if ew_key == "answerBoolean" and operator in ("=", "!="):
        # The common case in decision lists: fast, no generic machinery.
        hit = operator == "="

        def boolean_test(answers: list) -> bool:
            for a in answers:
                if a.get("valueBoolean") is expected:
                    return hit
            return not hit

        return boolean_test

    if ew_key == "answerCoding" and operator in ("=", "!="):
        hit = operator == "="
        system, code = expected.get("system"), expected.get("code")

        def coding_test(answers: list) -> bool:
            for a in answers:
                v = a.get("valueCoding")
                if type(v) is dict and v.get("code") == code and (system is None or v.get("system") == system):
                    return hit
            return not hit

        return coding_test

    def values(answers: list):
        for a in answers:
            for k in keys:
                if k in a:
                    yield a[k]
                    break

    if operator in ("=", "!="):
        hit = operator == "="

        def equal_test(answers: list) -> bool | None:
            unknown = False
            for v in values(answers):
                r = compare(v)
                if r is None:
                    unknown = True
                elif (r == 0) if ordered else r:
                    return hit
            return None if unknown else (not hit)

        return equal_test

    accept = {">": (1,), "<": (-1,), ">=": (0, 1), "<=": (-1, 0)}[operator]

    def order_test(answers: list) -> bool | None:
        unknown = False
        for v in values(answers):
            r = compare(v)
            if r is None:
                unknown = True
            elif r in accept:
                return True
        return None if unknown else False

    return order_test
