"""Walking plain (possibly malformed) FHIR JSON with the FHIRPath location of every node.

Rules run after the schema and model stages have already reported type errors, so everything
here tolerates any shape: a missing key, a dict where a list belongs, a string where an object
belongs. What cannot be walked is skipped quietly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator

# que-0, vsd-0, csd-0, cmd-0: name.matches('[A-Z]([A-Za-z0-9_]){0,254}')
COMPUTABLE_NAME = re.compile(r"[A-Z][A-Za-z0-9_]{0,254}")


def as_list(value: Any) -> list:
    """A FHIR repeating element as a list; anything else (absent, wrong type) as []."""
    return value if isinstance(value, list) else []


def dicts(value: Any) -> Iterator[tuple[int, dict]]:
    """(index, element) for every object in a repeating element, skipping malformed entries."""
    for index, element in enumerate(as_list(value)):
        if isinstance(element, dict):
            yield index, element


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


def text(value: Any) -> str | None:
    """A FHIR string primitive, or None when absent or of the wrong type."""
    return value if isinstance(value, str) else None


def present(node: dict, key: str) -> bool:
    """FHIRPath `key.exists()` on JSON: the key holds a value (not null, not an empty list)."""
    value = node.get(key)
    if value is None:
        return False
    if isinstance(value, list):
        return any(v is not None for v in value)
    return True


def count(node: dict, key: str) -> int:
    value = node.get(key)
    if value is None:
        return 0
    if isinstance(value, list):
        return sum(1 for v in value if v is not None)
    return 1


@dataclass(eq=False)
class ItemNode:
    """One Questionnaire item with where it sits: its FHIRPath, parent, and document order."""

    item: dict
    path: str
    order: int
    parent: "ItemNode | None" = None
    children: list["ItemNode"] = field(default_factory=list)

    @property
    def link_id(self) -> str | None:
        return text(self.item.get("linkId"))

    @property
    def type(self) -> str | None:
        return text(self.item.get("type"))

    @property
    def repeats(self) -> bool:
        return self.item.get("repeats") is True

    def ancestors(self) -> Iterator["ItemNode"]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def descendants(self) -> Iterator["ItemNode"]:
        stack = list(reversed(self.children))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def is_descendant_of(self, other: "ItemNode") -> bool:
        return any(a is other for a in self.ancestors())


@dataclass
class ItemTree:
    """Every item of a Questionnaire in document order, with a linkId index (first occurrence wins)."""

    nodes: list[ItemNode]
    by_link_id: dict[str, ItemNode]
    duplicates: dict[str, list[ItemNode]]


_TREE: list = []  # [(questionnaire, root, tree)]: the rules of one Questionnaire share one tree


def item_tree(questionnaire: dict, root: str = "Questionnaire") -> ItemTree:
    """The item tree of a Questionnaire (the last one is cached: every rule asks in turn).

    Rules never modify the resource; a caller that edits a Questionnaire between calls gets a
    fresh tree by passing a new dict (or calling `build_item_tree`)."""
    if _TREE and _TREE[0][0] is questionnaire and _TREE[0][1] == root:
        return _TREE[0][2]
    tree = build_item_tree(questionnaire, root)
    _TREE[:] = [(questionnaire, root, tree)]
    return tree


def build_item_tree(questionnaire: dict, root: str = "Questionnaire") -> ItemTree:
    nodes: list[ItemNode] = []

    def visit(container: dict, path: str, parent: ItemNode | None) -> list[ItemNode]:
        out = []
        for index, item in dicts(container.get("item")):
            node = ItemNode(item, f"{path}.item[{index}]", len(nodes), parent)
            nodes.append(node)
            node.children = visit(item, node.path, node)
            out.append(node)
        return out

    visit(questionnaire, root, None)
    by_link_id: dict[str, ItemNode] = {}
    seen: dict[str, list[ItemNode]] = {}
    for node in nodes:
        link_id = node.link_id
        if link_id is None:
            continue
        by_link_id.setdefault(link_id, node)
        seen.setdefault(link_id, []).append(node)
    duplicates = {k: v for k, v in seen.items() if len(v) > 1}
    return ItemTree(nodes, by_link_id, duplicates)


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


def reset_caches() -> None:
    """Forget every per-resource cache of the rule helpers (item trees, enableWhen analyses, url
    indexes, walked codes). The pipeline calls this around each run, so a caller that edits a
    resource in place between two validations never sees a stale result."""
    from . import enablewhen, package_rules, terminology

    _TREE.clear()
    enablewhen._CACHE.clear()
    terminology._INDEX.clear()
    package_rules._CODED.clear()
    package_rules._SCANS.clear()
