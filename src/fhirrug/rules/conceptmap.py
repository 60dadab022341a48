"""ConceptMap invariants of FHIR R4 (stage 5): cmd-0 … cmd-3."""

from __future__ import annotations

from typing import Iterable

from ..issues import ERROR, WARNING
from .registry import Finding, Rule, rule_decorator
from .walk import dicts, name_not_computable, present

RULES: list[Rule] = []
rule = rule_decorator(RULES)

INVARIANTS = "https://hl7.org/fhir/R4/conceptmap.html#invs"
CM = ("ConceptMap",)


@rule("cmd-0", WARNING, "Name should be usable as an identifier for the module by machine processing applications", INVARIANTS, resource_types=CM)
def cmd_0(conceptmap: dict, ctx) -> Iterable[Finding]:
    """`ConceptMap.name`, when present, matches `[A-Z]([A-Za-z0-9_]){0,254}`."""
    message = name_not_computable(conceptmap)
    if message:
        yield Finding("ConceptMap", message)


@rule("cmd-1", ERROR, "If the map is narrower or inexact, there SHALL be some comments", INVARIANTS, resource_types=CM)
def cmd_1(conceptmap: dict, ctx) -> Iterable[Finding]:
    """A target with equivalence `narrower` or `inexact` explains in `comment` what is lost."""
    for g, group in dicts(conceptmap.get("group")):
        for e, element in dicts(group.get("element")):
            for t, target in dicts(element.get("target")):
                if target.get("equivalence") in ("narrower", "inexact") and not present(target, "comment"):
                    yield Finding(f"ConceptMap.group[{g}].element[{e}].target[{t}]", f"'{target.get('equivalence')}' mapping of '{element.get('code')}' has no comment")


def _unmapped(conceptmap: dict):
    for g, group in dicts(conceptmap.get("group")):
        unmapped = group.get("unmapped")
        if isinstance(unmapped, dict):
            yield unmapped, f"ConceptMap.group[{g}].unmapped"


@rule("cmd-2", ERROR, "If the mode is 'fixed', a code must be provided", INVARIANTS, resource_types=CM)
def cmd_2(conceptmap: dict, ctx) -> Iterable[Finding]:
    """`group.unmapped` with mode `fixed` gives the `code` to map to."""
    for unmapped, path in _unmapped(conceptmap):
        if unmapped.get("mode") == "fixed" and not present(unmapped, "code"):
            yield Finding(path, "unmapped mode 'fixed' without code")


@rule("cmd-3", ERROR, "If the mode is 'other-map', a url must be provided", INVARIANTS, resource_types=CM)
def cmd_3(conceptmap: dict, ctx) -> Iterable[Finding]:
    """`group.unmapped` with mode `other-map` gives the `url` of the other map."""
    for unmapped, path in _unmapped(conceptmap):
        if unmapped.get("mode") == "other-map" and not present(unmapped, "url"):
            yield Finding(path, "unmapped mode 'other-map' without url")
