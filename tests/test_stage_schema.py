"""Stage 2, JSON Schema: each resource against its own definition, errors mapped to (code, FHIRPath)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from fhirrug.validate import schema

REPO_ROOT = Path(__file__).resolve().parents[1]

VALID = {
    "resourceType": "Questionnaire",
    "id": "q",
    "url": "https://fhir.fhirrug.nl/Questionnaire/q",
    "status": "draft",
    "date": "2026-11-25",
    "item": [
        {"linkId": "a", "type": "boolean", "text": "Pijn?"},
        {
            "linkId": "b",
            "type": "group",
            "item": [{"linkId": "b.1", "type": "string", "enableWhen": [{"question": "a", "operator": "=", "answerBoolean": True}]}],
        },
    ],
}


def found(resource):
    return {(i.code, i.expression) for i in schema.check(resource, "f.json")}


def with_(path_value_pairs):
    resource = copy.deepcopy(VALID)
    for path, value in path_value_pairs:
        node = resource
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return resource


def test_valid_resource_passes():
    assert found(VALID) == set()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ([(("foo",), 1)], ("fhirrug-schema-additional-property", "Questionnaire.foo")),
        ([(("item", 1, "item", 0, "linkid"), "x")], ("fhirrug-schema-additional-property", "Questionnaire.item[1].item[0].linkid")),
        ([(("item", 0, "_text"), {"extension": [], "bar": 1})], ("fhirrug-schema-additional-property", "Questionnaire.item[0].text.bar")),
        ([(("item", 0, "enableWhen"), {"question": "a"})], ("fhirrug-schema-type", "Questionnaire.item[0].enableWhen")),
        ([(("text",), "hallo")], ("fhirrug-schema-type", "Questionnaire.text")),  # the HL7 schema alone lets this pass
        ([(("item", 0, "code"), ["x"])], ("fhirrug-schema-type", "Questionnaire.item[0].code[0]")),
        ([(("date",), "2026-13-01")], ("fhirrug-schema-pattern", "Questionnaire.date")),
        ([(("id",), "has space")], ("fhirrug-schema-pattern", "Questionnaire.id")),
        ([(("text",), {"status": "generated"})], None),  # missing div: bindings reports it (min 1)
    ],
)
def test_schema_errors_map_to_code_and_fhirpath(changes, expected):
    result = found(with_(changes))
    if expected is None:
        assert not any(code.startswith("fhirrug-schema") for code, _ in result)
    else:
        assert expected in result


def test_missing_and_unknown_resource_type():
    assert found({"status": "draft"}) == {("fhirrug-resource-type-missing", "resourceType")}
    assert found({"resourceType": 3}) == {("fhirrug-resource-type-missing", "resourceType")}
    assert found({"resourceType": "Questionaire"}) == {("fhirrug-resource-type-unknown", "resourceType")}


def test_contained_resources_are_validated_against_their_own_definition():
    resource = copy.deepcopy(VALID)
    resource["contained"] = [
        {"resourceType": "ValueSet", "id": "vs", "status": "draft", "bogus": 1},
        {"resourceType": "NoSuchType"},
    ]
    result = found(resource)
    assert ("fhirrug-schema-additional-property", "Questionnaire.contained[0].bogus") in result
    assert ("fhirrug-resource-type-unknown", "Questionnaire.contained[1].resourceType") in result


def test_left_to_the_bindings_stage_not_reported_twice():
    # coerced primitives, empty values and required-binding codes are the bindings stage's
    resource = with_([(("item", 0, "linkId"), 5), (("item", 0, "required"), "yes"), (("status",), "foo"), (("item", 0, "text"), ""), (("publisher",), None)])
    assert found(resource) == set()


def test_enum_outside_a_vendored_required_binding_is_still_reported():
    # Expression.language: the schema enumerates it though R4 binds it extensibly; kept here
    resource = with_([(("extension",), [{"url": "https://x", "valueExpression": {"language": "text/python", "expression": "1"}}])])
    assert ("fhirrug-schema-enum", "Questionnaire.extension[0].valueExpression.language") in found(resource)


def test_expression_from_json_path():
    assert schema.expression("Questionnaire", ["item", 0, "_text", "extension", 1]) == "Questionnaire.item[0].text.extension[1]"


def _reference_pairs(resource):
    return sorted((e.validator, tuple(e.absolute_path)) for e in schema.jsonschema_validator_for(resource["resourceType"]).iter_errors(resource))


def _compiled_pairs(resource):
    return sorted((e.validator, tuple(e.absolute_path)) for e in schema.schema_errors(resource, resource["resourceType"]))


BROKEN = [
    with_([(("foo",), 1), (("status",), "foo"), (("item", 0, "linkId"), 5), (("item", 0, "required"), "yes"), (("date",), "x")]),
    with_([(("text",), "hallo"), (("item", 0, "code"), ["x", {"code": 5}]), (("item", 1, "item"), {"linkId": 3})]),
    with_([(("item", 0, "answerOption"), [{"valueCoding": {"system": "s s", "code": " x"}, "initialSelected": 1}]), (("name",), ["a", None])]),
    {"resourceType": "QuestionnaireResponse", "status": "finished", "item": [{"linkId": 1, "answer": [{"valueInteger": "3", "valueDecimal": True}]}]},
    {"resourceType": "ValueSet", "status": "x", "compose": {"include": [{"filter": [{"op": "bogus", "property": 1, "value": None}]}]}},
]


@pytest.mark.parametrize("resource", BROKEN)
def test_compiled_validator_agrees_with_jsonschema(resource):
    assert _compiled_pairs(resource) == _reference_pairs(resource)


def test_compiled_validator_agrees_with_jsonschema_on_every_content_file():
    files = sorted(p for folder in ("questionnaires", "valuesets", "definitions", "examples") for p in (REPO_ROOT / folder).rglob("*.json"))
    if not files:
        pytest.skip("no content files yet")
    for path in files:
        resource = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str) and resource["resourceType"] in schema.vendor.all_resource_types():
            assert _compiled_pairs(resource) == _reference_pairs(resource), path


def test_unsupported_keyword_falls_back_to_jsonschema():
    compiled = schema.CompiledSchema({"X": {"properties": {"a": {"minLength": 2}}}})
    with pytest.raises(schema.UnsupportedKeyword):
        compiled.validator("X")


def test_bundle_entries_and_their_contained_resources_are_validated():
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": {"resourceType": "Questionnaire", "status": "draft", "foo": 1, "contained": [{"resourceType": "ValueSet", "status": "draft", "x": 1}]}},
            {"resource": "Questionnaire/1"},
        ],
    }
    assert found(bundle) == {
        ("fhirrug-schema-additional-property", "Bundle.entry[0].resource.foo"),
        ("fhirrug-schema-additional-property", "Bundle.entry[0].resource.contained[0].x"),
        ("fhirrug-schema-type", "Bundle.entry[1].resource"),
    }


def test_extensions_on_canonical_primitives_are_allowed():
    # The HL7 schema omits `_name` for canonical properties; FHIR JSON allows them (as Java does).
    resource = with_([(("item", 0, "_answerValueSet"), {"extension": [{"url": "https://x", "valueString": "y"}]}), (("item", 0, "answerValueSet"), "https://x/ValueSet/a")])
    resource["derivedFrom"] = ["https://x/Questionnaire/a", "https://x/Questionnaire/b"]
    resource["_derivedFrom"] = [None, {"extension": [{"url": "https://x", "valueString": "y"}]}]
    assert found(resource) == set()
    resource["item"][0]["_answerValueSet"] = {"bogus": 1}
    assert found(resource) == {("fhirrug-schema-additional-property", "Questionnaire.item[0].answerValueSet.bogus")}


def test_agrees_with_the_hl7_java_validator_on_the_r4_conformance_cases(shared_dir, tmp_path, monkeypatch):
    """On every R4 JSON case of the HL7 validator's Questionnaire test set: each 'Unrecognized
    property' the Java validator reports, stage 2 reports at that property; and stages 2, 3 and 4
    report nothing on cases where Java reports no error at all."""
    import re

    from fhirrug.jsonio import read_json
    from fhirrug.validate import bindings, model

    monkeypatch.setenv("FHIRRUG_CACHE_DIR", str(tmp_path))

    base = shared_dir / "conformance" / "fhir-test-cases"
    manifest = json.loads((base / "manifest.questionnaire.json").read_text(encoding="utf-8"))
    checked = unrecognised = 0
    for case in manifest["test-cases"]:
        outcome = base / "validator" / "outcomes" / "java" / f"R4.{case['name']}-base.json"
        if case.get("version") != "4.0" or not case["file"].endswith(".json") or not outcome.is_file():
            continue
        data, issues = read_json(base / "validator" / case["file"])
        assert issues == [], case["name"]
        stages = schema.check(data, case["file"]) + model.check(data, case["file"]) + bindings.check(data, case["file"])
        ours = {(i.code, i.expression) for i in stages}
        java = json.loads(outcome.read_text(encoding="utf-8")).get("issue", [])
        for issue in java:
            match = re.search(r"Unrecognized property '([^']+)'", issue.get("details", {}).get("text", ""))
            if match:
                unrecognised += 1
                assert ("fhirrug-schema-additional-property", f"{issue['expression'][0]}.{match.group(1)}") in ours, case["name"]
        if not any(i["severity"] in ("error", "fatal") for i in java):
            assert ours == set(), case["name"]
        checked += 1
    assert checked > 50 and unrecognised >= 1


def test_jsonschema_fallback_gives_the_same_findings(monkeypatch):
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Questionnaire", "status": "draft", "foo": 1, "date": "x", "contained": [{"resourceType": "ValueSet", "status": "draft", "x": 1}]}}],
    }
    compiled = found(bundle)

    class Refuses:
        def validator(self, name):
            raise schema.UnsupportedKeyword("test")

    monkeypatch.setattr(schema, "_compiled", lambda: Refuses())
    assert found(bundle) == compiled
    assert ("fhirrug-schema-additional-property", "Bundle.entry[0].resource.contained[0].x") in compiled
