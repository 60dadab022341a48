"""The rule registry as text or JSON (`fhirrug rules`)."""

from __future__ import annotations

import inspect
import json
from typing import Callable, Sequence


def _scope(rule) -> str:
    types = ",".join(rule.resource_types) if rule.resource_types else "*"
    return f"{rule.scope}:{types}"


def rule_dict(rule) -> dict:
    record = {
        "id": rule.id,
        "severity": rule.severity,
        "scope": rule.scope,
        "resourceTypes": list(rule.resource_types),
        "summary": rule.summary,
        "spec": rule.spec,
        "doc": inspect.cleandoc(rule.doc),
    }
    if getattr(rule, "aliases", ()):
        record["aliases"] = list(rule.aliases)  # the ids the rule had in earlier releases
    return record


def render_text(rules: Sequence, version: str, verbose: bool = False) -> str:
    """One rule per line, aligned: id, severity, scope:types, summary, spec link.
    `verbose` adds each rule's documentation (its check function's docstring) below it."""
    if not rules:
        return "no rules registered\n"
    rows = [(r.id, r.severity, _scope(r), r.summary + _aliases(r), r.spec) for r in rules]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for rule, (rid, severity, scope, summary, spec) in zip(rules, rows):
        lines.append(f"{rid:<{widths[0]}}  {severity:<{widths[1]}}  {scope:<{widths[2]}}  {summary}  <{spec}>".rstrip())
        doc = inspect.cleandoc(rule.doc)
        if verbose and doc and doc != rule.summary:
            lines += ["    " + line if line.strip() else "" for line in doc.splitlines()]
            lines.append("")
    lines.append(f"{len(rules)} rule{'s' if len(rules) != 1 else ''} (fhirrug {version})")
    return "\n".join(lines) + "\n"


def _aliases(rule) -> str:
    former = getattr(rule, "aliases", ())
    return f" (formerly {', '.join(former)})" if former else ""


def render_json(rules: Sequence, version: str, verbose: bool = False) -> str:
    return json.dumps({"fhirrug": version, "rules": [rule_dict(r) for r in rules]}, ensure_ascii=False, indent=2) + "\n"


RULES_REPORTER_BY_NAME: dict[str, Callable[..., str]] = {"text": render_text, "json": render_json}
