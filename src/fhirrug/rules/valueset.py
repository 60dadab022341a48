"""ValueSet invariants of FHIR R4 (stage 5): vsd-0, vsd-1, vsd-2, vsd-3, vsd-6, vsd-9, vsd-10.

R4 defines no vsd-4, -5, -7, -8 or -11 (they existed in earlier releases or were never
published). vsd-1..3 apply to `compose.include` and to `compose.exclude` (which has the
same definition); vsd-6, -9 and -10 to `expansion.contains` at any depth.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from ..issues import ERROR, WARNING
from .registry import Finding, Rule, rule_decorator
from .walk import dicts, name_not_computable, nested, present

RULES: list[Rule] = []
rule = rule_decorator(RULES)

INVARIANTS = "https://hl7.org/fhir/R4/valueset.html#invs"
VS = ("ValueSet",)


def _includes(valueset: dict) -> Iterator[tuple[dict, str]]:
    compose = valueset.get("compose")
    if not isinstance(compose, dict):
        return
    for key in ("include", "exclude"):
        for index, include in dicts(compose.get(key)):
            yield include, f"ValueSet.compose.{key}[{index}]"


def _contains(valueset: dict) -> Iterator[tuple[dict, str]]:
    expansion = valueset.get("expansion")
    if not isinstance(expansion, dict):
        return iter(())
    return nested(expansion, "contains", "ValueSet.expansion")


@rule("vsd-0", WARNING, "Name should be usable as an identifier for the module by machine processing applications", INVARIANTS, resource_types=VS)
def vsd_0(valueset: dict, ctx) -> Iterable[Finding]:
    """`ValueSet.name`, when present, matches `[A-Z]([A-Za-z0-9_]){0,254}`."""
    message = name_not_computable(valueset)
    if message:
        yield Finding("ValueSet", message)


@rule("vsd-1", ERROR, "A value set include/exclude SHALL have a value set or a system", INVARIANTS, resource_types=VS)
def vsd_1(valueset: dict, ctx) -> Iterable[Finding]:
    """Every `compose.include` and `compose.exclude` names a `system` or imports a `valueSet`."""
    for include, path in _includes(valueset):
        if not present(include, "system") and not present(include, "valueSet"):
            yield Finding(path, "include/exclude has neither system nor valueSet")


@rule("vsd-2", ERROR, "A value set with concepts or filters SHALL include a system", INVARIANTS, resource_types=VS)
def vsd_2(valueset: dict, ctx) -> Iterable[Finding]:
    """An include/exclude that lists `concept`s or `filter`s says which `system` they come from."""
    for include, path in _includes(valueset):
        if (present(include, "concept") or present(include, "filter")) and not present(include, "system"):
            yield Finding(path, "include/exclude lists concepts or filters but has no system")


@rule("vsd-3", ERROR, "Cannot have both concept and filter", INVARIANTS, resource_types=VS)
def vsd_3(valueset: dict, ctx) -> Iterable[Finding]:
    """An include/exclude enumerates `concept`s or selects by `filter`, not both; use two
    includes for both."""
    for include, path in _includes(valueset):
        if present(include, "concept") and present(include, "filter"):
            yield Finding(path, "include/exclude has both concept and filter")


@rule("vsd-6", ERROR, "SHALL have a code or a display", INVARIANTS, resource_types=VS)
def vsd_6(valueset: dict, ctx) -> Iterable[Finding]:
    """Every `expansion.contains` entry has a `code` or a `display`."""
    for entry, path in _contains(valueset):
        if not present(entry, "code") and not present(entry, "display"):
            yield Finding(path, "expansion entry has neither code nor display")


@rule("vsd-9", ERROR, "Must have a code if not abstract", INVARIANTS, resource_types=VS)
def vsd_9(valueset: dict, ctx) -> Iterable[Finding]:
    """An `expansion.contains` entry without `code` is marked `abstract: true` (a heading)."""
    for entry, path in _contains(valueset):
        if not present(entry, "code") and entry.get("abstract") is not True:
            yield Finding(path, "expansion entry has no code and is not abstract")


@rule("vsd-10", ERROR, "Must have a system if a code is present", INVARIANTS, resource_types=VS)
def vsd_10(valueset: dict, ctx) -> Iterable[Finding]:
    """An `expansion.contains` entry with a `code` says which `system` it is from."""
    for entry, path in _contains(valueset):
        if present(entry, "code") and not present(entry, "system"):
            yield Finding(path, f"expansion entry '{entry.get('code')}' has a code but no system")
