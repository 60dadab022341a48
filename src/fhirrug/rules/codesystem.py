"""CodeSystem rules (stage 5): csd-0, csd-1 of FHIR R4, and fhirrug's checks that `count` and
`content` agree with the concepts the CodeSystem lists."""

from __future__ import annotations

from typing import Iterable, Iterator

from ..issues import ERROR, WARNING
from .registry import Finding, Rule, rule_decorator
from .walk import dicts, name_not_computable, nested, present, text

RULES: list[Rule] = []
rule = rule_decorator(RULES)

INVARIANTS = "https://hl7.org/fhir/R4/codesystem.html#invs"
CS = ("CodeSystem",)


def _concepts(codesystem: dict) -> Iterator[tuple[dict, str]]:
    """Every concept, nested ones included, with its FHIRPath, in document order."""
    return nested(codesystem, "concept", "CodeSystem")


@rule("csd-0", WARNING, "Name should be usable as an identifier for the module by machine processing applications", INVARIANTS, resource_types=CS)
def csd_0(codesystem: dict, ctx) -> Iterable[Finding]:
    """`CodeSystem.name`, when present, matches `[A-Z]([A-Za-z0-9_]){0,254}`."""
    message = name_not_computable(codesystem)
    if message:
        yield Finding("CodeSystem", message)


@rule("csd-1", ERROR, "Within a code system definition, all the codes SHALL be unique", INVARIANTS, resource_types=CS)
def csd_1(codesystem: dict, ctx) -> Iterable[Finding]:
    """Every `concept.code` occurs once in the CodeSystem, nested concepts included (a code
    cannot sit under two parents by being repeated; use the parent property for that)."""
    first: dict[str, str] = {}
    for concept, path in _concepts(codesystem):
        code = text(concept.get("code"))
        if code is None:
            continue
        if code in first:
            yield Finding(f"{path}.code", f"code '{code}' is also defined at {first[code]}")
        else:
            first[code] = path


@rule("fhirrug-codesystem-count", ERROR, "CodeSystem.count equals the number of concepts listed", "https://hl7.org/fhir/R4/codesystem-definitions.html#CodeSystem.count", resource_types=CS)
def codesystem_count(codesystem: dict, ctx) -> Iterable[Finding]:
    """When a CodeSystem with content `complete` states `count`, it equals the number of
    concepts it defines (nested ones included). A stale count after adding a code misleads
    every server that shows it."""
    stated = codesystem.get("count")
    if not isinstance(stated, int) or isinstance(stated, bool) or codesystem.get("content") != "complete":
        return
    actual = sum(1 for _ in _concepts(codesystem))
    if stated != actual:
        yield Finding("CodeSystem.count", f"count is {stated} but the CodeSystem defines {actual} concepts")


@rule("fhirrug-codesystem-content", ERROR, "CodeSystem.content agrees with the concepts listed", "https://hl7.org/fhir/R4/codesystem-definitions.html#CodeSystem.content", resource_types=CS)
def codesystem_content(codesystem: dict, ctx) -> Iterable[Finding]:
    """`content` tells a server how much of the code system the resource holds: `not-present`
    lists no concepts; `complete` lists at least one; `supplement` names what it supplements
    in `supplements`."""
    content = codesystem.get("content")
    has_concepts = present(codesystem, "concept")
    if content == "not-present" and has_concepts:
        yield Finding("CodeSystem.content", "content is 'not-present' but concepts are listed")
    elif content == "complete" and not has_concepts:
        yield Finding("CodeSystem.content", "content is 'complete' but no concepts are listed")
    elif content == "supplement" and not present(codesystem, "supplements"):
        yield Finding("CodeSystem.content", "content is 'supplement' but supplements is missing")


# CodeSystem.property.type -> the concept.property.value[x] it takes
_PROPERTY_VALUE = {
    "code": "valueCode",
    "Coding": "valueCoding",
    "string": "valueString",
    "integer": "valueInteger",
    "boolean": "valueBoolean",
    "dateTime": "valueDateTime",
    "decimal": "valueDecimal",
}


@rule("fhirrug-codesystem-property", ERROR, "Concept properties are declared in CodeSystem.property, with a value of the declared type", "https://hl7.org/fhir/R4/codesystem-definitions.html#CodeSystem.concept.property", resource_types=CS)
def codesystem_property(codesystem: dict, ctx) -> Iterable[Finding]:
    """Every `concept.property.code` is declared in `CodeSystem.property` (R4: "a code that
    identifies the property; the property must be defined in CodeSystem.property"), and its
    value[x] has the declared `type` (code -> valueCode, Coding -> valueCoding, string ->
    valueString, integer, boolean, dateTime, decimal). An undeclared or mistyped property means
    nothing to a terminology server."""
    declared: dict[str, str | None] = {}
    for _, prop in dicts(codesystem.get("property")):
        code = text(prop.get("code"))
        if code is not None:
            declared[code] = text(prop.get("type"))
    for concept, path in _concepts(codesystem):
        for index, prop in dicts(concept.get("property")):
            code = text(prop.get("code"))
            if code is None:
                continue
            where = f"{path}.property[{index}]"
            if code not in declared:
                yield Finding(f"{where}.code", f"property '{code}' of concept '{concept.get('code')}' is not declared in CodeSystem.property")
                continue
            expected = _PROPERTY_VALUE.get(declared[code] or "")
            found = [key for key in prop if key.startswith("value")]
            if expected is not None and found and expected not in found:
                yield Finding(f"{where}.{found[0]}", f"property '{code}' is declared as {declared[code]}, so its value is {expected}, not {found[0]}")
