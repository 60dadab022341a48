"""The route summaries of earlier builds, on disk: the routes of the self-diagnosis (21,605 of
them) are most of a build's work, and they change only when its logic does.

A summary is stored under the sha256 of everything it is computed from: the Questionnaire's
canonical JSON, the ValueSet expansions and code systems its plan was compiled with, the route
cap and the number shown, fhirrug's version and the source of every fhirrug module (so any
change of the engine, or of this code, misses). An edited Questionnaire therefore misses
and is computed afresh; nothing is ever served stale. JSON, not pickle: reading the cache runs
no code. A file that cannot be read, written or parsed is ignored: the cache never changes a
result, only how soon it is there.

It sits beside the model verdict cache of `fhirrug validate` and obeys the same switches
(`fhirrug.validate.model.cache_dir`): FHIRRUG_NO_CACHE=1 turns it off, FHIRRUG_CACHE_DIR moves
it (default $XDG_CACHE_HOME/fhirrug or ~/.cache/fhirrug).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..validate import cachekeys
from .adapter import RouteSummary

FORMAT = b"fhirrug-site-routes-1"


def folder() -> Path | None:
    return cachekeys.folder("site-routes")


@functools.cache
def _salt() -> bytes:
    from .. import __version__

    return b"\n".join([FORMAT, __version__.encode(), cachekeys.source_digest().encode()])


def key(inputs: Any, max_routes: int, shown: int) -> str | None:
    """The cache key of a summary computed from `inputs` (JSON-able), or None if it has none."""
    try:
        canonical = json.dumps([inputs, max_routes, shown], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(_salt() + b"\n" + canonical.encode("utf-8", "surrogatepass")).hexdigest()
    except (TypeError, ValueError, OSError, RecursionError):
        return None


def load(digest: str | None) -> RouteSummary | None:
    base = folder()
    if digest is None or base is None:
        return None
    try:
        data = json.loads((base / f"{digest}.json").read_text(encoding="utf-8"))
        return RouteSummary(
            total=data["total"],
            truncated=data["truncated"],
            unreached=data["unreached"],
            counts={(s, c): n for s, c, n in data["counts"]},
            shortest={(s, c): routes for s, c, routes in data["shortest"]},
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(digest: str | None, summary: RouteSummary) -> None:
    base = folder()
    if digest is None or base is None:
        return
    data = {
        "total": summary.total,
        "truncated": summary.truncated,
        "unreached": summary.unreached,
        "counts": [[s, c, n] for (s, c), n in summary.counts.items()],
        "shortest": [[s, c, routes] for (s, c), routes in summary.shortest.items()],
    }
    try:
        base.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=base, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False, separators=(",", ":"))
            os.replace(name, base / f"{digest}.json")  # readers see the whole file or none
        except BaseException:
            os.unlink(name)
            raise
    except (OSError, TypeError, ValueError):
        pass
