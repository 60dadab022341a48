"""Walking plain (possibly malformed) FHIR JSON with the FHIRPath location of every node.

Rules run after the schema and model stages have already reported type errors, so everything
here tolerates any shape: a missing key, a dict where a list belongs, a string where an object
belongs. What cannot be walked is skipped quietly. A Questionnaire's items are read through its
model (`fhirrug.model.model_for`), not here. Nothing here keeps state between calls.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

# Reading FHIR elements leniently belongs to the model layer; the rules import it from here.
from ..model.elements import as_list, count, dicts, present, text  # noqa: F401 - re-exported

# que-0, vsd-0, csd-0, cmd-0: name.matches('[A-Z]([A-Za-z0-9_]){0,254}')
COMPUTABLE_NAME = re.compile(r"[A-Z][A-Za-z0-9_]{0,254}")


def nested(node: dict, key: str, path: str) -> Iterator[tuple[dict, str]]:
    """Every object under `key`, recursively under the same `key` (CodeSystem.concept.concept,
    ValueSet.expansion.contains.contains), with its FHIRPath, depth first in document order."""
    stack = [(c, f"{path}.{key}[{i}]") for i, c in dicts(node.get(key))]
    stack.reverse()
    while stack:
        element, element_path = stack.pop()
        yield element, element_path
        stack.extend(reversed([(c, f"{element_path}.{key}[{i}]") for i, c in dicts(element.get(key))]))


def name_not_computable(resource: dict) -> str | None:
    """The message for que-0/vsd-0/csd-0/cmd-0 when `name` is present but not computer-usable."""
    name = resource.get("name")
    if isinstance(name, str) and not COMPUTABLE_NAME.fullmatch(name):
        return f"'{name}' is not a computer-usable name: use an upper-case letter, then letters, digits or '_'"
    return None


def response_items(response: dict, root: str = "QuestionnaireResponse") -> Iterator[tuple[dict, str]]:
    """Every QuestionnaireResponse item (under item and under answer.item) with its FHIRPath."""
    stack: list[tuple[dict, str]] = [(response, root)]
    while stack:
        node, path = stack.pop()
        children = []
        for index, item in dicts(node.get("item")):
            item_path = f"{path}.item[{index}]"
            children.append((item, item_path))
        for index, answer in dicts(node.get("answer")):
            for child_index, item in dicts(answer.get("item")):
                children.append((item, f"{path}.answer[{index}].item[{child_index}]"))
        for item, item_path in children:
            yield item, item_path
        stack.extend(reversed(children))


class Location:
    """A FHIRPath location built lazily: walking thousands of nodes costs no string work until a
    finding needs the text (`str(location)`, or `f"{location}.system"`)."""

    __slots__ = ("parent", "name", "index")

    def __init__(self, parent: "Location | None", name: str, index: int | None = None):
        self.parent = parent
        self.name = name  # the element name ("item"), or the root ("Questionnaire")
        self.index = index  # the position in a repeating element, else None

    def __str__(self) -> str:
        parts = []
        node: Location | None = self
        while node is not None:
            segment = node.name if node.index is None else f"{node.name}[{node.index}]"
            parts.append(segment)
            node = node.parent
        return ".".join(reversed(parts))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return f"Location({str(self)!r})"


def walk(value: Any, path: str) -> Iterator[tuple[Any, Location]]:
    """Every object of a JSON tree (depth first, document order) with its FHIRPath location.

    List elements get `[i]`; keys starting with `_` (primitive extensions) are walked under the
    element's own name, as FHIRPath sees them. Locations are `Location` objects: use str().
    """
    stack: list[tuple[Any, Location]] = [(value, Location(None, path))]
    pop, push = stack.pop, stack.extend
    while stack:
        node, here = pop()
        yield node, here
        if type(node) is not dict:
            continue
        children: list[tuple[Any, Location]] = []
        for key, child in node.items():
            kind = type(child)
            if kind is list:
                name = key[1:] if key[:1] == "_" else key
                children.extend((c, Location(here, name, i)) for i, c in enumerate(child) if type(c) is dict)
            elif kind is dict:
                children.append((child, Location(here, key[1:] if key[:1] == "_" else key)))
        if children:
            children.reverse()
            push(children)
