"""Stage 2 of validation: the official FHIR R4 JSON Schema (vendored, see fhirrug/vendor/PROVENANCE.md).

Each resource is validated against its own definition (`#/definitions/<resourceType>`), never
against the schema's top-level `oneOf` of 146 resource types (slow, and its errors say only "not
valid under any of the given schemas"). Contained resources (and Bundle entries, Parameters
resources) are validated the same way, each against its own definition, with the expression
prefixed by where they sit (`Questionnaire.contained[0].status`).

The schema is compiled once, lazily, into Python closures (`CompiledSchema`: the HL7 schema uses
nine keywords; jsonschema's interpretation costs ~20 ms per Questionnaire, the compiled form well
under 1 ms). jsonschema (imported only here, lazily) stays the reference: it is used for any
schema the compiler does not support, and the tests compare both on every input.

Reported here:
- `fhirrug-resource-type-missing`, `fhirrug-resource-type-unknown` (fatal): the resource cannot
  be validated at all; the model and bindings stages then stay silent about it.
- `fhirrug-schema-additional-property`: a property FHIR R4 does not define (one issue per
  property, at the property: `Questionnaire.item[0].foo`).
- `fhirrug-schema-type`: an object where an array belongs, a string where an object belongs, ...
- `fhirrug-schema-pattern`: a primitive's lexical form (`date`, `id`, `code`, `uri`, ...).
- `fhirrug-schema-required`: a property the schema requires, where the bindings stage does not
  already report it as `Validation_VAL_Profile_Minimum`.
- `fhirrug-schema-enum`, `fhirrug-schema-const`, `fhirrug-schema`: the rest.

Left to the bindings stage (reported once, there, with a more precise check): empty values
(`null`, `{}`, `[]`, `""`), primitives of the wrong JSON type and codes outside a required
binding, wherever the bindings stage covers the element (`fhirrug.validate.bindings.covers`).
"""

from __future__ import annotations

import functools
from typing import Any, Iterable

from .. import vendor
from ..issues import ERROR, FATAL, Issue
from .messages import describe, expression  # noqa: F401 - also the names model.py imports from here

CODE_MISSING_TYPE = "fhirrug-resource-type-missing"
CODE_UNKNOWN_TYPE = "fhirrug-resource-type-unknown"
CODE_ADDITIONAL = "fhirrug-schema-additional-property"
CODE_TYPE = "fhirrug-schema-type"
CODE_PATTERN = "fhirrug-schema-pattern"
CODE_ENUM = "fhirrug-schema-enum"
CODE_CONST = "fhirrug-schema-const"
CODE_REQUIRED = "fhirrug-schema-required"
CODE_OTHER = "fhirrug-schema"
CODE_UNAVAILABLE = "fhirrug-stage-unavailable"

_PRIMITIVE_SCHEMA_TYPES = {"string", "number", "boolean", "integer"}


@functools.cache
def _definitions() -> dict:
    """The schema's definitions as fhirrug applies them (the vendored file itself is unmodified):

    - ResourceList (a oneOf of every resource) becomes "an object": nested resources are
      validated separately, each against its own definition.
    - Every definition with `properties` also gets `"type": "object"`. The HL7 schema leaves it
      out on all its complex types, so `"text": "hello"` or `"code": ["x"]` would pass it, while
      FHIR JSON (json.html) represents every complex element as an object.
    - Every `canonical` property gets its `_name` sibling (an Element, or an array of them). The
      HL7 schema leaves these out (72 properties, e.g. `_answerValueSet`, `_questionnaire`,
      `ValueSet.compose.include._valueSet`), though FHIR JSON allows extensions on every
      primitive; the HL7 Java validator accepts them (conformance case `vs-params-q`).
    """
    definitions = {}
    for name, definition in vendor.schema()["definitions"].items():
        if "properties" in definition:
            properties = dict(definition["properties"])
            for prop, sub in definition["properties"].items():
                many = "items" in sub
                ref = sub.get("items", {}).get("$ref") if many else sub.get("$ref")
                if ref == "#/definitions/canonical" and f"_{prop}" not in properties:
                    element = {"$ref": "#/definitions/Element"}
                    properties[f"_{prop}"] = {"items": element, "type": "array"} if many else element
            definition = {**definition, "properties": properties}
            if "type" not in definition:
                definition = {"type": "object", **definition}
        definitions[name] = definition
    definitions["ResourceList"] = {"type": "object"}
    return definitions


