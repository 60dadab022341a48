"""`fhirrug validate` as a library: a straight line of stages, each reporting rather than stopping.

1. read and parse (fhirrug.jsonio, via fhirrug.package)
2. JSON Schema (fhirrug.validate.schema)
3. model: fhir.resources R4B (fhirrug.validate.model, the only module importing fhir.resources)
4. what both miss: required bindings, empty values, coerced primitives (fhirrug.validate.bindings)
5. resource rules, 6. package rules (fhirrug.rules)
"""

from .pipeline import ValidationResult, has_errors, validate_default, validate_package, validate_paths, validate_root

__all__ = ["ValidationResult", "has_errors", "validate_default", "validate_package", "validate_paths", "validate_root"]
