"""The texts of a resource as the site shows them: each string in every package language, and
where it comes from (the `tekstbron` marking).

A text element (`text`, `display`, `definition`, ...) is read with its translations (the core
translation extension on its `_x` sibling, see `fhirrug.translate`) and its source: the tekstbron
extension on the `_x` sibling marks that one string, one on the element that holds it (an item,
an answerOption's Coding, a concept) marks the element's texts. No marking means the text is
verbatim from the resource's main source, which the resource's `copyright` names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..translate import TranslatableString, translation_for

TEKSTBRON_URL = "https://fhir.fhirrug.nl/StructureDefinition/tekstbron"


@dataclass(frozen=True)
class Source:
    """A tekstbron marking: the Coding of the source the text comes from instead of the main source."""

    system: str
    code: str
    display: str

    @property
    def ours(self) -> bool:
        return self.code == "fhirrug"


@dataclass(frozen=True)
class Text:
    """One string in every language: `values` is ((language, text), ...) with the source language
    first; a language without a translation is missing from it. `source` is None when verbatim
    from the main source."""

    values: tuple[tuple[str, str], ...]
    source: Source | None = None

    def get(self, lang: str) -> str | None:
        for tag, value in self.values:
            if tag == lang:
                return value
        return None

    @property
    def first(self) -> str:
        return self.values[0][1] if self.values else ""

    def __bool__(self) -> bool:
        return bool(self.values)


EMPTY = Text(())


def marking(element: Any) -> Source | None:
    """The tekstbron marking among an element's (or an `_x` sibling's) extensions, if any."""
    if not isinstance(element, dict):
        return None
    for extension in element.get("extension") or ():
        if isinstance(extension, dict) and extension.get("url") == TEKSTBRON_URL:
            coding = extension.get("valueCoding")
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                return Source(str(coding.get("system") or ""), coding["code"], str(coding.get("display") or coding["code"]))
    return None


class Languages:
    """The package's languages: the source language first, then each translation language."""

    def __init__(self, source: str, translations: tuple[str, ...] | list[str]):
        self.source = source
        self.translations = tuple(t for t in translations if t != source)

    @property
    def all(self) -> tuple[str, ...]:
        return (self.source, *self.translations)

    def text(self, parent: Any, key: str, inherited: Source | None = None) -> Text:
        """The string `parent[key]` in every language, with its source marking."""
        if not isinstance(parent, dict) or not isinstance(parent.get(key), str):
            return EMPTY
        value = parent[key]
        string = TranslatableString(parent, key, None, "")
        values = [(self.source, value)]
        for lang in self.translations:
            translated = translation_for(string, lang)
            if translated is not None:
                values.append((lang, translated))
        source = marking(parent.get("_" + key)) or marking(parent) or inherited
        return Text(tuple(values), source)

    def plain(self, value: str | None) -> Text:
        """A string that has no translations (a code, a number): the same in every language."""
        return Text(((self.source, value),)) if value else EMPTY
