"""Package rules (stage 6): what only the whole content package can tell.

Every canonical a resource refers to resolves inside the package (with `|version` too) or is a
well-known external or FHIR core canonical (`fhirrug.rules.terminology.EXTERNAL_SYSTEMS` and
`EXTERNAL_PREFIXES`); every code taken from a CodeSystem of the package exists there; file
names, ids and urls follow the package conventions; no two files claim the same canonical or
the same resourceType/id (a FHIR server would silently keep only one).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

from ..issues import ERROR, INFORMATION, WARNING, Issue
from ..model.contained import find_contained
from ..package import Package, Resource
from .registry import PACKAGE, STAGE, PackageFinding, Rule, rule_decorator
from .terminology import codesystem_for, concept_codes, is_complete, is_external, resolve, split_canonical
from .walk import Location, as_list, dicts, text, walk

RULES: list[Rule] = []
rule = rule_decorator(RULES)

CANONICAL = "https://hl7.org/fhir/R4/references.html#canonical"
RESOURCE_ID = "https://hl7.org/fhir/R4/resource.html#id"
TERMINOLOGY = "https://hl7.org/fhir/R4/terminologies.html"
CANONICAL_TYPES = frozenset({"Questionnaire", "CodeSystem", "ValueSet", "ConceptMap", "StructureDefinition"})


def _file(resource: Resource) -> str:
    return str(resource.path)


def _claims(package: Package, key_of) -> Iterator[tuple[Resource, list[Resource]]]:
    """(resource, the other resources with the same key) for every key claimed more than once."""
    groups: dict = {}
    for resource in package.resources:
        key = key_of(resource)
        if key is not None:
            groups.setdefault(key, []).append(resource)
    for group in groups.values():
        if len(group) > 1:
            for resource in group:
                yield resource, [r for r in group if r is not resource]


def _canonical_key(resource: Resource):
    return (resource.url, resource.version) if resource.url is not None else None


def _id_key(resource: Resource):
    resource_id = text(resource.data.get("id"))
    return (resource.resource_type, resource_id) if resource_id is not None and resource.resource_type else None


@rule("fhirrug-canonical-duplicate", ERROR, "No two resources claim the same canonical url|version", CANONICAL, scope=PACKAGE)
def canonical_duplicate(package: Package, ctx) -> Iterable[PackageFinding]:
    """Every `url|version` belongs to one resource: a second file claiming it makes every
    reference to it ambiguous. Reported on each of the files, naming the others (so that a
    file validated on its own hears about the clash too)."""
    for resource, others in _claims(package, _canonical_key):
        label = f"{resource.url}|{resource.version}" if resource.version else resource.url
        where = ", ".join(str(r.path) for r in others)
        yield PackageFinding(_file(resource), f"{resource.resource_type}.url", f"{label} is also claimed by {where}")


@rule("fhirrug-id-duplicate", ERROR, "No two resources share a resourceType and id", RESOURCE_ID, scope=PACKAGE)
def id_duplicate(package: Package, ctx) -> Iterable[PackageFinding]:
    """`<resourceType>/<id>` is unique in the package: importing both into a FHIR server with
    PUT keeps only the last one read. Reported on each of the files, naming the others."""
    for resource, others in _claims(package, _id_key):
        where = ", ".join(str(r.path) for r in others)
        yield PackageFinding(_file(resource), f"{resource.resource_type}.id", f"{resource.resource_type}/{_id_key(resource)[1]} is also the id of {where}")


def _content_resources(package: Package, ctx) -> Iterator[Resource]:
    """The resources whose files lie in the manifest's content folders (excluded subfolders
    such as examples/invalid included): the package conventions are for those files, not for
    a loose file elsewhere in the project or on standard input. Nothing without a manifest."""
    manifest = getattr(ctx, "manifest", None) or package.manifest
    if manifest is None:
        return
    folders = [_absolute(Path(manifest.root) / folder) for folder in manifest.content_dirs]
    for resource in package.resources:
        path = _absolute(Path(resource.path))
        if any(path.is_relative_to(folder) for folder in folders):
            yield resource


def _absolute(path: Path) -> Path:
    """Absolute and normalised without touching the disk (content files are found under the
    manifest root by rglob, so comparing lexically is enough)."""
    return Path(os.path.abspath(path))


@rule("fhirrug-id-file-name", ERROR, "The file is named <resourceType>-<id>.json", RESOURCE_ID, scope=PACKAGE)
def id_file_name(package: Package, ctx) -> Iterable[PackageFinding]:
    """A resource file of the package's content folders is named after what it holds:
    `Questionnaire-foo.json` holds the Questionnaire with id `foo`. Readers, diffs and
    `fhirrug export` find resources by file name. Loose files outside the content folders
    (and standard input) are not checked."""
    for resource in _content_resources(package, ctx):
        path = Path(resource.path)
        if path.suffix != ".json" or not resource.resource_type:
            continue
        resource_id = text(resource.data.get("id"))
        if resource_id is None:
            yield PackageFinding(_file(resource), resource.resource_type, f"{path.name}: the resource has no id (expected '{_id_from_name(path, resource.resource_type)}')")
            continue
        expected = f"{resource.resource_type}-{resource_id}.json"
        if path.name != expected:
            yield PackageFinding(_file(resource), f"{resource.resource_type}.id", f"{path.name} holds {resource.resource_type}/{resource_id}: name it {expected}")


def _id_from_name(path: Path, resource_type: str) -> str:
    stem = path.stem
    return stem[len(resource_type) + 1 :] if stem.startswith(resource_type + "-") else stem


@rule("fhirrug-url-canonical-base", ERROR, "A canonical resource's url is <package canonical>/<resourceType>/<id>", CANONICAL, scope=PACKAGE)
def url_canonical_base(package: Package, ctx) -> Iterable[PackageFinding]:
    """Questionnaire, CodeSystem, ValueSet, ConceptMap and StructureDefinition resources in the
    package's content folders have `url` = `<canonical>/<resourceType>/<id>`, with `canonical` from fhirrug.toml.
    Checked for the files in the manifest's content folders."""
    manifest = getattr(ctx, "manifest", None) or package.manifest
    for resource in _content_resources(package, ctx):
        if resource.resource_type not in CANONICAL_TYPES:
            continue
        resource_id = text(resource.data.get("id"))
        if resource_id is None:
            continue
        expected = f"{manifest.canonical}/{resource.resource_type}/{resource_id}"
        url = resource.data.get("url")
        if url is None:
            yield PackageFinding(_file(resource), resource.resource_type, f"no url: expected {expected}")
        elif url != expected:
            yield PackageFinding(_file(resource), f"{resource.resource_type}.url", f"url '{url}' is not {expected}")


