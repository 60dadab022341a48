"""One answer per question across commands (issue 17): the same Questionnaire gets the same
codes and severities from `fhirrug validate`, `fhirrug evaluate` and `fhirrug paths`; an outcome
is the same thing for the engine, `paths` and `diff`; a rule's former id still selects it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug.cli import main
from fhirrug.engine import Engine, compile
from fhirrug.engine.paths import routes
from fhirrug.model import problems
from fhirrug.package import load_package
from fhirrug.release.diff import diff_changes
from fhirrug.validate import validate_paths

ROOT = Path(__file__).resolve().parents[1]


def _q(name: str, *items) -> dict:
    return {"resourceType": "Questionnaire", "id": name, "url": f"http://example.org/Questionnaire/{name}", "status": "draft", "item": list(items)}


def _b(link_id: str, **extra) -> dict:
    return {"linkId": link_id, "type": "boolean", "text": link_id, **extra}


def _when(question: str, operator: str = "=", **answer) -> dict:
    return {"question": question, "operator": operator, **answer}


_CHOICE = {"linkId": "a", "type": "choice", "text": "a", "answerOption": [{"valueCoding": {"system": "http://example.org/cs", "code": "1"}}]}

# A Questionnaire per problem of its logic that both the engine's plan and validate look at.
CASES = {
    "no-target": _q("no-target", _b("a"), _b("b", enableWhen=[_when("zz", answerBoolean=True)])),
    "que-12": _q("que-12", _b("a"), _b("c"), _b("b", enableWhen=[_when("a", answerBoolean=True), _when("c", answerBoolean=True)])),
    "operator": _q("operator", _b("a"), _b("b", enableWhen=[_when("a", "==", answerBoolean=True)])),
    "no-operator": _q("no-operator", _b("a"), _b("b", enableWhen=[{"question": "a", "answerBoolean": True}])),
    "no-answer": _q("no-answer", _b("a"), _b("b", enableWhen=[_when("a")])),
    "two-answers": _q("two-answers", _b("a"), _b("b", enableWhen=[_when("a", answerBoolean=True, answerString="x")])),
    "coding-not-an-object": _q("coding-not-an-object", _CHOICE, _b("b", enableWhen=[_when("a", answerCoding="1")])),
    "enable-behavior": _q("enable-behavior", _b("a"), _b("b", enableBehavior="some", enableWhen=[_when("a", answerBoolean=True)])),
    "item-type": _q("item-type", {"linkId": "a", "type": "question", "text": "a"}, {"linkId": "z", "type": "bogus", "text": "z"}),
    "enablewhen-not-a-list": _q("enablewhen-not-a-list", _b("a"), _b("b", enableWhen=_when("a", answerBoolean=True))),
    "enablewhen-not-an-object": _q("enablewhen-not-an-object", _b("a"), _b("b", enableWhen=["x"])),
    "no-linkid": _q("no-linkid", {"type": "boolean", "text": "x"}),
    "item-not-an-object": _q("item-not-an-object", _b("a"), 5),
    "exists-on-a-group": _q("exists-on-a-group", {"linkId": "g", "type": "group", "text": "g", "item": [_b("x")]}, _b("b", enableWhen=[_when("g", "exists", answerBoolean=True)])),
    "que-7": _q("que-7", _b("a"), _b("b", enableWhen=[_when("a", "exists", answerString="x")])),
    "ordering-a-boolean": _q("ordering-a-boolean", _b("a"), _b("b", enableWhen=[_when("a", ">", answerBoolean=True)])),
    "coding-on-integer-options": _q("coding-on-integer-options", {"linkId": "a", "type": "choice", "text": "a", "answerOption": [{"valueInteger": 1}]}, _b("b", enableWhen=[_when("a", answerCoding={"code": "1"})])),
    "cycle": _q("cycle", _b("a", enableWhen=[_when("b", answerBoolean=True)]), _b("b", enableWhen=[_when("a", answerBoolean=True)])),
    "self": _q("self", _b("a", enableWhen=[_when("a", answerBoolean=True)])),
    "inner": _q("inner", {"linkId": "g", "type": "group", "text": "g", "item": [_b("x")], "enableWhen": [_when("x", answerBoolean=True)]}),
    "after": _q("after", _b("b", enableWhen=[_when("a", answerBoolean=True)]), _b("a")),
    "duplicate-linkid": _q("duplicate-linkid", _b("a"), _b("a")),
}


def _pairs(issues) -> set[tuple[str, str]]:
    return {(i.code, i.severity) for i in issues}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("one-answer")
    paths = {}
    for name, questionnaire in CASES.items():
        path = folder / f"Questionnaire-{name}.json"
        path.write_text(json.dumps(questionnaire), encoding="utf-8")
        paths[name] = path
    return paths


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_engine_reports_a_questionnaire_problem_as_validate_does(name, written):
    """Every (code, severity) on the engine's plan is one validate reports for the same file."""
    engine = _pairs(compile(CASES[name]).issues)
    assert engine, "each case is a problem the engine sees"
    validate = _pairs(validate_paths([written[name]]).issues)
    assert engine <= validate, engine - validate


