"""The texts of a resource as the site shows them: each string in every package language, and
where it comes from (the `tekstbron` marking).

A text element (`text`, `display`, `definition`, ...) is read with its translations (the core
translation extension on its `_x` sibling, see `fhirrug.translate`) and its source, the tekstbron
mark as `fhirrug.tekstbron` reads it (the reading the rule fhirrug-verbatim checks). No mark
means the text is verbatim from the resource's main source, which the resource's `copyright` names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..tekstbron import Mark, text_mark
from ..translate import TranslatableString, translation_for


@dataclass(frozen=True)
class Text:
    """One string in every language: `values` is ((language, text), ...) with the source language
    first; a language without a translation is missing from it. `source` is None when verbatim
    from the main source."""

    values: tuple[tuple[str, str], ...]
    source: Mark | None = None

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


class Languages:
    """The package's languages: the source language first, then each translation language."""

    def __init__(self, source: str, translations: tuple[str, ...] | list[str]):
        self.source = source
        self.translations = tuple(t for t in translations if t != source)

    @property
    def all(self) -> tuple[str, ...]:
        return (self.source, *self.translations)

    def text(self, parent: Any, key: str, *owners: Any) -> Text:
        """The string `parent[key]` in every language, with its source: the tekstbron mark on
        `_key`, on `parent` or on one of `owners` (the elements around `parent` it belongs to)."""
        if not isinstance(parent, dict) or not isinstance(parent.get(key), str):
            return EMPTY
        value = parent[key]
        string = TranslatableString(parent, key, None, "")
        values = [(self.source, value)]
        for lang in self.translations:
            translated = translation_for(string, lang)
            if translated is not None:
                values.append((lang, translated))
        return Text(tuple(values), text_mark(parent, key, *owners))

    def plain(self, value: str | None) -> Text:
        """A string that has no translations (a code, a number): the same in every language."""
        return Text(((self.source, value),)) if value else EMPTY
