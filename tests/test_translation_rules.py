"""The translation rules: fhirrug-translation-missing and fhirrug-translation-invalid.

Each rule has failing and passing fixtures; assertions are on (code, expression)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from fhirrug.manifest import load_manifest
from fhirrug.package import load_package
from fhirrug.rules import all_rules
from fhirrug.rules.translation import RULES
from fhirrug.validate.pipeline import validate_package

REPO = Path(__file__).resolve().parents[1]
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
MISSING = "fhirrug-translation-missing"
INVALID = "fhirrug-translation-invalid"


def tr(*pairs: tuple[str, str]) -> dict:
    return {"extension": [{"url": TRANSLATION, "extension": [{"url": "lang", "valueCode": lang}, {"url": "content", "valueString": text}]} for lang, text in pairs]}


def en(text: str) -> dict:
    return tr(("en", text))


class _Manifest:
    def __init__(self, translations):
        self.translations = tuple(translations)


class _Ctx:
    def __init__(self, translations=("en",)):
        self.manifest = _Manifest(translations) if translations is not None else None
        self.package = None
        self.file = "x.json"


def findings(resource: dict, translations=("en",)) -> set[tuple[str, str]]:
    ctx = _Ctx(translations)
    out = set()
    for rule in RULES:
        if rule.applies_to(resource.get("resourceType", "")):
            out |= {(rule.id, f.expression) for f in rule.check(resource, ctx)}
    return out


def questionnaire(**overrides) -> dict:
    q = {
        "resourceType": "Questionnaire",
        "language": "nl-NL",
        "title": "Rugpijn",
        "_title": en("Back pain"),
        "status": "draft",
        "jurisdiction": [{"coding": [{"system": "urn:iso:std:iso:3166", "code": "NL", "display": "Netherlands"}]}],
        "item": [
            {
                "extension": [
                    {"url": "https://fhir.fhirrug.nl/StructureDefinition/tekstbron", "valueCoding": {"system": "https://fhir.fhirrug.nl/CodeSystem/tekstbron", "code": "fhirrug", "display": "Geschreven door fhirrug"}}
                ],
                "linkId": "1",
                "prefix": "1.",
                "_prefix": en("1."),
                "text": "Straalt de pijn uit?",
                "_text": en("Does the pain radiate?"),
                "type": "choice",
                "answerOption": [
                    {"valueString": "Ja", "_valueString": en("Yes")},
                    {"valueCoding": {"system": "urn:x", "code": "n", "display": "Nee", "_display": en("No")}},
                ],
            }
        ],
    }
    q.update(overrides)
    return q


# --------------------------------------------------------------------------------------------
# fhirrug-translation-missing
# --------------------------------------------------------------------------------------------
def test_fully_translated_questionnaire_passes():
    assert findings(questionnaire()) == set()


def test_missing_item_text_translation_is_reported_at_the_element():
    q = questionnaire()
    del q["item"][0]["_text"]
    assert findings(q) == {(MISSING, "Questionnaire.item[0].text")}


@pytest.mark.parametrize(
    "path, expression",
    [
        (("item", 0, "answerOption", 0, "_valueString"), "Questionnaire.item[0].answerOption[0].valueString"),
        (("item", 0, "answerOption", 1, "valueCoding", "_display"), "Questionnaire.item[0].answerOption[1].valueCoding.display"),
        (("item", 0, "_prefix"), "Questionnaire.item[0].prefix"),
        (("_title",), "Questionnaire.title"),
    ],
)
def test_every_translatable_element_is_checked(path, expression):
    q = questionnaire()
    node = q
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    assert findings(q) == {(MISSING, expression)}


def test_nested_codesystem_concepts_and_definitions():
    cs = {
        "resourceType": "CodeSystem",
        "language": "nl-NL",
        "concept": [
            {
                "code": "a",
                "display": "A",
                "_display": en("A"),
                "concept": [
                    {"code": "b", "display": "B", "_display": en("B"), "definition": "Bee"},
                ],
            }
        ],
    }
    assert findings(cs) == {(MISSING, "CodeSystem.concept[0].concept[0].definition")}


def test_valueset_and_conceptmap_displays():
    vs = {"resourceType": "ValueSet", "compose": {"include": [{"system": "urn:x", "concept": [{"code": "a", "display": "Aap"}]}]}}
    assert findings(vs) == {(MISSING, "ValueSet.compose.include[0].concept[0].display")}
    cm = {"resourceType": "ConceptMap", "group": [{"element": [{"code": "a", "display": "Aap", "target": [{"code": "b", "display": "Beer", "_display": en("Bear")}]}]}]}
    assert findings(cm) == {(MISSING, "ConceptMap.group[0].element[0].display")}


def test_extension_values_and_jurisdiction_are_not_translatable():
    # The tekstbron Coding's display and the ISO 3166 country name carry no translation in the
    # passing fixture; a text inside an extension must not be reported either.
    q = questionnaire()
    q["item"][0]["extension"].append({"url": "urn:x", "valueString": "tekst"})
    assert findings(q) == set()


def test_answer_option_value_string_only_under_answer_option():
    q = questionnaire()
    q["item"][0]["initial"] = [{"valueString": "Ja"}]
    assert findings(q) == set()


def test_regional_tag_counts_for_the_language():
    q = questionnaire()
    q["item"][0]["_text"] = tr(("en-GB", "Does the pain radiate?"))
    assert findings(q) == set()


def test_blank_translation_counts_as_missing():
    q = questionnaire()
    q["item"][0]["_text"] = tr(("en", "  "))
    assert (MISSING, "Questionnaire.item[0].text") in findings(q)


def test_every_declared_language_is_required():
    assert findings(questionnaire(), translations=("en", "de")) == {
        (MISSING, "Questionnaire.title"),
        (MISSING, "Questionnaire.item[0].prefix"),
        (MISSING, "Questionnaire.item[0].text"),
        (MISSING, "Questionnaire.item[0].answerOption[0].valueString"),
        (MISSING, "Questionnaire.item[0].answerOption[1].valueCoding.display"),
    }


def test_without_a_manifest_nothing_is_required():
    q = questionnaire()
    del q["item"][0]["_text"]
    assert findings(q, translations=None) == set()


def test_other_resource_types_are_not_checked():
    rule = next(r for r in RULES if r.id == MISSING)
    assert not rule.applies_to("QuestionnaireResponse")
    assert not rule.applies_to("StructureDefinition")


# --------------------------------------------------------------------------------------------
# fhirrug-translation-invalid
# --------------------------------------------------------------------------------------------
def _with_text_extension(extension: dict) -> dict:
    q = questionnaire()
    q["item"][0]["_text"] = {"extension": [extension]}
    return q


def test_missing_lang_and_content_are_invalid():
    no_lang = {"url": TRANSLATION, "extension": [{"url": "content", "valueString": "Does the pain radiate?"}]}
    got = findings(_with_text_extension(no_lang))
    assert (INVALID, "Questionnaire.item[0].text.extension[0]") in got
    assert (MISSING, "Questionnaire.item[0].text") in got  # a translation without lang serves no language
    no_content = {"url": TRANSLATION, "extension": [{"url": "lang", "valueCode": "en"}]}
    assert (INVALID, "Questionnaire.item[0].text.extension[0]") in findings(_with_text_extension(no_content))


def test_blank_content_and_unknown_part_are_reported_on_the_part():
    ext = {"url": TRANSLATION, "extension": [{"url": "lang", "valueCode": "en"}, {"url": "content", "valueString": ""}, {"url": "note", "valueString": "x"}]}
    got = findings(_with_text_extension(ext))
    assert (INVALID, "Questionnaire.item[0].text.extension[0].extension[1]") in got
    assert (INVALID, "Questionnaire.item[0].text.extension[0].extension[2]") in got


def test_value_instead_of_parts_is_invalid():
    ext = {"url": TRANSLATION, "valueString": "Does the pain radiate?"}
    assert (INVALID, "Questionnaire.item[0].text.extension[0]") in findings(_with_text_extension(ext))


def test_duplicate_language_is_reported_on_the_second():
    q = questionnaire()
    q["item"][0]["_text"] = tr(("en", "Does the pain radiate?"), ("en", "Does it radiate?"))
    assert findings(q) == {(INVALID, "Questionnaire.item[0].text.extension[1]")}


def test_translation_into_the_resource_language_is_invalid():
    q = questionnaire()
    q["item"][0]["_text"] = tr(("en", "Does the pain radiate?"), ("nl-NL", "Straalt de pijn uit?"))
    assert findings(q) == {(INVALID, "Questionnaire.item[0].text.extension[1]")}


def test_translation_on_an_element_instead_of_a_primitive_is_invalid():
    q = questionnaire()
    q["item"][0]["extension"].append(en("Does the pain radiate?")["extension"][0])
    assert findings(q) == {(INVALID, "Questionnaire.item[0].extension[1]")}


def test_well_formed_translations_pass_the_invalid_rule():
    got = findings(questionnaire(), translations=("en", "de"))
    assert not {f for f in got if f[0] == INVALID}


# --------------------------------------------------------------------------------------------
# Registration and the shipped content
# --------------------------------------------------------------------------------------------
def test_rules_are_registered_with_docs_and_severity():
    by_id = {r.id: r for r in all_rules()}
    assert by_id[MISSING].severity == "warning"
    assert by_id[INVALID].severity == "error"
    for rule_id in (MISSING, INVALID):
        assert set(by_id[rule_id].resource_types) >= {"Questionnaire", "CodeSystem", "ValueSet"}
        assert len(by_id[rule_id].doc) > len(by_id[rule_id].summary)


def test_pipeline_reports_missing_translation_with_file_and_severity(make_project):
    q = questionnaire(resourceType="Questionnaire", id="x", url="https://fhir.fhirrug.nl/Questionnaire/x")
    del q["item"][0]["_text"]
    root = make_project({"questionnaires/Questionnaire-x.json": json.dumps(q)})
    package = load_package(root)
    result = validate_package(package, rules=[r for r in all_rules() if r.id.startswith("fhirrug-translation")])
    assert [(i.code, i.severity, i.expression, Path(i.file).name) for i in result.issues] == [
        (MISSING, "warning", "Questionnaire.item[0].text", "Questionnaire-x.json")
    ]


def test_every_shipped_resource_is_fully_translated():
    package = load_package(REPO)
    assert load_manifest(REPO).translations == ("en",)
    rules = [r for r in all_rules() if r.id in (MISSING, INVALID)]
    result = validate_package(package, rules=rules)
    assert [(i.code, Path(i.file).name, i.expression) for i in result.issues if i.code in (MISSING, INVALID)] == []
    translated = [r for r in package.resources if r.resource_type in ("Questionnaire", "CodeSystem", "ValueSet")]
    assert len(translated) >= 6


def test_input_is_not_modified():
    q = questionnaire()
    before = copy.deepcopy(q)
    findings(q)
    assert q == before