# --- references -------------------------------------------------------------------------------


def _references(resource: Resource, package: Package | None = None) -> Iterator[tuple[str, str, str]]:
    """(FHIRPath, canonical, resourceType it must resolve to) for every canonical reference."""
    data, rt = resource.data, resource.resource_type
    if rt in ("Questionnaire", "QuestionnaireResponse", "Bundle"):  # a Questionnaire, contained or not
        for node, path in walk(data, rt):
            if isinstance(node, dict) and isinstance(node.get("answerValueSet"), str) and "linkId" in node:
                yield f"{path}.answerValueSet", node["answerValueSet"], "ValueSet"
    if rt == "ValueSet":
        compose = data.get("compose")
        if isinstance(compose, dict):
            for key in ("include", "exclude"):
                for i, include in dicts(compose.get(key)):
                    path = f"ValueSet.compose.{key}[{i}]"
                    system = text(include.get("system"))
                    if system is not None:
                        version = text(include.get("version"))
                        yield f"{path}.system", f"{system}|{version}" if version else system, "CodeSystem"
                    for j, canonical in enumerate(as_list(include.get("valueSet"))):
                        if isinstance(canonical, str):
                            yield f"{path}.valueSet[{j}]", canonical, "ValueSet"
    elif rt == "ConceptMap":
        for key in ("sourceUri", "sourceCanonical", "targetUri", "targetCanonical"):
            if isinstance(data.get(key), str):
                yield f"ConceptMap.{key.removesuffix('Uri').removesuffix('Canonical')}", data[key], "ValueSet"
        for g, group in dicts(data.get("group")):
            for key in ("source", "target"):
                system = text(group.get(key))
                if system is not None:
                    version = text(group.get(f"{key}Version"))
                    yield f"ConceptMap.group[{g}].{key}", f"{system}|{version}" if version else system, "CodeSystem"
    elif rt == "CodeSystem":
        if isinstance(data.get("valueSet"), str):
            yield "CodeSystem.valueSet", data["valueSet"], "ValueSet"
        if isinstance(data.get("supplements"), str):
            yield "CodeSystem.supplements", data["supplements"], "CodeSystem"
    scan = _scan(resource, package)
    for coding, path in scan.codings:
        yield Location(path, "system"), coding["system"], "CodeSystem"
    for url, path in scan.extensions:
        yield path, url, "StructureDefinition"


