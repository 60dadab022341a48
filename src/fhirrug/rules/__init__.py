"""The rule registry: every check `fhirrug validate` can report, with id, severity and spec link."""

from __future__ import annotations

from .registry import PACKAGE, RESOURCE, STAGE, Finding, PackageFinding, Rule, aliases_by_id, rule_decorator

__all__ = ["PACKAGE", "RESOURCE", "STAGE", "Finding", "PackageFinding", "Rule", "aliases_by_id", "rule_decorator", "all_rules"]

# The modules that own a RULES list, in the order `fhirrug rules` lists them.
_MODULES = (
    "fhirrug.rules.stages",
    "fhirrug.rules.questionnaire",
    "fhirrug.rules.questionnaire_response",
    "fhirrug.rules.valueset",
    "fhirrug.rules.codesystem",
    "fhirrug.rules.conceptmap",
    "fhirrug.rules.package_rules",
    "fhirrug.rules.responses",
    "fhirrug.rules.translation",
    "fhirrug.rules.verbatim",
    "fhirrug.rules.narrative",
)


def all_rules() -> list[Rule]:
    """Every registered rule, by module order. A module that fails to import is a bug, never skipped."""
    import importlib

    rules: list[Rule] = []
    for name in _MODULES:
        rules.extend(importlib.import_module(name).RULES)
    return rules
