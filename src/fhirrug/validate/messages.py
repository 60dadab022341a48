"""How the validation stages name a location and a value in their messages (shared by the
schema, bindings and model stages, so that none of them imports another for it)."""

from __future__ import annotations

import json
from typing import Any, Iterable


def expression(prefix: str, parts: Iterable) -> str:
    """A FHIRPath location from a JSON path: `Questionnaire` + ['item', 0, 'linkId'] ->
    `Questionnaire.item[0].linkId`. A primitive's extension sibling `_text` is the primitive `text`."""
    out = [prefix]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            part = str(part)
            if part.startswith("_") and len(part) > 1:
                part = part[1:]
            out.append(f".{part}")
    return "".join(out)


def describe(value: Any, limit: int = 60) -> str:
    """A value for a message, JSON-spelled and cut short: `"foo"`, `5`, `{"a": 1, ...`."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
