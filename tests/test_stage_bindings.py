"""Stage 4: required bindings, empty values, coerced primitives and minimum cardinality."""

from __future__ import annotations

import copy

import pytest

from fhirrug.validate import bindings

QUESTIONNAIRE = {
    "resourceType": "Questionnaire",
    "status": "draft",
    "name": "Rug",
    "item": [
        {"linkId": "a", "type": "boolean", "text": "Pijn?", "_text": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/translation", "extension": [{"url": "lang", "valueCode": "en"}, {"url": "content", "valueString": "Pain?"}]}]}},
        {
            "linkId": "b",
            "type": "group",
            "enableBehavior": "any",
            "enableWhen": [{"question": "a", "operator": "=", "answerBoolean": True}, {"question": "a", "operator": "exists", "answerBoolean": True}],
            "item": [{"linkId": "b.1", "type": "integer", "maxLength": 3, "initial": [{"valueInteger": 3}]}],
        },
    ],
}


def found(resource):
    return {(i.code, i.expression) for i in bindings.check(resource, "f.json")}


def changed(*pairs):
    resource = copy.deepcopy(QUESTIONNAIRE)
    for path, value in pairs:
        node = resource
        for part in path[:-1]:
            node = node[part]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return resource


def test_valid_resource_passes():
    assert found(QUESTIONNAIRE) == set()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ((("status",), "foo"), ("Terminology_TX_NoValid_16", "Questionnaire.status")),
        ((("item", 0, "type"), "question-ish"), ("Terminology_TX_NoValid_16", "Questionnaire.item[0].type")),
        ((("item", 1, "item", 0, "type"), "Integer"), ("Terminology_TX_NoValid_16", "Questionnaire.item[1].item[0].type")),
        ((("item", 1, "enableWhen", 0, "operator"), "=="), ("Terminology_TX_NoValid_16", "Questionnaire.item[1].enableWhen[0].operator")),
        ((("item", 1, "enableBehavior"), "some"), ("Terminology_TX_NoValid_16", "Questionnaire.item[1].enableBehavior")),
        ((("item", 0, "required"), "yes"), ("fhirrug-primitive-type", "Questionnaire.item[0].required")),
        ((("item", 0, "linkId"), 5), ("fhirrug-primitive-type", "Questionnaire.item[0].linkId")),
        ((("item", 1, "item", 0, "initial", 0, "valueInteger"), "3"), ("fhirrug-primitive-type", "Questionnaire.item[1].item[0].initial[0].valueInteger")),
        ((("item", 1, "item", 0, "initial", 0, "valueInteger"), 3.5), ("fhirrug-primitive-type", "Questionnaire.item[1].item[0].initial[0].valueInteger")),
        ((("item", 1, "item", 0, "initial", 0, "valueInteger"), 2**31), ("fhirrug-primitive-type", "Questionnaire.item[1].item[0].initial[0].valueInteger")),
        ((("item", 1, "item", 0, "maxLength"), "3"), ("fhirrug-primitive-type", "Questionnaire.item[1].item[0].maxLength")),
        ((("item", 1, "item", 0, "maxLength"), True), ("fhirrug-primitive-type", "Questionnaire.item[1].item[0].maxLength")),
        ((("item", 1, "enableWhen", 0, "answerBoolean"), "true"), ("fhirrug-primitive-type", "Questionnaire.item[1].enableWhen[0].answerBoolean")),
        ((("item", 0, "text"), ""), ("fhirrug-empty-value", "Questionnaire.item[0].text")),
        ((("item", 0, "text"), "  \n"), ("fhirrug-empty-value", "Questionnaire.item[0].text")),
        ((("item", 0, "text"), None), ("fhirrug-empty-value", "Questionnaire.item[0].text")),
        ((("item", 0, "code"), []), ("fhirrug-empty-value", "Questionnaire.item[0].code")),
        ((("item", 0, "code"), [{}]), ("fhirrug-empty-value", "Questionnaire.item[0].code[0]")),
        ((("item", 0, "_text"), {}), ("fhirrug-empty-value", "Questionnaire.item[0].text")),
        ((("meta",), {}), ("fhirrug-empty-value", "Questionnaire.meta")),
        ((("unknownThing",), ""), ("fhirrug-empty-value", "Questionnaire.unknownThing")),
        ((("status",), KeyError), ("Validation_VAL_Profile_Minimum", "Questionnaire.status")),
        ((("item", 1, "item", 0, "linkId"), KeyError), ("Validation_VAL_Profile_Minimum", "Questionnaire.item[1].item[0].linkId")),
        ((("item", 1, "enableWhen", 1, "answerBoolean"), KeyError), ("Validation_VAL_Profile_Minimum", "Questionnaire.item[1].enableWhen[1].answer")),
        ((("item", 0, "_text", "extension", 0, "url"), KeyError), ("Validation_VAL_Profile_Minimum", "Questionnaire.item[0].text.extension[0].url")),
    ],
)
def test_finding(change, expected):
    assert expected in found(changed(change))


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"resourceType": "QuestionnaireResponse", "status": "done"}, ("Terminology_TX_NoValid_16", "QuestionnaireResponse.status")),
        ({"resourceType": "CodeSystem", "status": "draft", "content": "everything"}, ("Terminology_TX_NoValid_16", "CodeSystem.content")),
        (
            {"resourceType": "ValueSet", "status": "draft", "compose": {"include": [{"system": "s", "filter": [{"property": "p", "op": "like", "value": "v"}]}]}},
            ("Terminology_TX_NoValid_16", "ValueSet.compose.include[0].filter[0].op"),
        ),
        (
            {"resourceType": "ConceptMap", "status": "draft", "group": [{"element": [{"code": "a", "target": [{"code": "b", "equivalence": "same"}]}]}]},
            ("Terminology_TX_NoValid_16", "ConceptMap.group[0].element[0].target[0].equivalence"),
        ),
        (
            {"resourceType": "Questionnaire", "status": "draft", "contained": [{"resourceType": "ValueSet", "status": "final"}]},
            ("Terminology_TX_NoValid_16", "Questionnaire.contained[0].status"),
        ),
        (
            {"resourceType": "Questionnaire", "status": "draft", "text": {"status": "made-up", "div": "<div/>"}},
            ("Terminology_TX_NoValid_16", "Questionnaire.text.status"),
        ),
    ],
)
def test_required_bindings_of_other_resources(resource, expected):
    assert expected in found(resource)


