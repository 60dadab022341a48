"""enableWhen in words a reviewer can check against the book.

    Shown when ‘Lijst 1.2’ is answered ‘nee’.
    Shown when any of these holds: ‘Lijst 1.3’ is answered ‘nee’; ‘lijst1.antwoord-3.verder’ is answered ‘ja’.

The sentence is English (the site's language); the item labels and answers are quoted in the
content's language, with their translations beside them in the templates. Semantics as the engine
decides them (docs/enablewhen-semantics.md): `!=` holds when the question has no answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .adapter import Condition, ItemLogic
from .texts import Languages, Text

# operator -> the words between the item and the answer
VERBS = {
    "=": "is answered",
    "!=": "is not answered",
    ">": "is answered more than",
    "<": "is answered less than",
    ">=": "is answered at least",
    "<=": "is answered at most",
}

BOOLEAN_WORDS = {"nl": ("ja", "nee"), "en": ("yes", "no")}


@dataclass(frozen=True)
class ConditionWords:
    """One condition: `target` is the linkId it refers to (None when unknown), then the verb,
    then the answer (empty for `exists`), then a note (`!=`: also when unanswered)."""

    target: str | None
    question: str
    label: str  # how the book names the target ('Lijst 1.2'), else its linkId
    verb: str
    answer: Text
    note: str = ""


@dataclass(frozen=True)
class EnableWords:
    lead: str  # "Shown when", "Shown when all of these hold:", ...
    conditions: tuple[ConditionWords, ...]


def boolean_text(value: bool, languages: Languages) -> Text:
    """‘ja’/‘nee’ in the source language, and its translations (the words `fhirrug paths` prints)."""
    values = []
    for lang in languages.all:
        words = BOOLEAN_WORDS.get(lang.split("-")[0].lower())
        if words is not None:
            values.append((lang, words[0] if value else words[1]))
    return Text(tuple(values)) if values else languages.plain("true" if value else "false")


def condition_words(condition: Condition, answer_text: Callable[[Condition], Text], label_of: Callable[[str], str]) -> ConditionWords:
    target = condition.question if condition.known else None
    label = label_of(condition.question)
    if condition.operator == "exists":
        verb = "has an answer" if condition.answer is True else "has no answer"
        return ConditionWords(target, condition.question, label, verb, Text(()))
    verb = VERBS.get(condition.operator, f"is compared ({condition.operator!r}) with")
    note = "or has no answer" if condition.operator == "!=" else ""
    if not condition.known:
        note = "(no item has this linkId: the condition never sees an answer)"
    return ConditionWords(target, condition.question, label, verb, answer_text(condition), note)


def enable_words(item: ItemLogic, answer_text: Callable[[Condition], Text], label_of: Callable[[str], str]) -> EnableWords | None:
    if not item.conditions:
        return None
    words = tuple(condition_words(c, answer_text, label_of) for c in item.conditions)
    if len(words) == 1:
        return EnableWords("Shown when", words)
    if item.behavior == "any":
        return EnableWords("Shown when any of these holds:", words)
    return EnableWords("Shown when all of these hold:", words)


def plain_value(value: Any) -> str:
    """An enableWhen answer that is not a Coding or boolean, as text (a Quantity with its unit)."""
    if isinstance(value, dict):
        if "value" in value:
            return f"{value.get('value')} {value.get('unit') or value.get('code') or ''}".strip()
        return str(value.get("reference") or value.get("display") or value)
    return str(value)
