"""The tekstbron marking: which source a text of the package comes from.

The extension https://fhir.fhirrug.nl/StructureDefinition/tekstbron carries a Coding of
CodeSystem tekstbron. Where it sits says what it marks:

- on a text's primitive (`_text`, `_display`, `_definition`): that one string;
- else on the element holding the text (the item, the Coding, the concept), or on an element
  around that one that the text belongs to (an answerOption for its Coding's display);
- else on the resource: the main source of its content.

A mark applies to its element's own texts, not to nested items, options or concepts. One
reading for every layer that needs it (the rule fhirrug-verbatim, the review site), so they
cannot disagree about where a text comes from. Imports nothing of fhirrug's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TEKSTBRON_URL = "https://fhir.fhirrug.nl/StructureDefinition/tekstbron"
OURS = "fhirrug"  # the tekstbron code of texts fhirrug wrote itself


@dataclass(frozen=True)
class Mark:
    """The Coding of one tekstbron extension."""

    code: str
    system: str | None = None
    display: str | None = None

    @property
    def ours(self) -> bool:
        return self.code == OURS


def mark(element: Any) -> Mark | None:
    """The tekstbron mark among an element's (or an `_x` sibling's) own extensions, if any."""
    if not isinstance(element, dict):
        return None
    for extension in element.get("extension") or ():
        if isinstance(extension, dict) and extension.get("url") == TEKSTBRON_URL:
            coding = extension.get("valueCoding")
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                system, display = coding.get("system"), coding.get("display")
                return Mark(coding["code"], system if isinstance(system, str) else None, display if isinstance(display, str) else None)
    return None


def text_mark(holder: dict, key: str, *owners: Any) -> Mark | None:
    """The mark of the text `holder[key]`: on its primitive `_key`, else on `holder`, else on each
    of `owners` in turn (elements around `holder` that the text belongs to). None: unmarked, the
    resource's main source (`mark(resource)`) applies."""
    for element in (holder.get("_" + key), holder, *owners):
        found = mark(element)
        if found is not None:
            return found
    return None
