"""Rules are plain functions registered with an id, a default severity, the resource types they
apply to, a one-line summary and a spec link.

Each rules module owns a `RULES` list and registers into it with `rule_decorator(RULES)`;
`fhirrug.rules.all_rules()` concatenates the modules' lists explicitly, so nothing is filled
by import side effects and tests can build a RuleSet of just the rules they want.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple

RESOURCE = "resource"  # check(resource: dict, ctx) -> Iterable[Finding]
PACKAGE = "package"  # check(package, ctx) -> Iterable[PackageFinding]
STAGE = "stage"  # reported by a pipeline stage (parse, schema, model, bindings); no check function


class Finding(NamedTuple):
    expression: str
    message: str


class PackageFinding(NamedTuple):
    file: str
    expression: str
    message: str


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    summary: str
    spec: str
    scope: str = RESOURCE
    resource_types: tuple[str, ...] = ()  # empty: every resource type
    check: Callable[..., Iterable] | None = None
    # Ids this rule had in earlier releases: `fhirrug rules` shows them, configuration accepts them.
    aliases: tuple[str, ...] = ()

    def applies_to(self, resource_type: str) -> bool:
        return not self.resource_types or resource_type in self.resource_types

    @property
    def doc(self) -> str:
        """The rule's documentation: the check function's docstring, else its summary."""
        return (self.check.__doc__ or self.summary).strip() if self.check else self.summary


def rule_decorator(registry: list[Rule]):
    """Return a decorator that registers check functions into `registry` (a module's RULES list)."""

    def rule(id: str, severity: str, summary: str, spec: str, *, scope: str = RESOURCE, resource_types: tuple[str, ...] = (), aliases: tuple[str, ...] = ()):
        def register(check):
            registry.append(Rule(id, severity, summary, spec, scope, tuple(resource_types), check, tuple(aliases)))
            return check

        return register

    return rule


def aliases_by_id(rules: Iterable[Rule]) -> dict[str, tuple[str, ...]]:
    """rule id -> its former ids, for the rules that have any (what `Config.apply` accepts)."""
    return {r.id: r.aliases for r in rules if r.aliases}
