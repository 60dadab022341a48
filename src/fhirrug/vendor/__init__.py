"""The vendored FHIR R4 (4.0.1) definitions, loaded lazily and once per process.

Written by `scripts/vendor_fhir_definitions.py` (see PROVENANCE.md next to this file):

- `fhir.schema.json`: the official HL7 R4 JSON Schema, unmodified (draft-06).
- `r4-definitions.json`: generated from hl7.fhir.r4.core 4.0.1: the element table (path ->
  types, min, max, contentReference, required binding) of the resource types fhirrug uses and
  every datatype they reach, the expanded code lists of those required bindings, and each
  primitive's JSON type.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

SCHEMA_FILE = "fhir.schema.json"
DEFINITIONS_FILE = "r4-definitions.json"
CHECKSUMS_FILE = "checksums.json"
SCHEMA_ID = "http://hl7.org/fhir/json-schema/4.0"


def read_bytes(name: str) -> bytes:
    """The bytes of one vendored file (works from a source tree, a wheel or a zip)."""
    return resources.files(__name__).joinpath(name).read_bytes()


@functools.cache
def schema() -> dict[str, Any]:
    """The parsed official R4 JSON Schema. Callers must not mutate it."""
    return json.loads(read_bytes(SCHEMA_FILE))


@functools.cache
def definitions() -> dict[str, Any]:
    """The parsed element table and required-binding expansions. Callers must not mutate it."""
    return json.loads(read_bytes(DEFINITIONS_FILE))


@functools.cache
def all_resource_types() -> frozenset[str]:
    """Every concrete R4 resource type name."""
    return frozenset(definitions()["allResourceTypes"])


@functools.cache
def valueset_codes(url: str) -> frozenset[tuple[str, str]] | None:
    """(system, code) pairs of a vendored required ValueSet, or None when it is not vendored."""
    entry = definitions()["valueSets"].get(url)
    if entry is None:
        return None
    return frozenset((system, code) for system, codes in entry["systems"].items() for code in codes)
