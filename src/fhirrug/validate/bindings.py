"""Stage 4 of validation: what the JSON Schema and the model both miss.

Walks a resource along the vendored R4 element table (`fhirrug.vendor`, generated from
hl7.fhir.r4.core 4.0.1) and reports:

- `Terminology_TX_NoValid_16`: a `code` not in the ValueSet of a `required` binding
  (`Questionnaire.status`, `.item.type`, `.item.enableWhen.operator`, `.item.enableBehavior`,
  `QuestionnaireResponse.status`, `CodeSystem.content`, `ValueSet.compose.include.filter.op`,
  `ConceptMap.group.element.target.equivalence`, ... every required binding of the resource
  types fhirrug uses and the datatypes they reach). fhir.resources accepts `status: "foo"`.
- `fhirrug-empty-value`: `null`, `{}`, `[]`, `""` or a whitespace-only string anywhere. FHIR
  JSON forbids them, except a `null` in an array whose `_name` sibling array has content at the
  same index (and the other way round), which is how primitives with extensions are aligned.
- `Validation_VAL_Profile_Minimum`: a mandatory element (min 1 in the core definition) is
  missing: `Questionnaire.status`, `item.linkId`, `item.type`, `Extension.url`, ... (the model
  stops at the first level with errors; this walk reports every one).
- `fhirrug-primitive-type`: a primitive of the wrong JSON type that the model would coerce
  (`"required": "yes"`, `"linkId": 5`, `"answerInteger": "3"`, a decimal given as a string,
  `3.5` for an integer) or out of its range (`positiveInt` 0, `integer` beyond 32 bits).

This stage owns these three kinds of problem: the schema stage leaves them out where this stage
covers the element (see `covers`), so a problem is reported once.
"""

from __future__ import annotations

import functools
from typing import Any, Iterator

from ..issues import ERROR, Issue
from .. import vendor
from .messages import describe

CODE_BINDING = "Terminology_TX_NoValid_16"
CODE_EMPTY = "fhirrug-empty-value"
CODE_PRIMITIVE = "fhirrug-primitive-type"
CODE_MINIMUM = "Validation_VAL_Profile_Minimum"

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1



@functools.cache
def _table() -> tuple[dict, dict, dict, frozenset]:
    """(elements by path, choice elements by parent path, primitive -> JSON type, resource types with elements)."""
    data = vendor.definitions()
    elements = data["elements"]
    choices: dict[str, list[tuple[str, tuple[str, ...], dict]]] = {}
    for path, element in elements.items():
        if path.endswith("[x]"):
            parent, _, name = path.rpartition(".")
            choices.setdefault(parent, []).append((name[:-3], tuple(element.get("types", ())), element))
    return elements, choices, data["primitives"], frozenset(data["resourceTypes"])


@functools.cache
def _required_children() -> dict[str, tuple[str, ...]]:
    """parent path -> names of its children with min >= 1 (a choice keeps its `[x]`)."""
    elements = vendor.definitions()["elements"]
    out: dict[str, list[str]] = {}
    for path, element in elements.items():
        if element.get("min", 0) >= 1:
            parent, _, name = path.rpartition(".")
            out.setdefault(parent, []).append(name)
    return {parent: tuple(names) for parent, names in out.items()}


def _present(node: dict, name: str) -> bool:
    if name.endswith("[x]"):
        prefix = name[:-3]
        return any(
            (key.lstrip("_").startswith(prefix) and key.lstrip("_")[len(prefix) : len(prefix) + 1].isupper()) for key in node
        )
    return name in node or f"_{name}" in node


class Child:
    """What the element table says about one JSON property."""

    __slots__ = ("path", "type", "element")

    def __init__(self, path: str, type_: str, element: dict):
        self.path = path  # the element path children of a backbone element are found under
        self.type = type_  # the FHIR type of the value
        self.element = element

    @property
    def many(self) -> bool:
        return self.element.get("max", "1") != "1"


def _type_suffix(type_name: str) -> str:
    return type_name[:1].upper() + type_name[1:]


