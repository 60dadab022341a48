"""The narrative rules of FHIR R4 (stage 5): txt-1 and txt-2 on `text.div`, and that the div is
well-formed XHTML at all.

FHIR R4 defines the two invariants on Narrative.div by FHIRPath `htmlChecks()`, spelled out by
their XPath in the R4 core package (StructureDefinition-Narrative): the elements allowed are the
basic formatting elements of HTML 4.0 chapters 7-11 and 15, `a` and `img` (the lists below,
verbatim from that XPath), the attributes allowed are those listed beside them. The HL7 Java
validator checks nearly the same lists by hand and is a little looser (it also accepts
`address`, `bdo`, `kbd`, `map`, `area` and `xml:lang`); fhirrug follows the specification's own
expression. The narrative section also says the content SHALL NOT contain scripts: an `href` or
`src` with a `javascript:` URL is reported under txt-1 as well.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Iterable

from ..issues import ERROR
from .registry import Finding, Rule, rule_decorator

RULES: list[Rule] = []
rule = rule_decorator(RULES)

SPEC = "https://hl7.org/fhir/R4/narrative.html#Narrative"
XHTML = "http://www.w3.org/1999/xhtml"
XML_NS = "http://www.w3.org/XML/1998/namespace"

# From the XPath of txt-1 in the R4 core package (hl7.fhir.r4.core 4.0.1).
ELEMENTS = frozenset((
    "a", "abbr", "acronym", "b", "big", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "dfn",
    "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "q", "samp",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "ul", "var",
))
ATTRIBUTES = frozenset((
    "abbr", "accesskey", "align", "alt", "axis", "bgcolor", "border", "cellhalign", "cellpadding", "cellspacing",
    "cellvalign", "char", "charoff", "charset", "cite", "class", "colspan", "compact", "coords", "dir", "frame",
    "headers", "height", "href", "hreflang", "hspace", "id", "lang", "longdesc", "name", "nowrap", "rel", "rev",
    "rowspan", "rules", "scope", "shape", "span", "src", "start", "style", "summary", "tabindex", "title", "type",
    "valign", "value", "vspace", "width",
))


def _narrative(resource: dict) -> tuple[str, str] | None:
    """(div, FHIRPath of the div) when the resource has a narrative div that is a string."""
    text = resource.get("text")
    if isinstance(text, dict) and isinstance(text.get("div"), str):
        return text["div"], f"{resource.get('resourceType') or 'Resource'}.text.div"
    return None


def parse_div(div: str) -> tuple[ET.Element | None, str | None]:
    """The parsed div, or None and why it is not well-formed XHTML with a div in the XHTML
    namespace at its root."""
    if "<!DOCTYPE" in div or "<!ENTITY" in div:
        return None, "declares a DOCTYPE or entities, which a narrative cannot have"
    try:
        root = ET.fromstring(div)
    except ET.ParseError as exc:
        return None, f"is not well-formed XML ({exc})"
    if root.tag != f"{{{XHTML}}}div":
        name = root.tag.rpartition("}")[2]
        namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else "no namespace"
        if name != "div":
            return None, f"must start with a div element, not {name!r}"
        return None, f"is in {namespace!r}, not the XHTML namespace {XHTML}"
    return root, None


def _parsed(resource: dict) -> tuple[ET.Element, str] | None:
    """(the parsed div, its FHIRPath) for a resource whose narrative parses; the xhtml rule
    reports the ones that do not."""
    found = _narrative(resource)
    if found is None:
        return None
    root, _ = parse_div(found[0])
    return (root, found[1]) if root is not None else None


def _name(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


@rule("fhirrug-narrative-xhtml", ERROR, "Narrative.div is well-formed XHTML: one div element in the XHTML namespace", SPEC)
def narrative_xhtml(resource: dict, ctx) -> Iterable[Finding]:
    """`text.div` parses as XML (no DOCTYPE, no entities of its own) and its root is a `div` in
    the namespace http://www.w3.org/1999/xhtml, as the R4 narrative section requires and the HL7
    validator checks ("Wrong namespace on the XHTML", "must start with div")."""
    found = _narrative(resource)
    if found is None:
        return
    div, where = found
    _, problem = parse_div(div)
    if problem:
        yield Finding(where, f"the narrative div {problem}")


@rule("txt-1", ERROR, "The narrative SHALL contain only the basic html formatting elements and attributes described in chapters 7-11 (except section 4 of chapter 9) and 15 of the HTML 4.0 standard, <a> elements (either name or href), images and internally contained style attributes", SPEC)
def txt_1(resource: dict, ctx) -> Iterable[Finding]:
    """Every element of `text.div` is one of R4's allowed elements (`p`, `div`, `table`, `a`,
    `img`, ... in the XHTML namespace: no `script`, `form`, `input`, `button`, `iframe`, `svg`,
    `style`) and every attribute one of the allowed attributes (`class`, `id`, `lang`, `href`,
    `style`, ...: no `onclick`, no `data-*`, no `xml:lang`); no `javascript:` URL."""
    parsed = _parsed(resource)
    if parsed is None:
        return
    root, where = parsed
    reported: set[str] = set()
    for element in root.iter():
        namespace, name = _name(element.tag)
        if namespace != XHTML or name not in ELEMENTS:
            key = f"element {name}"
            if key not in reported:
                reported.add(key)
                yield Finding(where, f"element <{name}>{'' if namespace == XHTML else ' outside the XHTML namespace'} is not allowed in a narrative")
        for attribute, value in element.attrib.items():
            attr_ns, attr_name = _name(attribute)
            shown = f"xml:{attr_name}" if attr_ns == XML_NS else (attr_name if attr_ns is None else attribute)
            if attr_ns is not None or attr_name not in ATTRIBUTES:
                key = f"attribute {shown} on {name}"
                if key not in reported:
                    reported.add(key)
                    yield Finding(where, f"attribute {shown!r} on <{name}> is not allowed in a narrative")
            elif attr_name in ("href", "src") and value.strip().lower().startswith("javascript:"):
                yield Finding(where, f"{attr_name} {value[:40]!r} on <{name}> is a script, which a narrative SHALL NOT contain")


@rule("txt-2", ERROR, "The narrative SHALL have some non-whitespace content", SPEC)
def txt_2(resource: dict, ctx) -> Iterable[Finding]:
    """`text.div` holds some text that is not whitespace, or an `img` with a `src`."""
    parsed = _parsed(resource)
    if parsed is None:
        return
    root, where = parsed
    if "".join(root.itertext()).strip():
        return
    if any(_name(e.tag)[1] == "img" and e.get("src") for e in root.iter()):
        return
    yield Finding(where, "the narrative div has no text and no image")
