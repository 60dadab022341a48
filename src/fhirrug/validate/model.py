"""Stage 3 of validation: the fhir.resources R4B models (pydantic). The ONLY module importing fhir.resources.

Why R4B: fhir.resources 8.x has no R4 subpackage, and its default (R5) models accept elements
R4 servers reject. R4B (4.3.0) is R4 plus a few additions, so the JSON Schema stage (official
R4) is the authority on structure; this stage mainly adds cardinality (`Questionnaire.status`,
`item.linkId`, `item.type` are 1..1 and the schema has no `required`) and the model's own
validators (choice types, ...).

Reported here:
- `fhirrug-model-required`: a mandatory element is missing.
- `fhirrug-model`: anything else the model rejects.
- `fhirrug-model-unavailable` (information): R4B has no model for an R4 resource type, or the
  model could not be imported; the stage says so rather than staying silent.

Duplicates are left out: an error at (or inside, or around) a location the schema or bindings
stage already reported for the same resource is not repeated (the model would say, e.g.,
"Input should be a valid string" for the `"linkId": 5` that bindings reports as a coerced
primitive).

fhir.resources is imported lazily, and only the model module of each resource type used
(`get_fhir_model_class`), so `fhirrug --help` and commands that do not validate never pay for it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .. import vendor
from ..issues import ERROR, INFORMATION, Issue
from .schema import describe, expression

CODE_MODEL = "fhirrug-model"
CODE_REQUIRED = "fhirrug-model-required"
CODE_UNAVAILABLE = "fhirrug-model-unavailable"


@functools.cache
def model_class(resource_type: str):
    """The R4B model class of a resource type (raises ValueError when R4B has none)."""
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def _overlaps(a: str, b: str) -> bool:
    """True when one location is the other or lies inside it (`x.item[0]` and `x.item[0].linkId`)."""
    if a == b:
        return True
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return long.startswith(short) and long[len(short)] in ".["


def _clean_loc(loc: tuple) -> list:
    """pydantic's location without its internal steps (`function-after[...]`, union tags)."""
    return [p for p in loc if isinstance(p, int) or (isinstance(p, str) and not any(c in p for c in "[]( ,"))]


def _raw_errors(resource: dict, resource_type: str) -> list[dict] | str:
    """pydantic error dicts, or a reason the model cannot run."""
    try:
        cls = model_class(resource_type)
    except ValueError:
        return f"fhir.resources R4B has no model for {resource_type}"
    except ImportError as exc:
        return f"fhir.resources could not be imported: {exc}"
    from pydantic import ValidationError

    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        return exc.errors(include_url=False)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        # fhir.resources validators raise plain errors on inputs pydantic does not pre-check
        return [{"type": "model_error", "loc": (), "msg": f"{type(exc).__name__}: {exc}", "input": None}]
    return []


# -- the verdict cache ----------------------------------------------------------------------
#
# Importing fhir.resources and pydantic costs ~0.4 s and validating with the models ~10 ms per
# resource (fhir_core's Python validators on every element): most of a cold `fhirrug validate`.
# The model is deterministic, so the fact that it ACCEPTED exactly this JSON is cached on disk,
# keyed by the sha256 of the resource's canonical JSON, the versions of fhirrug, fhir.resources,
# fhir-core and pydantic, and this file's own source. A package whose resources are unchanged
# then never imports fhir.resources. Rejections are not cached (recomputed, with full detail).
# FHIRRUG_NO_CACHE=1 turns the cache off; FHIRRUG_CACHE_DIR moves it (default
# $XDG_CACHE_HOME/fhirrug or ~/.cache/fhirrug). A cache that cannot be read or written is
# silently not used: it never changes a result.


def cache_dir() -> Path | None:
    if os.environ.get("FHIRRUG_NO_CACHE", "") not in ("", "0"):
        return None
    base = os.environ.get("FHIRRUG_CACHE_DIR")
    if base:
        return Path(base) / "model-accepted"
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg else Path.home() / ".cache"
    return root / "fhirrug" / "model-accepted"


@functools.cache
def _cache_salt() -> bytes:
    from importlib import metadata

    from .. import __version__

    parts = [b"fhirrug-model-verdict-1", __version__.encode()]
    for distribution in ("fhir.resources", "fhir-core", "pydantic", "pydantic-core"):
        try:
            parts.append(f"{distribution}={metadata.version(distribution)}".encode())
        except metadata.PackageNotFoundError:
            parts.append(f"{distribution}=absent".encode())
    parts.append(hashlib.sha256(Path(__file__).read_bytes()).hexdigest().encode())
    return b"\n".join(parts)


def _cache_path(resource: dict) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    try:
        canonical = json.dumps(resource, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(_cache_salt() + b"\n" + canonical.encode("utf-8", "surrogatepass")).hexdigest()
    except (TypeError, ValueError, OSError, RecursionError):
        return None
    return folder / digest[:2] / digest


def _cached_accept(path: Path | None) -> bool:
    try:
        return path is not None and path.is_file()
    except OSError:
        return False


def _remember_accept(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()  # an empty marker: nothing to corrupt, so no need for an atomic write
    except OSError:
        pass


def check(resource: dict, file: str) -> list[Issue]:
    """Stage 3: validate one parsed resource with its fhir.resources R4B model."""
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(resource_type, str) or resource_type not in vendor.all_resource_types():
        return []  # the schema stage reports a missing or unknown resourceType
    marker = _cache_path(resource)
    if _cached_accept(marker):
        return []
    raw = _raw_errors(resource, resource_type)
    if raw == []:
        _remember_accept(marker)
        return []
    if isinstance(raw, str):
        return [Issue(CODE_UNAVAILABLE, INFORMATION, f"model stage skipped: {raw}", file, resource_type)]
    if not raw:
        return []
    # Only a resource the model rejects pays for this second look at the other two stages.
    from . import bindings, schema

    reported = [i.expression for i in schema.check(resource, file) + bindings.check(resource, file)]
    out: list[Issue] = []
    seen: set[tuple[str, str]] = set()
    for error in raw:
        where = expression(resource_type, _clean_loc(tuple(error.get("loc", ()))))
        if any(_overlaps(where, other) for other in reported):
            continue
        missing = str(error.get("type", "")).endswith("missing")
        code = CODE_REQUIRED if missing else CODE_MODEL
        if (code, where) in seen:
            continue
        seen.add((code, where))
        message = _message(error, missing, where)
        out.append(Issue(code, ERROR, message, file, where))
    return out


def _message(error: dict[str, Any], missing: bool, where: str) -> str:
    if missing:
        return f"{where.rsplit('.', 1)[-1]} is required here (cardinality 1..) but missing"
    value = error.get("input")
    text = str(error.get("msg", "")).strip()
    return f"{describe(value)}: {text}" if value is not None else text
