"""What fhirrug's on-disk caches share: their folder and the digest of fhirrug's own code.

Every cache sits beside the model verdict cache of `fhirrug validate` and obeys the same switches
(`fhirrug.validate.model.cache_dir`): FHIRRUG_NO_CACHE=1 turns them off, FHIRRUG_CACHE_DIR moves
them (default $XDG_CACHE_HOME/fhirrug or ~/.cache/fhirrug). A key that includes `source_digest()`
misses after any change of any fhirrug module.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path


def folder(name: str) -> Path | None:
    """<cache>/name, or None when caching is off."""
    from .model import cache_dir

    model = cache_dir()  # <cache>/model-accepted, or None
    return None if model is None else model.parent / name


@functools.cache
def source_digest() -> str:
    """sha256 of the path and source of every fhirrug module."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