def test_correct_codes_of_other_resources_pass():
    assert found({"resourceType": "QuestionnaireResponse", "status": "completed"}) == set()
    assert found({"resourceType": "CodeSystem", "status": "active", "content": "complete"}) == set()
    cm = {"resourceType": "ConceptMap", "status": "draft", "group": [{"element": [{"code": "a", "target": [{"code": "b", "equivalence": "equivalent"}]}]}]}
    assert found(cm) == set()


def test_null_aligned_with_primitive_extension_array_is_legal():
    aligned = {
        "resourceType": "Questionnaire",
        "status": "draft",
        "subjectType": ["Patient", None],
        "_subjectType": [None, {"extension": [{"url": "https://x", "valueString": "y"}]}],
    }
    assert found(aligned) == set()
    both_null = copy.deepcopy(aligned)
    both_null["_subjectType"] = [None, None]
    assert found(both_null) == {("fhirrug-empty-value", "Questionnaire.subjectType[1]")}
    not_aligned = {"resourceType": "Questionnaire", "status": "draft", "subjectType": ["Patient", None]}
    assert found(not_aligned) == {("fhirrug-empty-value", "Questionnaire.subjectType[1]")}


def test_unknown_resource_type_is_left_to_the_schema_stage():
    assert found({"resourceType": "Nope", "x": ""}) == set()
    assert found({"status": ""}) == set()