def lookup(base: str | None, key: str) -> Child | None:
    """The element a JSON property `key` of an object at element path/type `base` stands for."""
    if base is None:
        return None
    elements, choices, _, _ = _table()
    path = f"{base}.{key}"
    element = elements.get(path)
    if element is not None:
        if "ref" in element:
            target = elements.get(element["ref"], {})
            return Child(element["ref"], (target.get("types") or ["BackboneElement"])[0], element)
        types = element.get("types") or []
        if len(types) != 1:
            return None
        type_name = types[0]
        return Child(path if type_name in ("BackboneElement", "Element") else type_name, type_name, element)
    for prefix, types, element in choices.get(base, ()):
        if key.startswith(prefix):
            suffix = key[len(prefix) :]
            for type_name in types:
                if _type_suffix(type_name) == suffix:
                    return Child(type_name, type_name, element)
    return None


def covers(resource_type: str, parts: list) -> str | None:
    """The FHIR type of the element at JSON path `parts` of a resource, when this stage checks it.

    The schema stage asks this before leaving out a type error (this stage reports it).
    Primitive extension siblings (`_name`) and unknown properties are not covered (None).
    """
    child = element_at(resource_type, parts)
    return child.type if child is not None else None


def covers_binding(resource_type: str, parts: list) -> bool:
    """True when this stage checks the code at `parts` against a vendored required ValueSet."""
    child = element_at(resource_type, parts)
    if child is None or child.type != "code" or "binding" not in child.element:
        return False
    return vendor.valueset_codes(child.element["binding"]) is not None


def element_at(resource_type: str, parts: list) -> Child | None:
    """The element table's entry for the JSON path `parts` of a resource (None when unknown)."""
    _, _, primitives, known = _table()
    if resource_type not in known:
        return None
    base: str | None = resource_type
    child: Child | None = None
    for part in parts:
        if isinstance(part, int):
            continue
        if base is None:
            return None
        child = lookup(base, part)
        if child is None:
            return None
        base = None if child.type in primitives or child.type == "Resource" else child.path
    return child


