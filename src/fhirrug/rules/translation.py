"""Translation rules: every text carries a translation into each language the package declares
(`translations` in fhirrug.toml), and every translation extension is well formed."""

from __future__ import annotations

from typing import Iterator

from ..jsontypes import json_type
from ..translate import (
    TRANSLATED_RESOURCE_TYPES,
    TRANSLATION_URL,
    language_matches,
    parse_translation,
    translatable_strings,
    translation_extensions,
)
from .registry import Finding, Rule, rule_decorator

RULES: list[Rule] = []
rule = rule_decorator(RULES)

_SPEC = "http://hl7.org/fhir/R4/extension-translation.html"


def _declared_languages(ctx) -> tuple[str, ...]:
    manifest = getattr(ctx, "manifest", None)
    return tuple(manifest.translations) if manifest is not None else ()


@rule(
    "fhirrug-translation-missing",
    "warning",
    "A translatable text lacks a translation into a language the package declares.",
    _SPEC,
    resource_types=TRANSLATED_RESOURCE_TYPES,
)
def translation_missing(resource: dict, ctx) -> Iterator[Finding]:
    """Every translatable string carries a translation for each language in the package's
    `translations` (fhirrug.toml), through the core translation extension on the string's
    underscore sibling (`_text`, `_display`, ...).

    Translatable: string elements named title, description, purpose, copyright, text, prefix,
    display or definition anywhere in a Questionnaire, CodeSystem, ValueSet or ConceptMap, and
    `answerOption.valueString`. Not translatable: values inside `extension` (including the
    translation extension's own content) and `jurisdiction` (the ISO 3166 country name).
    A translation tagged `en-GB` counts for `en`. Without a manifest (a loose file) no language
    is declared and the rule says nothing. The expression points at the untranslated element,
    e.g. `Questionnaire.item[3].text`.
    """
    languages = _declared_languages(ctx)
    if not languages:
        return
    for string in translatable_strings(resource):
        tags = []
        for _, extension in translation_extensions(string.sibling):
            lang, content = parse_translation(extension)
            if lang and content and content.strip():
                tags.append(lang)
        missing = [lang for lang in languages if not any(language_matches(tag, lang) for tag in tags)]
        if missing:
            yield Finding(string.expression, f"{_short(string.value)!r} has no translation into {', '.join(missing)}")


@rule(
    "fhirrug-translation-invalid",
    "error",
    "A translation extension is malformed: lang or content missing, a language twice, or the resource's own language.",
    _SPEC,
    resource_types=TRANSLATED_RESOURCE_TYPES,
)
def translation_invalid(resource: dict, ctx) -> Iterator[Finding]:
    """Each http://hl7.org/fhir/StructureDefinition/translation extension has exactly one `lang`
    (valueCode) and one `content` (valueString, not blank) and nothing else; one string has at
    most one translation per language; and no translation is into the resource's own `language`
    (a Dutch resource carries no "translation" into Dutch). The extension must sit on a
    translatable string's underscore sibling (`_text`), not on a complex element. The
    expression points at the extension, e.g. `Questionnaire.item[3].text.extension[0]`.
    """
    own_language = resource.get("language") if isinstance(resource.get("language"), str) else None
    for string in translatable_strings(resource):
        seen: set[str] = set()
        for index, extension in translation_extensions(string.sibling):
            where = f"{string.expression}.extension[{index}]"
            yield from _check_parts(extension, where)
            lang, _ = parse_translation(extension)
            if lang is None:
                continue
            if lang.lower() in seen:
                yield Finding(where, f"a second translation into {lang!r} of the same text")
            seen.add(lang.lower())
            if own_language and lang.lower() == own_language.lower():
                yield Finding(where, f"translation into {lang!r}, the resource's own language")
    root = resource.get("resourceType")
    yield from _misplaced(resource, root if isinstance(root, str) else "Resource")


def _check_parts(extension: dict, where: str) -> Iterator[Finding]:
    if any(key.startswith("value") for key in extension):
        yield Finding(where, "a translation extension has sub-extensions (lang, content), not a value[x]")
    parts = extension.get("extension")
    if not isinstance(parts, list):
        yield Finding(where, "translation extension without lang and content")
        return
    counts: dict[str, int] = {}
    for i, part in enumerate(parts):
        url = part.get("url") if isinstance(part, dict) else None
        if url is not None and not isinstance(url, str):  # untrusted JSON: a url that is a list or object
            yield Finding(f"{where}.extension[{i}].url", f"the url of a translation part is a JSON {json_type(url)}, not a string")
            continue
        counts[url] = counts.get(url, 0) + 1
        if url == "lang":
            if not isinstance(part.get("valueCode"), str) or not part["valueCode"].strip():
                yield Finding(f"{where}.extension[{i}]", "translation `lang` needs a valueCode (a language tag such as 'en')")
        elif url == "content":
            if not isinstance(part.get("valueString"), str) or not part["valueString"].strip():
                yield Finding(f"{where}.extension[{i}]", "translation `content` needs a non-blank valueString")
        else:
            yield Finding(f"{where}.extension[{i}]", f"unknown part {url!r} in a translation extension (only lang and content)")
    for name in ("lang", "content"):
        if counts.get(name, 0) == 0:
            yield Finding(where, f"translation extension without {name}")
        elif counts[name] > 1:
            yield Finding(where, f"translation extension with {counts[name]} {name} parts")


def _misplaced(node, path: str) -> Iterator[Finding]:
    """Translation extensions in an `extension` list of an object that is not a primitive's `_x` sibling."""
    if isinstance(node, list):
        for i, element in enumerate(node):
            yield from _misplaced(element, f"{path}[{i}]")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "extension" and isinstance(value, list):
            for i, extension in enumerate(value):
                if isinstance(extension, dict) and extension.get("url") == TRANSLATION_URL:
                    yield Finding(f"{path}.extension[{i}]", "a translation extension belongs on a string's underscore sibling (`_text`), not on an element")
            continue
        if key.startswith("_") or key == "modifierExtension":
            continue
        yield from _misplaced(value, f"{path}.{key}")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
