"""The Jinja2 environment shared by the site pages, the fill page and the narratives."""

from __future__ import annotations

import re
from functools import lru_cache

import jinja2

from .views import _safe

_PARAGRAPH = re.compile(r"\n\s*\n")
RESOURCE_TEMPLATES = ("Questionnaire", "CodeSystem", "ValueSet", "ConceptMap", "StructureDefinition", "QuestionnaireResponse")


def paragraphs(value: str) -> list[str]:
    """A text split at blank lines (how the content separates the book's paragraphs)."""
    return [p.strip() for p in _PARAGRAPH.split(value or "") if p.strip()]


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fhirrug.site", "templates"),
        autoescape=True,  # every page is HTML or XHTML; the escaping is XML-safe too
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["paragraphs"] = paragraphs
    env.filters["safe_id"] = _safe
    return env


def resource_template(resource_type: str) -> str:
    name = resource_type if resource_type in RESOURCE_TEMPLATES else "generic"
    return f"resource/{name}.html"


def render(layout: str, **context) -> str:
    """Render the template `layout` (`context` may itself name a `template` to include)."""
    return environment().get_template(layout).render(**context)