class SchemaError:
    """One schema violation, with the attributes of jsonschema's ValidationError that we use."""

    __slots__ = ("validator", "validator_value", "instance", "path", "schema")

    def __init__(self, validator: str, validator_value: Any, instance: Any, path: tuple, schema: dict):
        self.validator = validator
        self.validator_value = validator_value
        self.instance = instance
        self.path = path
        self.schema = schema

    @property
    def absolute_path(self) -> tuple:
        return self.path


class UnsupportedKeyword(Exception):
    """The compiled validator met a keyword it does not implement; jsonschema is used instead."""


_IGNORED_KEYWORDS = frozenset({"description", "$schema", "id", "discriminator", "title"})


def _json_equal(a: Any, b: Any) -> bool:
    """JSON Schema equality: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _is_type(instance: Any, name: str) -> bool:
    if name == "string":
        return isinstance(instance, str)
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name == "boolean":
        return isinstance(instance, bool)
    if name == "number":
        return isinstance(instance, (int, float)) and not isinstance(instance, bool)
    if name == "integer":
        if isinstance(instance, bool):
            return False
        return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())
    if name == "null":
        return instance is None
    raise UnsupportedKeyword(f"type {name}")


class CompiledSchema:
    """The FHIR schema's keywords compiled once into Python closures.

    The official R4 schema uses only $ref, properties, additionalProperties (false), required,
    type, pattern, enum, const and items (plus one oneOf, in ResourceList, which fhirrug replaces).
    jsonschema interprets every `$ref` through its referencing registry at each use, about 20 ms
    per Questionnaire; these closures resolve each definition once. `tests/test_stage_schema.py`
    checks that both report the same (keyword, path) pairs; any keyword not listed above raises
    UnsupportedKeyword at compile time and the stage falls back to jsonschema.
    """

    def __init__(self, definitions: dict):
        self.definitions = definitions
        self.compiled: dict[str, Any] = {}

    def validator(self, name: str):
        if name == "ResourceList":
            return _nested_resource
        fn = self.compiled.get(name)
        if fn is None:
            self.compiled[name] = self._ref(name)  # placeholder so recursive definitions terminate
            fn = self.compiled[name] = self.compile(self.definitions[name])
        return fn

    def _ref(self, name: str):
        compiled = self.compiled

        def check(instance, path, errors):
            fn = compiled.get(name)
            if fn is None or fn is check:
                fn = self.validator(name) if fn is None else self.compile(self.definitions[name])
                compiled[name] = fn
            fn(instance, path, errors)

        return check

    def compile(self, schema: dict):
        if "$ref" in schema:  # draft-06: $ref ignores its siblings
            ref = schema["$ref"]
            if not ref.startswith("#/definitions/"):
                raise UnsupportedKeyword(f"$ref {ref}")
            name = ref[len("#/definitions/") :]
            if name not in self.definitions:
                raise UnsupportedKeyword(f"$ref {ref}")
            if name == "ResourceList":
                return _nested_resource
            return self._ref(name)
        keywords = set(schema) - _IGNORED_KEYWORDS
        if keywords and keywords <= {"type", "pattern"} and isinstance(schema.get("type", ""), str):
            return self._primitive(schema)
        if "properties" in keywords and keywords <= {"type", "properties", "additionalProperties", "required"} and schema.get("type", "object") == "object":
            return self._object(schema)
        checks = []
        for keyword, value in schema.items():
            if keyword in _IGNORED_KEYWORDS:
                continue
            make = getattr(self, "_k_" + keyword.replace("$", ""), None)
            if make is None:
                raise UnsupportedKeyword(keyword)
            check = make(value, schema)
            if check is not None:
                checks.append(check)
        if len(checks) == 1:
            return checks[0]

        def run(instance, path, errors):
            for check in checks:
                check(instance, path, errors)

        return run

    # Fused forms of the two shapes nearly every definition has (same errors, fewer calls).

    def _primitive(self, schema):
        """{"type": T, "pattern": P}: a FHIR primitive."""
        import re

        type_name = schema.get("type")
        pattern = schema.get("pattern")
        if type_name is not None:
            _is_type(None, type_name)  # raises UnsupportedKeyword for an unknown type name
        search = re.compile(pattern).search if pattern is not None else None

        def check(instance, path, errors):
            if type_name is not None and not _is_type(instance, type_name):
                errors.append(SchemaError("type", type_name, instance, path, schema))
            if search is not None and isinstance(instance, str) and search(instance) is None:
                errors.append(SchemaError("pattern", pattern, instance, path, schema))

        return check

    def _object(self, schema):
        """{"type": "object", "properties": ..., "additionalProperties": false, "required": [...]}."""
        has_type = "type" in schema
        closed = schema.get("additionalProperties", True) is False
        if schema.get("additionalProperties", False) not in (True, False):
            raise UnsupportedKeyword("additionalProperties as a schema")
        required = tuple(schema.get("required", ()))
        checks = {name: self.compile(sub) for name, sub in schema["properties"].items()}

        def check(instance, path, errors):
            if not isinstance(instance, dict):
                if has_type:
                    errors.append(SchemaError("type", "object", instance, path, schema))
                return
            extra = False
            for name, item in instance.items():
                sub = checks.get(name)
                if sub is None:
                    extra = True
                else:
                    sub(item, path + (name,), errors)
            if extra and closed:
                errors.append(SchemaError("additionalProperties", False, instance, path, schema))
            for name in required:
                if name not in instance:
                    errors.append(SchemaError("required", required, instance, path, schema))

        return check

    # One factory per keyword: (keyword value, the schema it sits in) -> check or None.

    def _k_type(self, value, schema):
        names = [value] if isinstance(value, str) else list(value)
        for name in names:
            _is_type(None, name)  # raises UnsupportedKeyword for a type name we do not know

        def check(instance, path, errors):
            if not any(_is_type(instance, name) for name in names):
                errors.append(SchemaError("type", value, instance, path, schema))

        return check

    def _k_pattern(self, value, schema):
        import re

        search = re.compile(value).search

        def check(instance, path, errors):
            if isinstance(instance, str) and search(instance) is None:
                errors.append(SchemaError("pattern", value, instance, path, schema))

        return check

    def _k_enum(self, value, schema):
        strings = frozenset(v for v in value if isinstance(v, str))

        def check(instance, path, errors):
            if isinstance(instance, str):
                if instance in strings:
                    return
            elif any(_json_equal(instance, v) for v in value):
                return
            errors.append(SchemaError("enum", value, instance, path, schema))

        return check

    def _k_const(self, value, schema):
        def check(instance, path, errors):
            if not _json_equal(instance, value):
                errors.append(SchemaError("const", value, instance, path, schema))

        return check

    def _k_items(self, value, schema):
        if not isinstance(value, dict):
            raise UnsupportedKeyword("items as an array")
        item_check = self.compile(value)

        def check(instance, path, errors):
            if isinstance(instance, list):
                for index, item in enumerate(instance):
                    item_check(item, path + (index,), errors)

        return check

    def _k_properties(self, value, schema):
        checks = {name: self.compile(sub) for name, sub in value.items()}

        def check(instance, path, errors):
            if isinstance(instance, dict):
                for name, item in instance.items():
                    sub = checks.get(name)
                    if sub is not None:
                        sub(item, path + (name,), errors)

        return check

    def _k_additionalProperties(self, value, schema):
        if value is True:
            return None
        if value is not False:
            raise UnsupportedKeyword("additionalProperties as a schema")
        known = frozenset(schema.get("properties", {}))

        def check(instance, path, errors):
            if isinstance(instance, dict) and not known.issuperset(instance):
                errors.append(SchemaError("additionalProperties", value, instance, path, schema))

        return check

    def _k_required(self, value, schema):
        def check(instance, path, errors):
            if isinstance(instance, dict):
                for name in value:
                    if name not in instance:
                        errors.append(SchemaError("required", value, instance, path, schema))

        return check


def _nested_resource(instance, path, errors):
    """ResourceList, compiled: an object is required; the resource itself is validated on its own,
    against its own definition (recorded here as a NESTED marker for `_validate`)."""
    if not isinstance(instance, dict):
        errors.append(SchemaError("type", "object", instance, path, {"type": "object"}))
    elif isinstance(instance.get("resourceType"), str):
        errors.append(SchemaError(NESTED, None, instance, path, {}))


NESTED = "$nested-resource"


@functools.cache
def _compiled() -> CompiledSchema:
    return CompiledSchema(_definitions())


@functools.cache
def _resource_properties() -> frozenset[str]:
    """Property names whose value is a resource (ResourceList): contained, resource, outcome."""
    names = set()
    for definition in vendor.schema()["definitions"].values():
        for name, prop in definition.get("properties", {}).items():
            ref = prop.get("$ref") or prop.get("items", {}).get("$ref")
            if ref == "#/definitions/ResourceList":
                names.add(name)
    return frozenset(names)


@functools.cache
def jsonschema_validator_for(resource_type: str):
    """A jsonschema Draft6Validator of `#/definitions/<resource_type>` (the reference
    implementation; used when the compiled validator cannot handle the schema, and by the tests)."""
    import jsonschema

    schema = {"$ref": f"#/definitions/{resource_type}", "definitions": _definitions()}
    return jsonschema.Draft6Validator(schema)


def schema_errors(resource: dict, resource_type: str) -> list:
    """Every schema violation of `resource` against `#/definitions/<resource_type>`: the compiled
    validator's SchemaErrors, or jsonschema's ValidationErrors when the schema cannot be compiled."""
    return [e for e in _schema_errors_and_nested(resource, resource_type) if e.validator != NESTED]


def _schema_errors_and_nested(resource: dict, resource_type: str) -> list:
    """schema_errors plus a NESTED marker for every resource nested in this one."""
    try:
        check = _compiled().validator(resource_type)
    except UnsupportedKeyword:
        errors = list(jsonschema_validator_for(resource_type).iter_errors(resource))
        return errors + [SchemaError(NESTED, None, nested, tuple(path), {}) for path, nested in _nested_resources(resource, [])]
    errors: list[SchemaError] = []
    check(resource, (), errors)
    return errors


def _nested_resources(node: Any, parts: list) -> Iterable[tuple[list, dict]]:
    """(path, resource) of every resource nested in `node` (contained, Bundle.entry.resource, ...)."""
    names = _resource_properties()
    stack = [(node, parts)]
    while stack:
        current, path = stack.pop()
        if isinstance(current, dict):
            for key, value in current.items():
                if key in names:
                    items = enumerate(value) if isinstance(value, list) else [(None, value)]
                    for index, item in items:
                        item_path = path + [key] + ([index] if index is not None else [])
                        if isinstance(item, dict) and isinstance(item.get("resourceType"), str):
                            yield item_path, item
                        # nested resources are walked by their own validation, not here
                elif isinstance(value, (dict, list)):
                    stack.append((value, path + [key]))
        elif isinstance(current, list):
            for index, value in enumerate(current):
                if isinstance(value, (dict, list)):
                    stack.append((value, path + [index]))


def _is_empty(value: Any) -> bool:
    return value is None or value == {} or value == [] or (isinstance(value, str) and not value.strip())


def _validate(resource: dict, resource_type: str, prefix: str, file: str, out: list[Issue]) -> None:
    from . import bindings

    found = _schema_errors_and_nested(resource, resource_type)
    errors = [e for e in found if e.validator != NESTED]
    nested_resources = [(list(e.absolute_path), e.instance) for e in found if e.validator == NESTED]
    type_error_paths = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    for error in errors:
        parts = list(error.absolute_path)
        instance = error.instance
        where = expression(prefix, parts)
        kind = error.validator
        if _is_empty(instance):
            continue  # bindings: fhirrug-empty-value
        if kind == "additionalProperties" and isinstance(instance, dict):
            known = error.schema.get("properties", {})
            for name in instance:
                if name not in known:
                    out.append(
                        Issue(CODE_ADDITIONAL, ERROR, f"{name!r} is not a property FHIR R4 defines here", file, expression(prefix, parts + [name]))
                    )
            continue
        if kind == "type":
            expected = error.validator_value
            expected_names = {expected} if isinstance(expected, str) else set(expected)
            primitive_value = isinstance(instance, (str, int, float, bool))
            if expected_names <= _PRIMITIVE_SCHEMA_TYPES and primitive_value and bindings.covers(resource_type, parts):
                continue  # bindings: fhirrug-primitive-type
            out.append(Issue(CODE_TYPE, ERROR, f"{describe(instance)} is not of type {' or '.join(sorted(expected_names))}", file, where))
            continue
        if kind == "pattern":
            if tuple(parts) in type_error_paths:
                continue  # the type error says it already
            fhir_type = bindings.covers(resource_type, parts)
            what = f"a valid FHIR {fhir_type}" if fhir_type else f"matching {error.validator_value}"
            out.append(Issue(CODE_PATTERN, ERROR, f"{describe(instance)} is not {what}", file, where))
            continue
        if kind == "enum":
            if bindings.covers_binding(resource_type, parts):
                continue  # bindings: Terminology_TX_NoValid_16, from the vendored core ValueSet
            out.append(Issue(CODE_ENUM, ERROR, f"{describe(instance)} is not one of {describe(error.validator_value, 200)}", file, where))
            continue
        if kind == "required" and isinstance(instance, dict):
            for name in error.validator_value:
                if name in instance or f"_{name}" in instance:
                    continue
                if name == "resourceType" or bindings.covers(resource_type, parts + [name]):
                    continue  # bindings: Validation_VAL_Profile_Minimum (resourceType: checked first)
                out.append(Issue(CODE_REQUIRED, ERROR, f"{name!r} is required here but missing", file, expression(prefix, parts + [name])))
            continue
        if kind == "const":
            out.append(Issue(CODE_CONST, ERROR, f"{describe(instance)} is not {describe(error.validator_value)}", file, where))
            continue
        out.append(Issue(CODE_OTHER, ERROR, f"{describe(instance)}: {kind} {describe(error.validator_value)} not met", file, where))
    for path, nested in nested_resources:
        nested_prefix = expression(prefix, path)
        out.extend(_check_one(nested, nested_prefix, file))


def _check_one(resource: dict, prefix: str | None, file: str) -> list[Issue]:
    if "resourceType" not in resource:
        return [Issue(CODE_MISSING_TYPE, FATAL, "no resourceType: cannot tell what kind of FHIR resource this is", file, f"{prefix}.resourceType" if prefix else "resourceType")]
    resource_type = resource["resourceType"]
    if not isinstance(resource_type, str):
        return [Issue(CODE_MISSING_TYPE, FATAL, f"resourceType is {describe(resource_type)}, not a string", file, f"{prefix}.resourceType" if prefix else "resourceType")]
    if resource_type not in vendor.all_resource_types():
        return [Issue(CODE_UNKNOWN_TYPE, FATAL if prefix is None else ERROR, f"{describe(resource_type)} is not a FHIR R4 resource type", file, f"{prefix}.resourceType" if prefix else "resourceType")]
    out: list[Issue] = []
    _validate(resource, resource_type, prefix or resource_type, file, out)
    return out


def _dedupe(issues: list[Issue]) -> list[Issue]:
    seen: set = set()
    out = []
    for issue in issues:
        key = (issue.code, issue.expression)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out


def check(resource: dict, file: str) -> list[Issue]:
    """Stage 2: validate one parsed resource against the official R4 JSON Schema."""
    if not isinstance(resource, dict):
        return [Issue(CODE_OTHER, FATAL, f"a resource must be a JSON object, not {describe(resource)}", file, "")]
    try:
        return _dedupe(_check_one(resource, None, file))
    except RecursionError:  # only for dicts built in code: the parser refuses such depth first
        return [Issue("fhirrug-json-too-deep", FATAL, "resource nested too deeply to validate", file, "")]
    except (ImportError, OSError, ValueError) as exc:  # a broken install: say so, never a traceback
        return [Issue(CODE_UNAVAILABLE, FATAL, f"JSON Schema stage could not run: {type(exc).__name__}: {exc}", file, "")]
