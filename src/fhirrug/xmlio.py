"""Reading FHIR R4 XML into the JSON form the rest of fhirrug works on.

FHIR XML and FHIR JSON carry the same content (https://hl7.org/fhir/R4/xml.html,
https://hl7.org/fhir/R4/json.html): an element per property, the primitive's value in a `value`
attribute, `id` and `url` as attributes, `<contained><Patient>…` for a contained resource, the
narrative `div` as XHTML. What XML does not say is which properties repeat and which primitives
are numbers or booleans; the vendored R4 JSON Schema (`fhirrug.vendor`, the same file the schema
stage validates against, every R4 resource and datatype) says both. So an XML file becomes the
dict its JSON twin would parse to, and every later stage reports the same issues at the same
FHIRPath locations.

Not fhir.resources' `model_validate_xml`: it builds a validated R4B model, so a resource with an
unknown element or a wrong value fails as a whole (a `KeyError`), without a location, and its
output is normalised; fhirrug must see the content as written to say what is wrong with it.

Defences (XML is a classic attack surface): the parser is the standard library's expat through
`defusedxml`, which refuses any DOCTYPE (so no entity expansion — "billion laughs" — and no
external entities or DTDs: XXE); the file size limit is the JSON reader's (checked before
parsing); nesting deeper than `jsonio.MAX_DEPTH` is refused; a parse error is an Issue with the
line and column, never a traceback. HL7 recommends parsers that ignore entities (R4 xml.html).
"""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from .issues import FATAL, Issue

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
_FHIR = "{" + FHIR_NS + "}"
_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")

# A property's shape, from the JSON Schema: (repeats, kind, detail) where kind is
# "resource" (ResourceList), "complex" (detail: the definition name), "xhtml", or the JSON type
# of a primitive ("string", "number", "boolean").
_Shape = tuple


class _TooDeep(Exception):
    pass


