"""A loaded content package as data: the Package and its Resources (parsed JSON and where it
came from). The readers that fill them are `fhirrug.package` (files and folders) and
`fhirrug.release.tarsafe` (exported NPM archives); both import this module, not each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .issues import Issue
from .manifest import Manifest


@dataclass
class Resource:
    path: Path
    data: dict
    # The bytes the resource was parsed from (None when not kept), for the positions of findings.
    raw: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def resource_type(self) -> str:
        value = self.data.get("resourceType")
        return value if isinstance(value, str) else ""

    @property
    def url(self) -> str | None:
        value = self.data.get("url")
        return value if isinstance(value, str) else None

    @property
    def version(self) -> str | None:
        value = self.data.get("version")
        return value if isinstance(value, str) else None


@dataclass
class Package:
    manifest: Manifest | None
    resources: list[Resource] = field(default_factory=list)
    read_issues: list[Issue] = field(default_factory=list)
    # What readers derive from the resources (url index, Questionnaire models, walks), kept with
    # the package it describes: see `memo`. Never compared or printed.
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    def memo(self, kind: Any, source: Any, build: Callable[[Any], Any]) -> Any:
        """`build(source)`, computed once per (kind, source object) for this package and kept
        with it. A reader that edits a resource in place calls `forget()` (validate_package does,
        at the start of each run), so nothing derived from the old content is ever seen."""
        key = (kind, id(source))
        hit = self.derived.get(key)
        if hit is not None and hit[0] is source:
            return hit[1]
        value = build(source)
        self.derived[key] = (source, value)
        return value

    def forget(self) -> None:
        """Drop everything derived from the resources (see `memo`)."""
        self.derived.clear()

    def by_type(self, resource_type: str) -> list[Resource]:
        return [r for r in self.resources if r.resource_type == resource_type]

    def resolve(self, canonical: str, resource_type: str | None = None) -> Resource | None:
        """Find a resource by canonical `url` or `url|version`. Without a version, the highest wins."""
        url, _, version = canonical.partition("|")
        found = [
            r
            for r in self.resources
            if r.url == url
            and (not version or r.version == version)
            and (resource_type is None or r.resource_type == resource_type)
        ]
        if not found:
            return None
        return max(found, key=lambda r: _version_key(r.version or ""))


def _version_key(version: str) -> tuple:
    parts = []
    for piece in version.replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)
