"""Translations on FHIR primitives, and single-language copies of resources.

FHIR R4 carries a translation of a string on the primitive's underscore sibling through the core
extension http://hl7.org/fhir/StructureDefinition/translation:

    "text": "Straalt de pijn uit?",
    "_text": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/translation",
               "extension": [{"url": "lang", "valueCode": "en"},
                             {"url": "content", "valueString": "Does the pain radiate?"}]}]}

This module knows which strings are translatable (`translatable_strings`), reads the
translations of one (`translations_of`), and writes a copy of a resource in one language
(`translate_resource`): every translatable string replaced by its translation, every
translation extension removed, `language` set. Systems that ignore the extension get a
resource in the language they want. Works on plain parsed JSON; no click, no fhir.resources.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterator

from .issues import WARNING, Issue

TRANSLATION_URL = "http://hl7.org/fhir/StructureDefinition/translation"

# String elements whose value is text for people, in the resource's language.
TRANSLATABLE_ELEMENTS = frozenset({"title", "description", "purpose", "copyright", "text", "prefix", "display", "definition"})
# Resource types whose texts must carry translations (and that `translate` rewrites).
TRANSLATED_RESOURCE_TYPES = ("Questionnaire", "CodeSystem", "ValueSet", "ConceptMap")
# Elements whose subtree is not authored text of this resource:
# - extension/modifierExtension: values of extensions (e.g. the tekstbron Coding's display);
# - jurisdiction: the ISO 3166 country name the conventions fix for every resource.
_SKIPPED_ELEMENTS = frozenset({"extension", "modifierExtension", "jurisdiction"})


@dataclass(frozen=True)
class TranslatableString:
    """One translatable string of a resource.

    parent: the JSON object holding it; key: its element name; index: its position when the
    element is a list of strings (never for the elements above in R4, but kept general);
    expression: its FHIRPath location, e.g. `Questionnaire.item[3].text`.
    """

    parent: dict
    key: str
    index: int | None
    expression: str

    @property
    def value(self) -> str:
        value = self.parent[self.key]
        return value[self.index] if self.index is not None else value

    @property
    def sibling(self) -> dict | None:
        """The underscore sibling (`_text`) carrying this string's extensions, if any."""
        sibling = self.parent.get("_" + self.key)
        if self.index is not None:
            if isinstance(sibling, list) and self.index < len(sibling):
                sibling = sibling[self.index]
            else:
                return None
        return sibling if isinstance(sibling, dict) else None


def _is_translatable(key: str, parent_key: str) -> bool:
    return key in TRANSLATABLE_ELEMENTS or (key == "valueString" and parent_key == "answerOption")


def translatable_strings(resource: dict) -> Iterator[TranslatableString]:
    """Every translatable string of `resource`, in document order, with its FHIRPath location."""
    root = resource.get("resourceType") if isinstance(resource.get("resourceType"), str) else "Resource"
    yield from _walk(resource, root, "")


def _walk(node: dict, path: str, node_key: str) -> Iterator[TranslatableString]:
    for key, value in node.items():
        if key.startswith("_") or key in _SKIPPED_ELEMENTS:
            continue
        here = f"{path}.{key}"
        if isinstance(value, str):
            if _is_translatable(key, node_key):
                yield TranslatableString(node, key, None, here)
        elif isinstance(value, dict):
            yield from _walk(value, here, key)
        elif isinstance(value, list):
            for i, element in enumerate(value):
                if isinstance(element, dict):
                    yield from _walk(element, f"{here}[{i}]", key)
                elif isinstance(element, str) and _is_translatable(key, node_key):
                    yield TranslatableString(node, key, i, f"{here}[{i}]")


def translation_extensions(sibling: dict | None) -> list[tuple[int, Any]]:
    """(index in sibling.extension, extension) for each translation extension on an underscore sibling."""
    if not isinstance(sibling, dict) or not isinstance(sibling.get("extension"), list):
        return []
    return [(i, e) for i, e in enumerate(sibling["extension"]) if isinstance(e, dict) and e.get("url") == TRANSLATION_URL]


