"""Helpers for the rule tests: run one rule by id on an inline fixture, get (code, expression) pairs."""

from __future__ import annotations

from pathlib import Path

from fhirrug.manifest import Manifest
from fhirrug.package import Package, Resource
from fhirrug.rules import PACKAGE, all_rules
from fhirrug.validate.pipeline import RuleContext

CANONICAL = "https://fhir.fhirrug.nl"
OWN_MODULES = (
    "fhirrug.rules.questionnaire",
    "fhirrug.rules.questionnaire_response",
    "fhirrug.rules.valueset",
    "fhirrug.rules.codesystem",
    "fhirrug.rules.conceptmap",
    "fhirrug.rules.package_rules",
)


def own_rules():
    return [r for r in all_rules() if r.check is not None and r.check.__module__ in OWN_MODULES]


def rule_by_id(rule_id: str):
    found = [r for r in all_rules() if r.id == rule_id]
    assert len(found) == 1, f"{rule_id} registered {len(found)} times"
    return found[0]


def manifest(root: Path = Path(".")) -> Manifest:
    return Manifest(root=root, name="test.package", version="0.1.0", canonical=CANONICAL, publisher="fhirrug")


def package(*resources: dict | tuple[str, dict], with_manifest: bool = True) -> Package:
    """A package from resources; a bare dict gets the conventional file name <type>-<id>.json."""
    loaded = []
    for entry in resources:
        if isinstance(entry, tuple):
            name, data = entry
        else:
            data = entry
            name = f"{data.get('resourceType')}-{data.get('id')}.json"
        loaded.append(Resource(path=Path(name), data=data))
    return Package(manifest=manifest() if with_manifest else None, resources=loaded)


def run(rule_id: str, resource: dict, context: Package | None = None) -> set[tuple[str, str]]:
    """(code, expression) of every finding of one resource rule on one resource."""
    rule = rule_by_id(rule_id)
    assert rule.scope != PACKAGE
    ctx = RuleContext(context if context is not None else package(resource))
    return {(rule.id, f.expression) for f in rule.check(resource, ctx)}


def run_package(rule_id: str, pkg: Package) -> set[tuple[str, str, str]]:
    """(code, file, expression) of every finding of one package rule."""
    rule = rule_by_id(rule_id)
    assert rule.scope == PACKAGE
    found = {(getattr(f, "code", rule.id), f.file, f.expression) for f in rule.check(pkg, RuleContext(pkg))}
    return {f for f in found if f[0] == rule.id}  # a rule may also yield Issues of another code


def questionnaire(*items: dict, **fields) -> dict:
    return {"resourceType": "Questionnaire", "id": "q", "url": f"{CANONICAL}/Questionnaire/q", "status": "draft", **fields, "item": list(items)}


def coding(code: str, system: str = f"{CANONICAL}/CodeSystem/cs", display: str | None = None) -> dict:
    out = {"system": system, "code": code}
    if display is not None:
        out["display"] = display
    return out


def choice(link_id: str, *codes: str, **fields) -> dict:
    return {"linkId": link_id, "type": "choice", "text": link_id, "answerOption": [{"valueCoding": coding(c)} for c in codes], **fields}


def question(link_id: str, type_: str = "string", **fields) -> dict:
    return {"linkId": link_id, "type": type_, "text": link_id, **fields}


def when(question_: str, operator: str = "=", **answer) -> dict:
    return {"question": question_, "operator": operator, **answer}
