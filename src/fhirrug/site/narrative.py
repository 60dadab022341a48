"""Generated narratives: `text.status = generated` and an XHTML div for every exported resource,
rendered from the same templates as the site's resource pages (`templates/resource/`, with the
site's links and chrome left out), so FHIR servers and viewers that show `text` show what the
review site shows.

The div stays inside R4's narrative rules (txt-1, txt-2; checked by `fhirrug.rules.narrative`):
only the allowed elements and attributes, well-formed XHTML, `lang` on every translation.
A narrative a person wrote (`status` other than `generated`) is kept as it is.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from .render import render, resource_template
from .views import SiteContent

STATUS = "generated"
_BEFORE_TEXT = ("resourceType", "id", "meta", "implicitRules", "language")


def narrative_div(resource: dict, content: SiteContent) -> str:
    questionnaire = next((q for q in content.questionnaires if q.resource is resource), None)
    return render(
        "narrative.xhtml", resource=resource, content=content, languages=content.languages, version=__version__,
        template=resource_template(str(resource.get("resourceType"))), questionnaire=questionnaire, site=False,
    ).strip()


def with_text(resource: dict, narrative: dict) -> dict:
    """A copy of `resource` with `text` placed where FHIR's JSON order puts it (after
    resourceType, id, meta, implicitRules and language)."""
    out: dict = {}
    placed = False
    keys = [k for k in resource if k != "text"]
    last_before = max((i for i, k in enumerate(keys) if k in _BEFORE_TEXT), default=-1)
    for i, key in enumerate(keys):
        out[key] = resource[key]
        if i == last_before:
            out["text"] = narrative
            placed = True
    if not placed:
        out = {"text": narrative, **out}
    return out


def with_narratives(resources: list[dict], context: list[dict] | None = None, languages: Any = None) -> list[dict]:
    """Copies of `resources`, each with a generated narrative. `context`: every resource of the
    release (Questionnaires for the responses, CodeSystems for displays); default `resources`.
    `languages`: a `texts.Languages`, default from nothing (nl-NL with en)."""
    from .build import languages_of

    content = SiteContent(context if context is not None else resources, languages or languages_of(None))
    out = []
    for resource in resources:
        existing = resource.get("text")
        if isinstance(existing, dict) and existing.get("status") not in (None, STATUS):
            out.append(resource)
            continue
        out.append(with_text(resource, {"status": STATUS, "div": narrative_div(resource, content)}))
    return out