def parse_translation(extension: dict) -> tuple[str | None, str | None]:
    """(lang, content) of one translation extension; None for a part that is missing or not a string."""
    lang = content = None
    for part in extension.get("extension", []) if isinstance(extension.get("extension"), list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("url") == "lang" and isinstance(part.get("valueCode"), str):
            lang = part["valueCode"]
        elif part.get("url") == "content" and isinstance(part.get("valueString"), str):
            content = part["valueString"]
    return lang, content


def language_matches(tag: str, wanted: str) -> bool:
    """A translation tagged `en-GB` serves `en`; one tagged `en` serves `en-GB` too (same primary language)."""
    tag, wanted = tag.lower(), wanted.lower()
    return tag == wanted or tag.split("-")[0] == wanted.split("-")[0]


def translations_of(string: TranslatableString) -> dict[str, str]:
    """lang -> content for every well-formed translation of one string (the first wins on duplicates)."""
    found: dict[str, str] = {}
    for _, extension in translation_extensions(string.sibling):
        lang, content = parse_translation(extension)
        if lang and content and lang not in found:
            found[lang] = content
    return found


def translation_for(string: TranslatableString, lang: str) -> str | None:
    """The translation of `string` into `lang`: an exact tag first, then one with the same primary language."""
    found = translations_of(string)
    if lang in found:
        return found[lang]
    for tag, content in found.items():
        if language_matches(tag, lang):
            return content
    return None


def strip_translations(node: Any) -> Any:
    """Remove every translation extension in place; drop `extension` lists and `_x` siblings left empty."""
    if isinstance(node, list):
        for element in node:
            strip_translations(element)
        return node
    if not isinstance(node, dict):
        return node
    for key in list(node):
        value = node[key]
        if key == "extension" and isinstance(value, list):
            kept = [e for e in value if not (isinstance(e, dict) and e.get("url") == TRANSLATION_URL)]
            for e in kept:
                strip_translations(e)
            if kept:
                node[key] = kept
            else:
                del node[key]
            continue
        strip_translations(value)
        if key.startswith("_"):
            if value == {}:
                del node[key]
            elif isinstance(value, list) and all(v is None or v == {} for v in value):
                del node[key]
            elif isinstance(value, list):
                node[key] = [None if v == {} else v for v in value]
    return node


def codesystem_displays(resources, source_language: str = "nl-NL") -> dict[tuple[str, str], dict[str, str]]:
    """(system, code) -> {language: display} for every concept of the given CodeSystems (parsed
    dicts), from each concept's display and its translations. `translate_resource` uses it to give
    every Coding of those systems the CodeSystem's display in the target language, including
    Codings inside extensions (such as the tekstbron Coding), which carry no translation of their own."""
    table: dict[tuple[str, str], dict[str, str]] = {}

    def visit(system: str, concepts) -> None:
        for concept in concepts if isinstance(concepts, list) else []:
            if not isinstance(concept, dict):
                continue
            code, display = concept.get("code"), concept.get("display")
            if isinstance(code, str) and isinstance(display, str) and isinstance(system, str):
                entry = {source_language: display}
                string = TranslatableString(concept, "display", None, "")
                entry.update(translations_of(string))
                table[(system, code)] = entry
            visit(system, concept.get("concept"))

    for resource in resources:
        if isinstance(resource, dict) and resource.get("resourceType") == "CodeSystem" and isinstance(resource.get("url"), str):
            visit(resource["url"], resource.get("concept"))
    return table


def _display_in(entry: dict[str, str], lang: str) -> str | None:
    if lang in entry:
        return entry[lang]
    for tag, display in entry.items():
        if language_matches(tag, lang):
            return display
    return None


def _apply_displays(node: Any, lang: str, displays: dict) -> None:
    """Give every Coding of a known CodeSystem that has a display the CodeSystem's display in `lang`."""
    if isinstance(node, list):
        for element in node:
            _apply_displays(element, lang, displays)
        return
    if not isinstance(node, dict):
        return
    key = (node.get("system"), node.get("code"))
    if isinstance(node.get("display"), str) and isinstance(key[0], str) and isinstance(key[1], str) and key in displays:
        display = _display_in(displays[key], lang)
        if display is not None:
            node["display"] = display
    for value in node.values():
        if isinstance(value, (dict, list)):
            _apply_displays(value, lang, displays)


def translate_resource(
    resource: dict, lang: str, source_language: str = "nl-NL", file: str = "", displays: dict | None = None
) -> tuple[dict, list[Issue]]:
    """A copy of `resource` in language `lang`, and a warning for each string left untranslated.

    Every translatable string is replaced by its `lang` translation (a missing one keeps the
    original text and is reported as `fhirrug-translation-missing`), every translation extension
    is removed, and `language` is set to `lang`. When `lang` is the source language (the same
    primary language, e.g. `nl` for `nl-NL`) the texts and `language` stay as they are and only
    the translations are removed. Resource types outside
    TRANSLATED_RESOURCE_TYPES only lose their translation extensions.

    `displays` (from `codesystem_displays` over the package's CodeSystems) makes every Coding of
    those systems show the CodeSystem's display in `lang`, so that the copy agrees with the
    translated CodeSystems; a Coding display resolved this way needs no translation of its own.
    """
    out = copy.deepcopy(resource)
    issues: list[Issue] = []
    translated_type = out.get("resourceType") in TRANSLATED_RESOURCE_TYPES
    into_source = language_matches(lang, source_language)
    if translated_type and not into_source:
        for string in list(translatable_strings(out)):
            translation = translation_for(string, lang)
            if translation is None and string.key == "display" and displays:
                key = (string.parent.get("system"), string.parent.get("code"))
                entry = displays.get(key) if all(isinstance(k, str) for k in key) else None
                translation = _display_in(entry, lang) if entry else None
            if translation is None:
                issues.append(
                    Issue(
                        "fhirrug-translation-missing",
                        WARNING,
                        f"{string.value!r} has no translation into {lang!r}; the original text is kept",
                        file,
                        string.expression,
                    )
                )
            elif string.index is None:
                string.parent[string.key] = translation
            else:
                string.parent[string.key][string.index] = translation
    if displays and translated_type and not into_source:
        _apply_displays(out, lang, displays)
    strip_translations(out)
    if translated_type and not into_source:
        out = _with_language(out, lang)
    return out, issues


def _with_language(resource: dict, lang: str) -> dict:
    """Set `language`, keeping the key where it was, or right after `meta`/`id` when it was absent."""
    if "language" in resource:
        resource["language"] = lang
        return resource
    result: dict = {}
    placed = False
    anchor = "meta" if "meta" in resource else "id"
    for key, value in resource.items():
        result[key] = value
        if key == anchor and not placed:
            result["language"] = lang
            placed = True
    if not placed:
        result["language"] = lang
    return result


# The identity of a single-language copy (`fhirrug translate --lang en`), so that an integrator can
# import it beside the original: `<id>-<lang>`, `<url>-<lang>`, the same version (it is the same
# release). Questionnaire, ValueSet and ConceptMap copies are artefacts of their own, derived from
# the original (Questionnaire.derivedFrom). A CodeSystem's url is the `system` of every Coding of
# its codes, so the copy must not change it: the copy is a CodeSystem *supplement* of the original
# (its own url, `content: supplement`, `supplements: <url>|<version>`, each concept's display
# in LANG also as a designation), and every Coding keeps the original system.
COPIED_AS_ARTEFACT = ("Questionnaire", "ValueSet", "ConceptMap")
COPIED_AS_SUPPLEMENT = ("CodeSystem",)


def _suffixed(value: Any, lang: str, joiner: str = "-") -> Any:
    return f"{value}{joiner}{lang}" if isinstance(value, str) and value else value


def copy_identities(resources: list[dict], lang: str) -> dict[str, str]:
    """Original url -> the copy's url, for the artefacts among `resources` (references to them in
    the other copies are rewritten, so the copies in LANG refer to each other)."""
    return {
        r["url"]: _suffixed(r["url"], lang)
        for r in resources
        if isinstance(r, dict) and r.get("resourceType") in COPIED_AS_ARTEFACT and isinstance(r.get("url"), str)
    }


def _rewrite_references(node: Any, renamed: dict[str, str]) -> Any:
    """Every canonical string `url` or `url|version` naming a renamed artefact, pointed at its copy."""
    if isinstance(node, dict):
        return {key: _rewrite_references(value, renamed) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite_references(value, renamed) for value in node]
    if isinstance(node, str):
        url, bar, version = node.partition("|")
        if url in renamed:
            return renamed[url] + bar + version
    return node


def with_own_identity(copy_: dict, original: dict, lang: str, renamed: dict[str, str]) -> dict:
    """The translated `copy_` of `original` with an identity of its own (see COPIED_AS_ARTEFACT and
    COPIED_AS_SUPPLEMENT); other resource types are returned unchanged."""
    kind = copy_.get("resourceType")
    if kind not in COPIED_AS_ARTEFACT + COPIED_AS_SUPPLEMENT:
        return copy_
    out = _rewrite_references(copy_, renamed)
    url, version = original.get("url"), original.get("version")
    canonical = f"{url}|{version}" if isinstance(url, str) and isinstance(version, str) else url
    out["id"] = _suffixed(out.get("id"), lang)
    out["url"] = _suffixed(url, lang)
    if isinstance(out.get("name"), str):
        out["name"] = _suffixed(out["name"], lang.replace("-", "_"), "_")
    if kind == "Questionnaire" and isinstance(canonical, str):
        derived = out.get("derivedFrom") if isinstance(out.get("derivedFrom"), list) else []
        out["derivedFrom"] = [*derived, canonical]
    if kind == "CodeSystem" and isinstance(canonical, str):
        out = _as_supplement(out, canonical, lang)
    return out


def _as_supplement(codesystem: dict, supplements: str, lang: str) -> dict:
    """A CodeSystem supplement of `supplements` carrying the LANG displays of its concepts."""
    out: dict = {}
    for key, value in codesystem.items():
        if key in ("valueSet", "count", "content", "supplements"):
            continue  # the implicit ValueSet and the concept count belong to the code system itself
        out[key] = value
        if key == "status":
            out["content"] = "supplement"
            out["supplements"] = supplements
    out.setdefault("content", "supplement")
    out.setdefault("supplements", supplements)

    def designate(concepts: Any) -> None:
        for concept in concepts if isinstance(concepts, list) else []:
            if isinstance(concept, dict):
                if isinstance(concept.get("display"), str):
                    designations = concept.get("designation") if isinstance(concept.get("designation"), list) else []
                    concept["designation"] = [*designations, {"language": lang, "value": concept["display"]}]
                designate(concept.get("concept"))

    designate(out.get("concept"))
    return out