class _Scan:
    """What the package rules need from one walk over a resource: its Codings and extension urls."""

    __slots__ = ("resource", "codings", "extensions")

    def __init__(self, resource: Resource):
        self.resource = resource
        self.codings: list[tuple[dict, Location]] = []
        self.extensions: list[tuple[str, Location]] = []
        for node, path in walk(resource.data, resource.resource_type or "Resource"):
            if not isinstance(node, dict):
                continue
            if isinstance(node.get("system"), str) and isinstance(node.get("code"), str) and _is_coding_path(path):
                self.codings.append((node, path))
            for key in ("extension", "modifierExtension"):
                extensions = node.get(key)
                if type(extensions) is not list:
                    continue
                for i, extension in enumerate(extensions):
                    url = extension.get("url") if type(extension) is dict else None
                    if isinstance(url, str) and ":" in url:  # sub-extensions have relative names
                        self.extensions.append((url, Location(Location(path, key, i), "url")))


def _scan(resource: Resource, package: Package | None = None) -> _Scan:
    """The walk of one resource, kept in the package's memo: the package rules share it."""
    memo = getattr(package, "memo", None)
    if memo is None:
        return _Scan(resource)
    return memo("scan", resource, _Scan)


def _is_coding_path(path) -> bool:
    """Skip objects that have system and code but are not Codings: Quantity values. (ValueSet
    expansion entries are system + code too, and are checked as Codings.)"""
    name = path.name if hasattr(path, "name") else str(path).rsplit(".", 1)[-1]
    return not name.startswith(("valueQuantity", "answerQuantity", "initialQuantity", "quantity"))


@rule("fhirrug-canonical-unresolved", ERROR, "The package's own canonicals, and #id references to contained resources, resolve", CANONICAL, scope=PACKAGE)
def canonical_unresolved(package: Package, ctx) -> Iterable[PackageFinding | Issue]:
    """In the package's own content (the files of the manifest's content folders), every
    canonical under the package's `canonical` base resolves to a resource of the package,
    matching `|version` when one is given: Questionnaire `answerValueSet`; ValueSet
    `compose.include/exclude.system` (with `version`) and `.valueSet`; ConceptMap source,
    target and group source/target systems; CodeSystem `valueSet`/`supplements`; the system of
    every Coding; the url of every extension. A `#id` reference (an answerValueSet bound to a
    contained ValueSet) resolves to a contained resource of that type, in any file.

    Canonicals that are not the package's (a local or national code system such as a Dutch
    `urn:oid:2.16.840.1.113883.2.4…`, another guide's extension) and every canonical in files
    validated from outside the content folders are not required to resolve: fhirrug has no
    terminology server or package registry, so it says once per file and canonical that it
    could not look it up (`fhirrug-canonical-external`, information; re-grade it in the
    configuration to require resolution). FHIR core and HL7 terminology (`http://hl7.org/fhir/…`,
    `http://terminology.hl7.org/…`), SNOMED CT, LOINC, ICD-10, UCUM, ISO 3166 and BCP-47/13 are
    known and not reported."""
    own = {id(r) for r in _content_resources(package, ctx)}
    manifest = getattr(ctx, "manifest", None) or package.manifest
    base = f"{manifest.canonical.rstrip('/')}/" if manifest is not None and manifest.canonical else None
    for resource in package.resources:
        unlooked: dict[str, list[str]] = {}  # canonical -> its locations, for one information each
        for path, canonical, resource_type in _references(resource, package):
            if canonical.startswith("#"):
                # The file's resource holds the contained list, also for a contained Questionnaire
                # (a contained resource cannot contain others: '#id' resolves in its container).
                if find_contained([resource.data], canonical, resource_type) is None:
                    yield PackageFinding(_file(resource), str(path), f"{canonical}: no contained {resource_type} with id '{canonical[1:]}'")
                continue
            if is_external(canonical):
                continue
            if resolve(package, canonical, resource_type) is not None:
                continue
            if id(resource) not in own or base is None or not canonical.startswith(base):
                unlooked.setdefault(canonical, []).append(str(path))
                continue
            url, version = split_canonical(canonical)
            other = resolve(package, url, resource_type) if version else None
            if other is not None:
                message = f"{canonical}: the package has {resource_type} {url} only in version {other.version}"
            else:
                message = f"{canonical} is not a {resource_type} of this package"
            yield PackageFinding(_file(resource), str(path), message)
        for canonical, paths in unlooked.items():
            more = f" (and {len(paths) - 1} more place{'s' if len(paths) > 2 else ''})" if len(paths) > 1 else ""
            yield Issue(
                "fhirrug-canonical-external",
                INFORMATION,
                f"{canonical} is not in the package and fhirrug cannot look it up (no terminology server); not checked{more}",
                _file(resource),
                paths[0],
            )