def _is_empty_string(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _json_type_ok(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


_JSON_NAMES = {"boolean": "JSON boolean", "integer": "JSON integer", "number": "JSON number", "string": "JSON string"}


def _describe(value: Any) -> str:
    return describe(value)


class _Walker:
    def __init__(self, file: str):
        self.file = file
        self.issues: list[Issue] = []

    def report(self, code: str, expression: str, message: str) -> None:
        self.issues.append(Issue(code, ERROR, message, self.file, expression))

    # -- resources and objects -------------------------------------------------------------

    def resource(self, node: dict, expression: str) -> None:
        resource_type = node.get("resourceType")
        _, _, _, known = _table()
        base = resource_type if isinstance(resource_type, str) and resource_type in known else None
        self.object(node, base, expression, is_resource=True)

    def object(self, node: dict, base: str | None, expression: str, is_resource: bool = False) -> None:
        if not node or (is_resource and set(node) == {"resourceType"}):
            if not node:
                self.report(CODE_EMPTY, expression, "{} is empty: a FHIR JSON object must have some content")
            return
        if base is not None:
            for name in _required_children().get(base, ()):
                if not _present(node, name):
                    self.report(
                        CODE_MINIMUM,
                        f"{expression}.{name[:-3] if name.endswith('[x]') else name}",
                        f"{name} is missing: {base}.{name} is required (minimum cardinality 1)",
                    )
        for key, value in node.items():
            if is_resource and key == "resourceType":
                continue
            if key.startswith("_") and len(key) > 1:
                self.primitive_extension(node, key, value, expression)
                continue
            child = lookup(base, key)
            self.property(node, key, value, child, f"{expression}.{key}")

    def property(self, node: dict, key: str, value: Any, child: Child | None, expression: str) -> None:
        if isinstance(value, list):
            if not value:
                self.report(CODE_EMPTY, expression, f"[] is empty: leave '{key}' out instead of giving an empty array")
                return
            siblings = node.get("_" + key)
            for index, item in enumerate(value):
                item_expression = f"{expression}[{index}]"
                if item is None:
                    aligned = isinstance(siblings, list) and index < len(siblings) and siblings[index] is not None
                    if not aligned:
                        self.report(CODE_EMPTY, item_expression, f"null in '{key}' without content at the same index of '_{key}'")
                    continue
                self.value(item, child, item_expression)
        elif value is None:
            self.report(CODE_EMPTY, expression, f"null: leave '{key}' out instead of giving null")
        else:
            self.value(value, child, expression)

    def value(self, value: Any, child: Child | None, expression: str) -> None:
        _, _, primitives, _ = _table()
        if isinstance(value, dict):
            if child is None:
                self.object(value, None, expression)
            elif child.type == "Resource":
                self.resource(value, expression)
            elif child.type not in primitives:
                self.object(value, child.path, expression)
            # an object where a primitive belongs: a schema type error, reported there
            return
        if isinstance(value, list):
            # an array inside an array, or where a single value belongs: schema type error;
            # still look for empties inside
            for index, item in enumerate(value):
                if item is None:
                    self.report(CODE_EMPTY, f"{expression}[{index}]", "null: FHIR JSON has no null values")
                else:
                    self.value(item, None, f"{expression}[{index}]")
            return
        if _is_empty_string(value):
            what = "''" if value == "" else "a whitespace-only string"
            self.report(CODE_EMPTY, expression, f"{what}: FHIR strings must have content; leave the element out instead")
            return
        if child is None or child.type not in primitives:
            return  # unknown property or a primitive where an object belongs: the schema reports it
        self.primitive(value, child, expression)

    def primitive(self, value: Any, child: Child, expression: str) -> None:
        _, _, primitives, _ = _table()
        kind = primitives[child.type]
        if not _json_type_ok(kind, value):
            self.report(CODE_PRIMITIVE, expression, f"{_describe(value)} is not a {_JSON_NAMES[kind]}: FHIR {child.type} must be one")
            return
        if kind == "integer":
            low = 1 if child.type == "positiveInt" else 0 if child.type == "unsignedInt" else INT32_MIN
            if not low <= value <= INT32_MAX:
                self.report(CODE_PRIMITIVE, expression, f"{value} is out of range for FHIR {child.type} ({low}..{INT32_MAX})")
            return
        binding = child.element.get("binding")
        if binding and child.type == "code":
            codes = vendor.valueset_codes(binding)
            if codes is not None and value not in {code for _, code in codes}:
                allowed = ", ".join(sorted({code for _, code in codes})) if len(codes) <= 12 else f"{len(codes)} codes"
                self.report(
                    CODE_BINDING,
                    expression,
                    f"{_describe(value)} is not in the required ValueSet {binding} (allowed: {allowed})",
                )

    def primitive_extension(self, node: dict, key: str, value: Any, expression: str) -> None:
        """`_name`: the id/extensions of primitive `name`: an object, or an array aligned with `name`'s."""
        name = key[1:]
        target = f"{expression}.{name}"
        if isinstance(value, list):
            if not value:
                self.report(CODE_EMPTY, target, f"[] is empty: leave '{key}' out instead of giving an empty array")
                return
            values = node.get(name)
            for index, item in enumerate(value):
                if item is None:
                    aligned = isinstance(values, list) and index < len(values) and values[index] is not None
                    if not aligned:
                        self.report(CODE_EMPTY, f"{target}[{index}]", f"null in '{key}' without a value at the same index of '{name}'")
                    continue
                if isinstance(item, dict):
                    self.element_object(item, f"{target}[{index}]")
                elif _is_empty_string(item):
                    self.report(CODE_EMPTY, f"{target}[{index}]", "empty string: FHIR strings must have content")
        elif value is None:
            self.report(CODE_EMPTY, target, f"null: leave '{key}' out instead of giving null")
        elif isinstance(value, dict):
            self.element_object(value, target)
        elif _is_empty_string(value):
            self.report(CODE_EMPTY, target, "empty string: FHIR strings must have content")

    def element_object(self, node: dict, expression: str) -> None:
        if not node:
            self.report(CODE_EMPTY, expression, "{} is empty: a primitive's extension object must have an id or extensions")
            return
        for key, value in node.items():
            child = lookup("Extension", "extension") if key == "extension" else lookup("Extension", "id") if key == "id" else None
            self.property(node, key, value, child, f"{expression}.{key}")


def _walk(resource: dict, file: str) -> list[Issue]:
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or resource_type not in vendor.all_resource_types():
        return []  # the schema stage reports a missing or unknown resourceType
    walker = _Walker(file)
    try:
        walker.resource(resource, resource_type)
    except RecursionError:  # only for dicts built in code: the parser refuses such depth first
        return []  # the schema stage reports fhirrug-json-too-deep for the same resource
    return walker.issues


def check(resource: dict, file: str) -> list[Issue]:
    """Stage 4: required bindings, empty values and coerced primitives of one resource."""
    if not isinstance(resource, dict):
        return []
    return _walk(resource, file)


def iter_codes() -> Iterator[str]:
    yield from (CODE_BINDING, CODE_EMPTY, CODE_PRIMITIVE, CODE_MINIMUM)
