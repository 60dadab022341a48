"""The package's example responses reach the outcomes recorded next to them (written from the
book's routes, not from the engine), and the deliberately invalid ones give the recorded issues."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from fhirrug.engine import Engine
from fhirrug.package import load_package

from example_checks import check_example

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def engine():
    return Engine(load_package(ROOT))


def _cases(pattern: str):
    out = []
    for table in sorted(EXAMPLES.glob(pattern)):
        for stem, expected in tomllib.loads(table.read_text(encoding="utf-8")).items():
            out.append(pytest.param(table.parent / f"{stem}.json", expected, id=stem))
    return out


@pytest.mark.parametrize("path,expected", _cases("*.expected.toml"))
def test_example_reaches_recorded_outcomes(engine, path, expected):
    check_example(engine, path, expected, exact=False)


@pytest.mark.parametrize("path,expected", _cases("invalid/expected.toml"))
def test_invalid_example_gives_recorded_issues(engine, path, expected):
    evaluation, issues = engine.evaluate(json.loads(path.read_text(encoding="utf-8")), file=str(path))
    found = {(i.code, i.expression) for i in issues}
    for code, expression in expected.get("issues", []):
        assert (code, expression) in found
    assert evaluation is None or not evaluation.valid or not expected.get("issues")


def test_every_questionnaire_of_the_package_compiles_without_errors(engine):
    package = engine.package
    for resource in package.by_type("Questionnaire"):
        plan = engine.plan_for(resource.data)
        assert [(i.code, i.expression) for i in plan.issues if i.severity == "error"] == []