def test_covers():
    assert bindings.covers("Questionnaire", ["item", 0, "item", 3, "required"]) == "boolean"
    assert bindings.covers("Questionnaire", ["item", 0, "enableWhen", 0, "answerInteger"]) == "integer"
    assert bindings.covers("Questionnaire", ["item", 0, "nope"]) is None
    assert bindings.covers_binding("Questionnaire", ["item", 0, "type"])
    assert not bindings.covers_binding("Questionnaire", ["item", 0, "linkId"])


def test_stage_rules_list_every_code_the_stages_emit():
    import re
    from pathlib import Path

    from fhirrug.config import Config
    from fhirrug.issues import Issue
    from fhirrug.rules import STAGE, all_rules
    from fhirrug.release import tarsafe
    from fhirrug.rules.stages import RULES
    from fhirrug.validate import model, schema

    src = Path(__file__).resolve().parents[1] / "src" / "fhirrug"
    emitted = set(re.findall(r'"(fhirrug-(?:json|file)-[a-z-]+)"', (src / "jsonio.py").read_text(encoding="utf-8")))
    for module in (schema, model, bindings, tarsafe):
        emitted |= {value for name, value in vars(module).items() if name.startswith("CODE_") and isinstance(value, str)}
    # the pipeline's own crash report and the archive reader's refusal
    emitted |= set(re.findall(r'"(fhirrug-internal-error)"', (src / "validate" / "pipeline.py").read_text(encoding="utf-8")))
    emitted |= set(re.findall(r'"(fhirrug-package-unsafe)"', (src / "release" / "tarsafe.py").read_text(encoding="utf-8")))
    listed = {rule.id for rule in RULES}
    assert emitted == listed
    assert all(rule.scope == STAGE and rule.check is None and rule.spec.startswith("https://") for rule in RULES)
    assert listed <= {rule.id for rule in all_rules()}
    # select/ignore work on stage codes like on any rule
    issues = [Issue("fhirrug-empty-value", "error", "m", "f", "Q.x"), Issue("Terminology_TX_NoValid_16", "error", "m", "f", "Q.status")]
    assert [i.code for i in Config(ignore=("fhirrug-empty-*",)).apply(issues)] == ["Terminology_TX_NoValid_16"]


# -- robustness: arbitrary JSON shaped like a resource never makes a stage raise ----------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_KEYS = st.sampled_from(
    ["item", "linkId", "type", "text", "_text", "enableWhen", "question", "operator", "answerBoolean", "answerInteger",
     "answerCoding", "required", "status", "code", "system", "extension", "url", "valueString", "contained",
     "resourceType", "answerOption", "valueCoding", "initial", "_linkId", "subjectType", "_subjectType", "div", "x"]
)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                     st.sampled_from(["", " ", "draft", "group", "=", "Questionnaire", "ValueSet", "a", "3"]))
_JSON = st.recursive(_SCALARS, lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_KEYS, children, max_size=5)), max_leaves=30)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_KEYS, _JSON, max_size=6), st.sampled_from(["Questionnaire", "QuestionnaireResponse", "ValueSet", "Bundle"]))
def test_stages_never_raise(body, resource_type):
    import os
    from unittest import mock

    from fhirrug.validate import model, schema

    resource = {**body, "resourceType": resource_type}
    with mock.patch.dict(os.environ, {"FHIRRUG_NO_CACHE": "1"}):
        for stage in (schema, model, bindings):
            issues = stage.check(resource, "f.json")
            assert all(isinstance(i.expression, str) and i.code for i in issues)


def test_absurdly_deep_resource_built_in_code_is_an_issue_not_a_crash():
    from fhirrug.validate import model, schema

    item = {"linkId": "x", "type": "group"}
    root = {"resourceType": "Questionnaire", "status": "draft", "item": [item]}
    for _ in range(3000):
        child = {"linkId": "x", "type": "group"}
        item["item"] = [child]
        item = child
    assert ("fhirrug-json-too-deep", "") in {(i.code, i.expression) for i in schema.check(root, "f")}
    assert bindings.check(root, "f") == []
    model.check(root, "f")  # whatever the model says, it says it without raising
