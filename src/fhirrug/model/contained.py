"""Contained resources: `#id` references resolved against `contained`.

FHIR resolves a reference `#id` inside the resource that holds it, or inside the resource that
contains it (a contained resource cannot contain others, so that is one level): a
QuestionnaireResponse may contain its Questionnaire (`questionnaire: "#q"`), and a Questionnaire
(contained or not) may bind an item to a contained ValueSet (`answerValueSet: "#vs"`), which may
list its codes (compose) or carry an expansion.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..issues import ERROR, Issue


def find_contained(holders: Iterable[Any], reference: str, resource_type: str | None = None) -> dict | None:
    """The contained resource `reference` ('#id') names among the `contained` lists of
    `holders` (the resource itself, then its container), of `resource_type` when given."""
    if not isinstance(reference, str) or not reference.startswith("#") or len(reference) < 2:
        return None
    wanted = reference[1:]
    for holder in holders:
        contained = holder.get("contained") if isinstance(holder, dict) else None
        for inner in contained if isinstance(contained, list) else ():
            if isinstance(inner, dict) and inner.get("id") == wanted:
                if resource_type is None or inner.get("resourceType") == resource_type:
                    return inner
                return None
    return None


def contained_questionnaire(response: dict, reference: str) -> tuple[dict | None, list[Issue]]:
    """The Questionnaire a response contains and names with `questionnaire: "#id"`."""
    found = find_contained([response], reference)
    if found is not None and found.get("resourceType") == "Questionnaire":
        return found, []
    expression = "QuestionnaireResponse.questionnaire"
    if found is not None:
        return None, [Issue("Questionnaire_QR_Q_WrongType", ERROR, f"The contained resource '{reference}' is a {found.get('resourceType')}, expecting a Questionnaire", "", expression)]
    return None, [Issue("Questionnaire_QR_Q_NotFound", ERROR, f"The questionnaire '{reference}' could not be resolved: the response contains no resource with id '{reference[1:]}'", "", expression)]


def with_contained_valuesets(valuesets: dict | None, resources: list[dict], *holders: Any) -> dict | None:
    """`valuesets` (canonical -> frozenset of (system, code)) plus '#id' -> codes for every
    ValueSet contained in `holders` that can be expanded offline (with the package's CodeSystems
    in `resources`). Returns `valuesets` itself when there is nothing to add."""
    from .valuesets import expand_valuesets  # the same expansion as the package's own ValueSets

    local = []
    for holder in holders:
        contained = holder.get("contained") if isinstance(holder, dict) else None
        for inner in contained if isinstance(contained, list) else ():
            if isinstance(inner, dict) and inner.get("resourceType") == "ValueSet" and isinstance(inner.get("id"), str):
                local.append({**inner, "url": f"#{inner['id']}", "version": None})
    if not local:
        return valuesets
    codesystems = [r for r in resources if isinstance(r, dict) and r.get("resourceType") == "CodeSystem"]
    expanded = {url: codes for url, codes in expand_valuesets(codesystems + local).items() if url.startswith("#")}
    return {**(valuesets or {}), **expanded}
