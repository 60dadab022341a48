"""Every code the pipeline's stages 1-4 can report (read and parse, JSON Schema, model, bindings).

These are not check functions: the stages report them (`scope=STAGE`, `check=None`). They are
listed here so that `fhirrug rules` shows them and configuration can select, ignore and re-grade
them like any rule. Built explicitly, in pipeline order.
"""

from __future__ import annotations

from ..issues import ERROR, FATAL, INFORMATION
from .registry import STAGE, Rule

_JSON = "https://hl7.org/fhir/R4/json.html"
_DATATYPES = "https://hl7.org/fhir/R4/datatypes.html"
_TERMINOLOGY = "https://hl7.org/fhir/R4/terminologies.html#required"
_SCHEMA = "https://hl7.org/fhir/R4/json.html#schema"
_CONFORMANCE = "https://hl7.org/fhir/R4/conformance-rules.html#cardinality"
_MODEL = "https://pypi.org/project/fhir.resources/8.3.0/"
_NPM = "https://confluence.hl7.org/display/FHIR/NPM+Package+Specification"


def _stage(id: str, severity: str, summary: str, spec: str) -> Rule:
    return Rule(id, severity, summary, spec, scope=STAGE, check=None)


RULES: list[Rule] = [
    # 1. read and parse (fhirrug.jsonio)
    _stage("fhirrug-file-unreadable", FATAL, "The file cannot be read (missing, a folder, no permission).", _JSON),
    _stage("fhirrug-file-too-large", FATAL, "The file is larger than the size limits (20 MB, 125,000 JSON values); it is not validated.", _JSON),
    _stage("fhirrug-json-bom", FATAL, "The file starts with a UTF-8 byte-order mark, which FHIR JSON must not have.", _JSON),
    _stage("fhirrug-json-encoding", FATAL, "The file is not valid UTF-8, or a string holds a lone UTF-16 surrogate escape.", _JSON),
    _stage("fhirrug-json-syntax", FATAL, "The file is not valid JSON (truncated, NaN/Infinity, a number too large, control characters, empty).", _JSON),
    _stage("fhirrug-json-duplicate-key", FATAL, "A JSON object has the same key twice.", _JSON),
    _stage("fhirrug-json-too-deep", FATAL, "The JSON is nested deeper than the limit (128 levels).", _JSON),
    _stage("fhirrug-json-not-object", FATAL, "The top level of the file is not a JSON object (an array, a string, null, ...).", _JSON),
    # an exported package (.tgz), read by fhirrug.release.tarsafe before stage 1
    _stage("fhirrug-package-unsafe", FATAL, "The package (.tgz) is unsafe or unreadable: links, paths outside it, over the size or header limits, not a tar.", _NPM),
    _stage("fhirrug-package-empty", FATAL, "The package (.tgz) holds no FHIR resources (no package/*.json), or no files at all.", _NPM),
    # 2. JSON Schema (fhirrug.validate.schema)
    _stage("fhirrug-resource-type-missing", FATAL, "The resource has no resourceType, or it is not a string.", "https://hl7.org/fhir/R4/json.html#resources"),
    _stage("fhirrug-resource-type-unknown", FATAL, "The resourceType is not a FHIR R4 resource type.", "https://hl7.org/fhir/R4/resourcelist.html"),
    _stage("fhirrug-schema-additional-property", ERROR, "A property FHIR R4 does not define at this place (a typo, an R5 element, a misplaced element).", _SCHEMA),
    _stage("fhirrug-schema-type", ERROR, "A value of the wrong JSON structure: an object where an array belongs, a string where an object belongs, ...", _SCHEMA),
    _stage("fhirrug-schema-pattern", ERROR, "A primitive whose text does not match its FHIR type's format (date, dateTime, id, code, uri, ...).", _DATATYPES),
    _stage("fhirrug-schema-required", ERROR, "A property the R4 JSON Schema requires is missing.", _SCHEMA),
    _stage("fhirrug-schema-enum", ERROR, "A code outside the values the R4 JSON Schema enumerates (where the bindings stage does not check it).", _SCHEMA),
    _stage("fhirrug-schema-const", ERROR, "A value that must be one fixed value (a contained resource's resourceType) is not.", _SCHEMA),
    _stage("fhirrug-schema", ERROR, "Any other R4 JSON Schema violation.", _SCHEMA),
    _stage("fhirrug-stage-unavailable", FATAL, "The JSON Schema stage could not run (a broken installation); nothing was schema-checked.", _SCHEMA),
    # 3. model (fhirrug.validate.model)
    _stage("fhirrug-model-required", ERROR, "The fhir.resources R4B model reports a mandatory element missing (where stage 4 did not).", _MODEL),
    _stage("fhirrug-model", ERROR, "The fhir.resources R4B model rejects the resource (e.g. two value[x] choices at once).", _MODEL),
    _stage("fhirrug-model-unavailable", INFORMATION, "The model stage did not run for this resource (R4B has no model for the type).", _MODEL),
    # 4. what both miss (fhirrug.validate.bindings)
    _stage("Terminology_TX_NoValid_16", ERROR, "A code not in the ValueSet of a required binding (status, item.type, enableWhen.operator, ...).", _TERMINOLOGY),
    _stage("Validation_VAL_Profile_Minimum", ERROR, "A mandatory element (minimum cardinality 1 in the R4 core definition) is missing.", _CONFORMANCE),
    _stage("fhirrug-empty-value", ERROR, "null, {}, [], an empty or whitespace-only string: FHIR JSON forbids empty values.", _JSON),
    _stage("fhirrug-internal-error", FATAL, "A stage or rule crashed on this input: a bug in fhirrug, reported instead of a traceback.", "https://hl7.org/fhir/R4/validation.html"),
    _stage("fhirrug-primitive-type", ERROR, "A primitive of the wrong JSON type or out of range (\"required\": \"yes\", \"linkId\": 5, positiveInt 0).", _JSON),
]
