"""Reading FHIR elements from plain (possibly malformed) parsed JSON.

Everything above the parser works on dicts that the schema and model stages may already have
found wrong: a missing key, a dict where a list belongs, a number where a string belongs. These
helpers read an element the way FHIRPath sees it and skip what cannot be read, quietly; the
stage that owns the shape reports it.
"""

from __future__ import annotations

from typing import Any, Iterator


def as_list(value: Any) -> list:
    """A FHIR repeating element as a list; anything else (absent, wrong type) as []."""
    return value if isinstance(value, list) else []


def dicts(value: Any) -> Iterator[tuple[int, dict]]:
    """(index, element) for every object in a repeating element, skipping malformed entries."""
    for index, element in enumerate(as_list(value)):
        if isinstance(element, dict):
            yield index, element


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
