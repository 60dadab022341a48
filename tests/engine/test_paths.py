"""`fhirrug paths`: the decision table, computed by hand for small Questionnaires."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug.cli import main
from fhirrug.engine import compile
from fhirrug.engine.paths import routes

from engine_helpers import ew, item, q

ROOT = Path(__file__).resolve().parents[2]
OUT = lambda code: [{"system": "http://example.org/cs", "code": code}]  # noqa: E731


def outcome(link_id, code, **extra):
    return item(link_id, "display", text=f"Antwoord {code}", code=OUT(code), **extra)


DECISION_LIST = q(
    item("v1"),
    outcome("a1", "1", enableWhen=[ew("v1", answerBoolean=True)]),
    item("v2", enableWhen=[ew("v1", answerBoolean=False)]),
    outcome("a2", "2", enableWhen=[ew("v2", answerBoolean=True)]),
    outcome("a3", "3", enableWhen=[ew("v2", answerBoolean=False)]),
    outcome("never", "4", enableWhen=[ew("v2", answerBoolean=True), ew("v1", answerBoolean=True)], enableBehavior="all"),
)


def _table(routes_result):
    return [([(s["linkId"], s["answer"].get("boolean", s["answer"].get("code"))) for s in r["steps"]], [o["code"] for o in r["outcomes"]]) for r in routes_result.routes]


def test_routes_of_a_decision_list():
    result = routes(compile(DECISION_LIST))
    assert _table(result) == [
        ([("v1", True)], ["1"]),
        ([("v1", False), ("v2", True)], ["2"]),
        ([("v1", False), ("v2", False)], ["3"]),
    ]
    assert [o["code"] for o in result.unreached] == ["4"]


def test_choice_options_branch_and_equivalent_answers_merge():
    options = [{"valueCoding": {"system": "http://example.org/k", "code": c}} for c in ("x", "y", "z")]
    quest = q(item("k", "choice", answerOption=options), outcome("ax", "1", enableWhen=[ew("k", answerCoding={"system": "http://example.org/k", "code": "x"})]))
    result = routes(compile(quest))
    assert _table(result) == [([("k", "x")], ["1"]), ([("k", "y")], [])]
    assert [a["code"] for a in result.routes[1]["steps"][0]["alternatives"]] == ["z"]


def test_cli_paths_json_and_exit_code(tmp_path):
    (tmp_path / "fhirrug.toml").write_text('[package]\nname = "t"\nversion = "0.1.0"\ncanonical = "http://example.org"\npublisher = "t"\n', encoding="utf-8")
    (tmp_path / "valuesets").mkdir()
    (tmp_path / "questionnaires").mkdir()
    (tmp_path / "valuesets" / "CodeSystem-cs.json").write_text(json.dumps({"resourceType": "CodeSystem", "url": "http://example.org/cs", "concept": [{"code": c} for c in "1234"]}), encoding="utf-8")
    path = tmp_path / "questionnaires" / "Questionnaire-t.json"
    path.write_text(json.dumps(DECISION_LIST), encoding="utf-8")
    result = CliRunner().invoke(main, ["paths", str(path), "--format", "json"])
    assert result.exit_code == 1  # one outcome is unreachable
    table = json.loads(result.stdout)
    assert len(table["routes"]) == 3 and table["unreached"][0]["code"] == "4"
    assert set(table["routes"][0]["steps"][0]) >= {"linkId", "text", "answer"}


@pytest.mark.slow
def test_cli_paths_self_diagnosis_reaches_every_outcome():
    path = ROOT / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json"
    result = CliRunner().invoke(main, ["paths", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["unreached"] == []