def parse_xml_bytes(raw: bytes, file: str, *, max_depth: int = 128) -> tuple[Any, list[Issue]]:
    """Parse one FHIR XML document into its JSON form. Returns (dict or None, issues)."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    def fatal(code: str, message: str) -> tuple[None, list[Issue]]:
        return None, [Issue(code, FATAL, message, file, "")]

    try:
        root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        return fatal("fhirrug-xml-forbidden", f"XML with a DOCTYPE, entity or external reference is refused ({type(exc).__name__}); FHIR XML needs none, and they are how entity-expansion and XXE attacks work")
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        reason = str(exc).split(":", 1)[0]
        return fatal("fhirrug-xml-syntax", f"invalid XML: {reason} at line {line} column {column + 1}")
    except (ValueError, RecursionError) as exc:  # e.g. an encoding expat does not know
        return fatal("fhirrug-xml-syntax", f"invalid XML: {exc}")
    if not root.tag.startswith(_FHIR):
        namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else "no namespace"
        return fatal("fhirrug-xml-not-fhir", f"the root element <{_local(root.tag)}> is not in the FHIR namespace {FHIR_NS} ({namespace})")
    try:
        return _resource(root, 1, max_depth), []
    except _TooDeep:
        return fatal("fhirrug-xml-too-deep", f"XML nesting deeper than {max_depth} levels")
    except RecursionError:
        return fatal("fhirrug-xml-too-deep", "XML nested too deeply to read")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@functools.cache
def _definitions() -> dict:
    from .vendor import schema

    return schema()["definitions"]


@functools.cache
def _shapes(definition: str) -> dict[str, _Shape]:
    """property name -> shape, for one JSON Schema definition."""
    definitions = _definitions()
    out: dict[str, _Shape] = {}
    for name, spec in (definitions.get(definition, {}).get("properties") or {}).items():
        if name.startswith("_"):
            continue
        repeats = spec.get("type") == "array"
        target = spec.get("items", {}) if repeats else spec
        ref = target.get("$ref", "")
        if ref:
            ref = ref.rsplit("/", 1)[-1]
            if ref == "ResourceList":
                out[name] = (repeats, "resource", None)
            elif ref == "xhtml":
                out[name] = (repeats, "xhtml", None)
            elif "properties" in definitions.get(ref, {}):
                out[name] = (repeats, "complex", ref)
            else:
                out[name] = (repeats, definitions.get(ref, {}).get("type", "string"), None)
        else:
            out[name] = (repeats, target.get("type", "string"), None)
    return out


def _resource(element: ET.Element, depth: int, limit: int) -> dict:
    resource_type = _local(element.tag)
    out: dict[str, Any] = {"resourceType": resource_type}
    out.update(_children(element, resource_type if resource_type in _definitions() else "", depth, limit))
    return out


def _primitive(text: str | None, kind: str) -> Any:
    """A primitive's value as JSON has it: numbers and booleans typed, the rest strings. A value
    that is not a valid number or boolean stays a string, as a JSON twin with a quoted value
    would, and the schema stage reports it."""
    if text is None:
        return None
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if kind == "number":
        if _INTEGER.fullmatch(text):
            return int(text)
        if _NUMBER.fullmatch(text):
            value = json.loads(text)
            return value if value not in (float("inf"), float("-inf")) else text
    return text


def _children(element: ET.Element, definition: str, depth: int, limit: int) -> dict:
    """The JSON object of a complex element: attributes `id`/`url`, then its child elements."""
    if depth > limit:
        raise _TooDeep
    shapes = _shapes(definition) if definition else {}
    out: dict[str, Any] = {}
    for attribute in ("url", "id"):
        if attribute in element.attrib and (attribute in shapes or not definition):
            out[attribute] = element.attrib[attribute]
    for child in element:
        if not isinstance(child.tag, str):  # comments and processing instructions
            continue
        name = _local(child.tag)
        if child.tag.startswith("{" + XHTML_NS + "}"):
            out[name] = _xhtml(child)
            continue
        repeats, kind, detail = shapes.get(name, (None, None, None))
        if kind == "resource":
            inner = [c for c in child if isinstance(c.tag, str)]
            value: Any = _resource(inner[0], depth + 2, limit) if inner else {}
            _put(out, name, value, repeats)
        elif kind == "complex":
            # A repeating element is two JSON levels (the array, the object), as jsonio counts.
            _put(out, name, _children(child, detail, depth + (2 if repeats else 1), limit), repeats)
        elif kind == "xhtml":
            _put(out, name, _xhtml(child), repeats)
        elif kind is not None:
            _put_primitive(out, name, child, kind, repeats, depth, limit)
        elif "value" in child.attrib or not len(child):
            # Unknown here (a misspelling, an R5 element): kept as its JSON twin would have it,
            # so the schema stage reports it at its location.
            _put_primitive(out, name, child, "string", None, depth, limit)
        else:
            _put(out, name, _children(child, "", depth + 1, limit), None)
    return out


def _put(out: dict, name: str, value: Any, repeats: bool | None) -> None:
    if repeats:
        out.setdefault(name, []).append(value)
    elif name in out:
        # A second occurrence of a property that does not repeat: a list, as the JSON twin
        # (an array where an object belongs) would be, which the schema stage reports.
        previous = out[name]
        out[name] = (previous if isinstance(previous, list) else [previous]) + [value]
    else:
        out[name] = value


def _put_primitive(out: dict, name: str, element: ET.Element, kind: str, repeats: bool | None, depth: int, limit: int) -> None:
    value = _primitive(element.attrib.get("value"), kind)
    extra = _children(element, "Element", depth + 1, limit)  # id and extension of the primitive
    if repeats:
        values = out.setdefault(name, [])
        values.append(value)
        if extra or f"_{name}" in out:
            shadow = out.setdefault(f"_{name}", [None] * (len(values) - 1))
            shadow.extend([None] * (len(values) - 1 - len(shadow)))
            shadow.append(extra or None)
        return
    if value is not None or not extra:
        _put(out, name, value, repeats)
    if extra:
        out[f"_{name}"] = extra


def _xhtml(element: ET.Element) -> str:
    """The narrative div as the JSON string FHIR JSON carries: the XHTML, namespace declared."""
    element.tail = None  # the white space after </div> belongs to the enclosing element
    text = ET.tostring(element, encoding="unicode")
    # ElementTree writes the XHTML namespace with its registered prefix `html:` (markup in the
    # text is escaped, so only tags carry it); FHIR JSON has the default namespace instead.
    return text.replace("<html:", "<").replace("</html:", "</").replace(f'xmlns:html="{XHTML_NS}"', f'xmlns="{XHTML_NS}"')
