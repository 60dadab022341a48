"""Just enough terminology to check a package against itself: the codes of a CodeSystem, the
codes a ValueSet includes (when the package alone can tell), and which canonical URLs may be
left unresolved because they name well-known external or FHIR core terminology.

No terminology server is involved: what cannot be computed from the package returns None and
the rules asking skip the check.
"""

from __future__ import annotations

from typing import Any

from ..package import Package, Resource
from ..model.elements import as_list, dicts, text

# Code systems and canonical bases the package may use without containing them.
EXTERNAL_SYSTEMS = frozenset(
    {
        "http://snomed.info/sct",
        "http://hl7.org/fhir/sid/icd-10",
        "http://hl7.org/fhir/sid/icd-10-nl",
        "http://loinc.org",
        "http://unitsofmeasure.org",
        "urn:iso:std:iso:3166",
        "urn:ietf:bcp:47",
        "urn:ietf:bcp:13",
    }
)
# FHIR core (http://hl7.org/fhir/...) and HL7 Terminology (THO) canonicals.
EXTERNAL_PREFIXES = ("http://hl7.org/fhir/", "http://terminology.hl7.org/")

# How deep a ValueSet may import other ValueSets before we give up (and how we stop cycles).
_MAX_IMPORT_DEPTH = 8


def is_external(canonical: str) -> bool:
    url = canonical.partition("|")[0]
    return url in EXTERNAL_SYSTEMS or url.startswith(EXTERNAL_PREFIXES)


def split_canonical(canonical: str) -> tuple[str, str | None]:
    url, bar, version = canonical.partition("|")
    return url, (version if bar and version else None)


def _by_url(package: Package) -> dict[str, list[Resource]]:
    """url -> the package's resources with that url, kept in the package's memo (for this list
    of resources and its length: a resource added means a new index)."""
    memo = getattr(package, "memo", None)
    if memo is None:
        return _url_index(package.resources)
    return memo(("url-index", len(package.resources)), package.resources, _url_index)


def _url_index(resources: list[Resource]) -> dict[str, list[Resource]]:
    index: dict[str, list[Resource]] = {}
    for resource in resources:
        if resource.url is not None:
            index.setdefault(resource.url, []).append(resource)
    return index


def resolve(package: Package | None, canonical: str, resource_type: str | None = None) -> Resource | None:
    """`Package.resolve` through a url index (rules resolve thousands of Coding systems)."""
    if package is None or not isinstance(canonical, str) or not canonical:
        return None
    url, _, version = canonical.partition("|")
    candidates = [
        r
        for r in _by_url(package).get(url, ())
        if (not version or r.version == version) and (resource_type is None or r.resource_type == resource_type)
    ]
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    return package.resolve(canonical, resource_type)  # several versions: the package decides which wins


def concept_codes(codesystem: dict) -> dict[str, dict]:
    """code -> concept for every concept of a CodeSystem, nested ones included (first wins)."""
    out: dict[str, dict] = {}
    stack = [c for _, c in dicts(codesystem.get("concept"))]
    stack.reverse()
    while stack:
        concept = stack.pop()
        code = text(concept.get("code"))
        if code is not None:
            out.setdefault(code, concept)
        children = [c for _, c in dicts(concept.get("concept"))]
        stack.extend(reversed(children))
    return out


def is_complete(codesystem: dict) -> bool:
    """Only a CodeSystem with content `complete` lists every code it defines."""
    return codesystem.get("content") == "complete"


def codesystem_for(package: Package | None, system: str, version: str | None = None) -> dict | None:
    """The package's CodeSystem for `system` (and version), or None."""
    canonical = f"{system}|{version}" if version else system
    found = resolve(package, canonical, "CodeSystem")
    return found.data if found is not None else None


def valueset_codes(package: Package | None, valueset: dict, _depth: int = 0) -> set[tuple[str, str]] | None:
    """The (system, code) pairs a ValueSet contains, computed from the package alone.

    None when that cannot be decided offline: a filter, an external code system included whole,
    an imported ValueSet not in the package, a CodeSystem that is not `complete`.
    """
    if _depth > _MAX_IMPORT_DEPTH:
        return None
    compose = valueset.get("compose")
    if not isinstance(compose, dict):
        expansion = valueset.get("expansion")
        if isinstance(expansion, dict):
            return _expansion_codes(expansion)
        return None
    included: set[tuple[str, str]] = set()
    for _, include in dicts(compose.get("include")):
        codes = _include_codes(package, include, _depth)
        if codes is None:
            return None
        included |= codes
    for _, exclude in dicts(compose.get("exclude")):
        codes = _include_codes(package, exclude, _depth)
        if codes is None:
            return None
        included -= codes
    return included


def _expansion_codes(expansion: dict) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    stack = [c for _, c in dicts(expansion.get("contains"))]
    while stack:
        entry = stack.pop()
        system, code = text(entry.get("system")), text(entry.get("code"))
        if system and code:
            out.add((system, code))
        stack.extend(c for _, c in dicts(entry.get("contains")))
    return out


def _include_codes(package: Package | None, include: dict, depth: int) -> set[tuple[str, str]] | None:
    sets: list[set[tuple[str, str]]] = []
    system = text(include.get("system"))
    if system is not None:
        if as_list(include.get("filter")):
            return None
        listed = [text(c.get("code")) for _, c in dicts(include.get("concept"))]
        if listed:
            sets.append({(system, code) for code in listed if code is not None})
        else:
            codesystem = codesystem_for(package, system, text(include.get("version")))
            if codesystem is None or not is_complete(codesystem):
                return None
            sets.append({(system, code) for code in concept_codes(codesystem)})
    for canonical in as_list(include.get("valueSet")):
        if not isinstance(canonical, str):
            return None
        imported = resolve(package, canonical, "ValueSet")
        if imported is None:
            return None
        codes = valueset_codes(package, imported.data, depth + 1)
        if codes is None:
            return None
        sets.append(codes)
    if not sets:
        return None
    result = sets[0]
    for other in sets[1:]:  # system and valueSet together: the intersection
        result = result & other
    return result


def coding_key(coding: Any) -> tuple[str | None, str] | None:
    if not isinstance(coding, dict):
        return None
    code = text(coding.get("code"))
    if code is None:
        return None
    return text(coding.get("system")), code
