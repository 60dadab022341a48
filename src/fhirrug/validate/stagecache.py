"""Stages 2 and 4 (schema, bindings) of earlier runs, on disk, as the model's verdicts are.

Both stages look at the resource alone (not the package, not the configuration), so their
findings are a function of the resource's content and of fhirrug's code. They are stored under
the sha256 of: the bytes the resource was read from (its canonical JSON when it has none), the
fhirrug version, the source of every fhirrug module and the checksums of the vendored FHIR
definitions. An edited file or any change of fhirrug therefore misses and is computed afresh;
nothing is served stale. Findings are stored without their file (given back on a hit) and before
positions are added. A run in which a stage crashed is not stored. JSON, not pickle: reading the
cache runs no code. A file that cannot be read, written or parsed is ignored: the cache never
changes a result, only how soon it is there.

It sits beside the model verdict cache and obeys the same switches
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
from typing import Callable

from . import cachekeys
from ..issues import FATAL, Issue

FORMAT = b"fhirrug-stages-1"
Found = tuple[list[Issue], list[Issue]]  # (schema, bindings)


def folder() -> Path | None:
    return cachekeys.folder("stages")


@functools.cache
def _salt() -> bytes:
    from .. import __version__

    checksums = (Path(__file__).resolve().parents[1] / "vendor" / "checksums.json").read_bytes()
    return b"\n".join([FORMAT, __version__.encode(), cachekeys.source_digest().encode(), checksums])


def key(data: dict, raw: bytes | None) -> str | None:
    """The cache key of a resource read from `raw` (None: known only as `data`), or None."""
    try:
        if isinstance(raw, bytes):
            content = b"raw\n" + raw
        else:  # key order kept: findings follow the document's order
            content = b"json\n" + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        return hashlib.sha256(_salt() + b"\n" + content).hexdigest()
    except (TypeError, ValueError, OSError, RecursionError):
        return None


def _path(digest: str) -> Path | None:
    base = folder()
    return None if base is None else base / digest[:2] / f"{digest}.json"


def load(digest: str | None, file: str) -> Found | None:
    path = _path(digest) if digest else None
    if path is None:
        return None
    try:
        data = json.loads(path.read_bytes())
        return tuple([Issue(code, severity, message, file, expression) for code, severity, message, expression in data[stage]] for stage in ("schema", "bindings"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(digest: str | None, file: str, found: Found) -> None:
    path = _path(digest) if digest else None
    if path is None or any(i.severity == FATAL or i.file != file or i.line or i.column for stage in found for i in stage):
        return  # a crashed stage is reported, never remembered; what the entry cannot hold is not stored
    data = {name: [[i.code, i.severity, i.message, i.expression] for i in stage] for name, stage in zip(("schema", "bindings"), found)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False)
            os.replace(tmp, path)  # a reader sees the old entry or the whole new one
        except BaseException:
            os.unlink(tmp)
            raise
    except (OSError, TypeError, ValueError):
        pass


def stages(data: dict, raw: bytes | None, file: str, compute: Callable[[], Found]) -> Found:
    """The schema and bindings findings of a resource: from the cache, or `compute()` and remembered."""
    digest = key(data, raw) if folder() is not None else None
    found = load(digest, file)
    if found is None:
        found = compute()
        store(digest, file, found)
    return found