RULES.append(Rule("fhirrug-canonical-external", INFORMATION, "A canonical that is not the package's (or in a file from outside the package) could not be looked up; not checked", CANONICAL, scope=STAGE))


# --- codes ------------------------------------------------------------------------------------


def _coded(package: Package, resource: Resource) -> list[tuple[str, str, str | None, str, str | None]]:
    """(FHIRPath, system, version, code, display) for every code the resource takes from a system
    (kept in the package's memo: code-unknown and code-display share one walk)."""
    memo = getattr(package, "memo", None)
    if memo is None:
        return list(_walk_coded(resource, package))
    return memo("coded", resource, lambda r: list(_walk_coded(r, package)))


def _walk_coded(resource: Resource, package: Package | None = None) -> Iterator[tuple[str, str, str | None, str, str | None]]:
    data, rt = resource.data, resource.resource_type
    if rt == "ValueSet" and isinstance(data.get("compose"), dict):
        for key in ("include", "exclude"):
            for i, include in dicts(data["compose"].get(key)):
                system = text(include.get("system"))
                if system is None:
                    continue
                for j, concept in dicts(include.get("concept")):
                    code = text(concept.get("code"))
                    if code is not None:
                        yield f"ValueSet.compose.{key}[{i}].concept[{j}].code", system, text(include.get("version")), code, text(concept.get("display"))
    if rt == "ConceptMap":
        for g, group in dicts(data.get("group")):
            source, target = text(group.get("source")), text(group.get("target"))
            for e, element in dicts(group.get("element")):
                code = text(element.get("code"))
                if source and code is not None:
                    yield f"ConceptMap.group[{g}].element[{e}].code", source, text(group.get("sourceVersion")), code, text(element.get("display"))
                for t, mapped in dicts(element.get("target")):
                    code = text(mapped.get("code"))
                    if target and code is not None:
                        yield f"ConceptMap.group[{g}].element[{e}].target[{t}].code", target, text(group.get("targetVersion")), code, text(mapped.get("display"))
    for coding, path in _scan(resource, package).codings:
        yield Location(path, "code"), coding["system"], text(coding.get("version")), coding["code"], text(coding.get("display"))


def _package_codes(package: Package, system: str, version: str | None, cache: dict) -> dict[str, dict] | None:
    key = (system, version)
    if key not in cache:
        codesystem = None if is_external(system) else codesystem_for(package, system, version)
        cache[key] = concept_codes(codesystem) if codesystem is not None and is_complete(codesystem) else None
    return cache[key]


@rule("fhirrug-code-unknown", ERROR, "Codes from a CodeSystem of the package exist in it", TERMINOLOGY, scope=PACKAGE)
def code_unknown(package: Package, ctx) -> Iterable[PackageFinding]:
    """A code taken from a CodeSystem the package contains (with content `complete`) is defined
    there: ValueSet `compose.include.concept.code`, ConceptMap source and target codes, and
    every Coding (answerOption, item.code, enableWhen.answerCoding, extensions, response
    answers)."""
    cache: dict = {}
    for resource in package.resources:
        for path, system, version, code, _ in _coded(package, resource):
            codes = _package_codes(package, system, version, cache)
            if codes is not None and code not in codes:
                yield PackageFinding(_file(resource), str(path), f"code '{code}' is not defined in {system}")


def _display_translations(concept: dict) -> set:
    from ..translate import TranslatableString, translations_of

    return set(translations_of(TranslatableString(concept, "display", None, "")).values())


@rule("fhirrug-code-display", WARNING, "A code's display matches the display its CodeSystem gives it", TERMINOLOGY, scope=PACKAGE)
def code_display(package: Package, ctx) -> Iterable[PackageFinding]:
    """Where a code from a CodeSystem of the package carries a `display`, it is the concept's
    `display` (or one of its designations): a display that drifted from the CodeSystem shows
    users a different text than the one the code means."""
    cache: dict = {}
    for resource in package.resources:
        for path, system, version, code, display in _coded(package, resource):
            if display is None:
                continue
            codes = _package_codes(package, system, version, cache)
            concept = codes.get(code) if codes is not None else None
            if concept is None:
                continue
            allowed = {text(concept.get("display"))} | {text(d.get("value")) for _, d in dicts(concept.get("designation"))}
            allowed |= _display_translations(concept)  # a single-language copy (fhirrug translate) shows these
            allowed.discard(None)
            if allowed and display not in allowed:
                yield PackageFinding(_file(resource), str(path).removesuffix(".code") + ".display", f"display '{display}' of {system}|{code} differs from the CodeSystem's '{text(concept.get('display'))}'")