def test_an_unknown_linkid_has_one_code_in_validate_evaluate_and_paths(written):
    path = written["no-target"]
    code = problems.NO_TARGET.code
    assert code == "Questionnaire_Q_EnableWhen_NoTarget"
    assert (code, "error") in _pairs(validate_paths([path]).issues)
    runner = CliRunner()
    paths = runner.invoke(main, ["paths", str(path)])
    assert f"error {code}:" in paths.stderr
    response = path.parent / "response.json"
    response.write_text(json.dumps({"resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": CASES["no-target"]["url"]}), encoding="utf-8")
    evaluate = runner.invoke(main, ["evaluate", str(response), "--questionnaire", str(path)])
    assert f"error {code}:" in evaluate.stderr
    assert "fhirrug-enablewhen-target-missing" not in paths.stderr + evaluate.stderr


def test_que_12_is_an_error_everywhere(written):
    assert ("que-12", "error") in _pairs(compile(CASES["que-12"]).issues)
    assert ("que-12", "error") in _pairs(validate_paths([written["que-12"]]).issues)
    assert not any(i.code == "que-12" and i.severity == "warning" for i in compile(CASES["que-12"]).issues)


# -- the former id of a rule ------------------------------------------------------------------


def test_fhirrug_rules_shows_the_former_id():
    result = CliRunner().invoke(main, ["rules", "fhirrug-enablewhen-target-missing", "-f", "json"])
    assert result.exit_code == 0, result.output
    [rule] = json.loads(result.stdout)["rules"]
    assert rule["id"] == "Questionnaire_Q_EnableWhen_NoTarget" and rule["aliases"] == ["fhirrug-enablewhen-target-missing"]
    assert "formerly fhirrug-enablewhen-target-missing" in CliRunner().invoke(main, ["rules"]).stdout


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ([], "error"),
        (["--ignore", "fhirrug-enablewhen-target-missing"], None),
        (["--severity", "fhirrug-enablewhen-target-missing=warning"], "warning"),
        (["--select", "fhirrug-enablewhen-target-missing"], "error"),
        (["--select", "que-*"], None),
    ],
)
def test_the_former_id_selects_ignores_and_regrades(written, option, expected):
    result = CliRunner().invoke(main, ["validate", str(written["no-target"]), "--format", "json", *option])
    found = {i["severity"] for i in json.loads(result.stdout)["issues"] if i["code"] == "Questionnaire_Q_EnableWhen_NoTarget"}
    assert found == ({expected} if expected else set())
    assert "matches no rule id" not in result.stderr


# -- one definition of an outcome -------------------------------------------------------------


@pytest.fixture(scope="module")
def package():
    return load_package(ROOT)


def _questionnaires(package):
    return [r for r in package.resources if r.resource_type == "Questionnaire"]


def test_outcomes_are_the_same_items_for_the_engine_paths_and_diff(package):
    engine = Engine(package)
    checked = 0
    for resource in _questionnaires(package):
        plan = engine.plan_for(resource.data)
        by_engine = [n.linkId for n in plan.outcome_nodes]
        if not by_engine:
            continue
        checked += 1
        table = routes(plan, max_routes=200)
        by_paths = {o["code"] for route in table.routes for o in route["outcomes"]} | {o["code"] for o in table.unreached}
        assert by_paths == {n.outcome["code"] for n in plan.outcome_nodes}
        # diff: removing every outcome item is an outcome-removed per outcome, nothing else
        reduced = json.loads(json.dumps(resource.data))
        outcome_paths = {n.expression for n in plan.outcome_nodes}
        _drop(reduced, "Questionnaire", outcome_paths)
        systems = [r.data for r in package.resources if r.resource_type == "CodeSystem"]
        removed = [c for c in diff_changes([resource.data, *systems], [reduced, *systems]) if c.kind == "outcome-removed"]
        assert sorted(c.expression for c in removed) == sorted(outcome_paths)
    assert checked >= 1  # the self-diagnosis has 35


def test_the_package_outcomes_are_coded_groups_never_coded_display_items(package):
    """que-3 forbids a code on a display item: the package's outcomes are coded groups."""
    engine = Engine(package)
    kinds = {n.type for r in _questionnaires(package) for n in engine.plan_for(r.data).outcome_nodes}
    assert kinds == {"group"}


def _drop(node: dict, path: str, paths: set[str]) -> None:
    items = node.get("item")
    if not isinstance(items, list):
        return
    keep = []
    for index, item in enumerate(items):
        here = f"{path}.item[{index}]"
        if here in paths:
            continue
        _drop(item, here, paths)
        keep.append(item)
    node["item"] = keep
