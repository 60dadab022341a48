"""The engine reads untrusted JSON: a value of the wrong JSON type where it looks up or compares
is an issue with file and FHIRPath location, never an exception (82 of 1,403 mutated responses
ended in `TypeError: unhashable type`; `"answerString": 3` crashed on `'>'`)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import fhirrug
from fhirrug.engine import Engine, compile, expand_valuesets, strip_disabled
from fhirrug.package import load_package

from engine_helpers import ans, ew, item, q, qr

ROOT = Path(__file__).resolve().parents[2]
FLAT = q(item("a", "choice", answerOption=[{"valueCoding": {"system": "s", "code": "x"}}]), item("b", "string", enableWhen=[ew("a", answerCoding={"system": "s", "code": "x"})]))
REPEATING = q(item("g", "group", item("a", "choice", answerOption=[{"valueCoding": {"system": "s", "code": "x"}}]), repeats=True))
ODD = ([], ["a"], {}, {"a": 1}, 3, True)


def located(evaluation) -> set[tuple[str, str]]:
    assert all(i.file == "r.json" and i.expression for i in evaluation.issues), evaluation.issues
    return {(i.code, i.expression) for i in evaluation.issues}


@pytest.mark.parametrize("questionnaire", [FLAT, REPEATING], ids=["flat", "repeating"])
@pytest.mark.parametrize("link_id", ODD)
def test_linkid_of_the_wrong_json_type(questionnaire, link_id):
    response = qr({"linkId": link_id, "answer": [{"valueBoolean": True}]})
    found = located(compile(questionnaire).evaluate(response, "r.json"))
    assert ("fhirrug-qr-structure", "QuestionnaireResponse.item[0].linkId") in found
    strip_disabled(compile(questionnaire), response)  # reads linkIds too


@pytest.mark.parametrize("part", ["system", "code"])
@pytest.mark.parametrize("value", ODD)
def test_coding_system_or_code_of_the_wrong_json_type(part, value):
    coding = {"system": "s", "code": "x", part: value}
    for questionnaire, response in ((FLAT, qr(ans("a", {"valueCoding": coding}))), (REPEATING, qr({"linkId": "g", "item": [ans("a", {"valueCoding": coding})]}))):
        evaluation = compile(questionnaire).evaluate(response, "r.json")
        assert any(code == "fhirrug-qr-value" and expr.endswith(f".value.ofType(Coding).{part}") for code, expr in located(evaluation))


def test_coding_of_the_wrong_type_in_the_shipped_questionnaire():
    engine = Engine(load_package(ROOT))
    response = json.loads((ROOT / "examples" / "QuestionnaireResponse-zelfdiagnose-lijst3-1.json").read_text(encoding="utf-8"))
    broken = copy.deepcopy(response)
    paths = []

    def codings(items, path):
        for i, entry in enumerate(items):
            for j, answer in enumerate(entry.get("answer", [])):
                if "valueCoding" in answer:
                    paths.append((answer["valueCoding"], f"{path}.item[{i}].answer[{j}].value.ofType(Coding).system"))
            codings(entry.get("item", []), f"{path}.item[{i}]")

    codings(broken["item"], "QuestionnaireResponse")
    coding, expression = paths[0]
    coding["system"] = {"url": coding["system"]}
    evaluation, issues = engine.evaluate(broken, file="r.json")
    assert ("fhirrug-qr-value", expression) in {(i.code, i.expression) for i in issues}
    assert evaluation is not None and not evaluation.valid


@pytest.mark.parametrize(
    "key, expected",
    [("answerString", 3), ("answerInteger", "3"), ("answerInteger", 3.5), ("answerDecimal", "1.5"), ("answerBoolean", "true"),
     ("answerDate", 20260101), ("answerCoding", "x"), ("answerQuantity", [1])],
)
@pytest.mark.parametrize("operator", ["=", ">", "!="])
def test_enablewhen_answer_of_the_wrong_json_type(key, expected, operator):
    kind = {"answerString": "string", "answerInteger": "integer", "answerDecimal": "decimal", "answerBoolean": "boolean", "answerDate": "date", "answerCoding": "choice", "answerQuantity": "quantity"}[key]
    value = {"string": {"valueString": "b"}, "integer": {"valueInteger": 5}, "decimal": {"valueDecimal": 2.5}, "boolean": {"valueBoolean": True}, "date": {"valueDate": "2026-01-01"}, "choice": {"valueCoding": {"code": "x"}}, "quantity": {"valueQuantity": {"value": 1}}}[kind]
    questionnaire = q(item("a", kind), item("b", "string", enableWhen=[ew("a", operator, **{key: expected})]))
    plan = compile(questionnaire, file="q.json")
    # ('>' on a boolean or Coding is reported first as an operator that cannot order them)
    # (the code of the stage that owns the JSON shape, as `validate` reports it: one answer per question)
    shape = "fhirrug-schema-type" if key in ("answerCoding", "answerQuantity") else "fhirrug-primitive-type"
    expected_issue = ("fhirrug-enablewhen-operator-type", "Questionnaire.item[1].enableWhen[0].operator") if operator == ">" and key in ("answerBoolean", "answerCoding") else (shape, f"Questionnaire.item[1].enableWhen[0].{key}")
    assert expected_issue in {(i.code, i.expression) for i in plan.issues}
    evaluation = plan.evaluate(qr(ans("a", value)), "r.json")
    assert evaluation.enabled == ["a"]  # the broken condition is false (a '!=' included: it compares nothing)


def test_answer_option_of_the_wrong_json_type_is_no_option():
    questionnaire = q(item("a", "choice", answerOption=[{"valueCoding": {"system": ["s"], "code": "x"}}, {"valueCoding": {"code": {"c": 1}}}, {"valueString": ["y"]}, {"valueCoding": {"system": "s", "code": "x"}}]))
    evaluation = compile(questionnaire).evaluate(qr(ans("a", {"valueCoding": {"system": "s", "code": "x"}})), "r.json")
    assert evaluation.valid


@pytest.mark.parametrize(
    "shape",
    [{"compose": {"include": 5}}, {"compose": {"include": [3]}}, {"compose": {"include": [{"system": "s", "concept": 5}]}},
     {"compose": {"include": [{"valueSet": 3}]}}, {"compose": {"include": [{"valueSet": [3]}]}}, {"expansion": []},
     {"expansion": {"contains": {"code": "x"}}}, {"compose": {"include": [], "exclude": {"a": 1}}}],
)
def test_a_valueset_whose_structure_cannot_be_read_is_not_expanded(shape):
    # not expanded = unknown: answers are not checked against it, rather than against a wrong set
    resources = [{"resourceType": "ValueSet", "url": "http://v/bad", **shape}, {"resourceType": "ValueSet", "url": "http://v/good", "compose": {"include": [{"system": "s", "concept": [{"code": "x"}]}]}}]
    assert expand_valuesets(resources) == {"http://v/good": frozenset({("s", "x")})}
    with pytest.raises(ValueError, match="http://v/bad"):
        expand_valuesets(resources, strict=True)


def test_a_concept_whose_code_is_not_a_string_is_left_out():
    # No valid answer can equal such a code, so the rest of the set is exact for every valid answer.
    resources = [
        {"resourceType": "CodeSystem", "url": "s", "concept": [{"code": "x"}, {"code": {"c": 1}}, "y"]},
        {"resourceType": "ValueSet", "url": "http://v/all", "compose": {"include": [{"system": "s"}]}},
        {"resourceType": "ValueSet", "url": "http://v/some", "compose": {"include": [{"system": "s", "concept": [{"code": "x"}, {"code": ["z"]}]}]}},
        {"resourceType": "ValueSet", "url": "http://v/expanded", "expansion": {"contains": [{"system": "s", "code": "x"}, {"system": {}, "code": "y"}]}},
    ]
    assert expand_valuesets(resources) == {url: frozenset({("s", "x")}) for url in ("http://v/all", "http://v/some", "http://v/expanded")}
    with pytest.raises(ValueError, match="CodeSystem s"):
        expand_valuesets(resources, strict=True)


@pytest.mark.parametrize("response", [[], "x", 5, {"resourceType": ["QuestionnaireResponse"]}, {"resourceType": "Patient"}])
def test_not_a_response_has_a_location(response):
    found = {(i.code, i.file, i.expression) for i in compile(FLAT).evaluate(response, "r.json").issues}
    assert ("fhirrug-not-a-response", "r.json", "QuestionnaireResponse") in found
    evaluation, issues = Engine([]).evaluate(response, file="r.json")
    assert evaluation is None and [(i.code, i.file, i.expression) for i in issues] == [("fhirrug-not-a-response", "r.json", "QuestionnaireResponse")]


def test_a_huge_questionnaire_is_not_compiled_to_code():
    # A 30,000-condition enableWhen list took seconds to compile (CPython's compiler is
    # superlinear on long `and` chains); beyond the limit the generic loop decides, with the
    # same result.
    items = [item("a0")] + [item(f"a{k}", enableWhen=[ew(f"a{k - 1}", answerBoolean=True)]) for k in range(1, 5000)]
    plan = compile(q(*items))
    assert plan.enable is None and plan.fast is None
    response = qr(ans("a0", {"valueBoolean": True}), ans("a1", {"valueBoolean": True}), ans("a2", {"valueBoolean": False}))
    assert plan.evaluate(response).enabled == ["a0", "a1", "a2"]
    small = compile(q(*items[:50]))
    assert small.enable is not None and small.evaluate(response).enabled == ["a0", "a1", "a2"]
