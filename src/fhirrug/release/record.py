"""Releases recorded where every clone has them: the exported package kept in the repository.

Git tags do not travel with a clone unless asked for, and a CI checkout is often shallow; the
repository's own files do. So a release is recorded as

- `releases/<name>-<version>.tgz`: the exported FHIR NPM package, byte for byte (about 120 KB
  for 0.1.0), kept by `fhirrug export` when it exports a validated release from a project;
- the entry `## <version>` of CHANGELOG.md, which may list the package's sha256 (and the
  Bundle's) and the release commit (`Release commit: <sha>`).

A released version never changes: once `releases/<name>-<version>.tgz` exists, other content
under that version is never kept, `export` warns that it is not that release, and `publish`
refuses to send it (its conditional updates would overwrite the released version on a server).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..jsonio import atomic_write

RELEASES_DIR = "releases"
CHANGELOG_NAME = "CHANGELOG.md"


def kept_path(root: Path | str, name: str, version: str) -> Path:
    return Path(root) / RELEASES_DIR / f"{name}-{version}.tgz"


@dataclass(frozen=True)
class ChangelogRecord:
    """What CHANGELOG.md's entry for a version records about the release."""

    sha256: frozenset[str] = frozenset()
    commit: str | None = None


def changelog_record(root: Path | str, version: str) -> ChangelogRecord:
    """The sha256 values and the release commit in the `## <version>` entry of CHANGELOG.md."""
    try:
        text = (Path(root) / CHANGELOG_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ChangelogRecord()
    heading = re.search(rf"^## \[?{re.escape(version)}\]?(?=\s|$).*$", text, re.M)
    if heading is None:
        return ChangelogRecord()
    following = re.search(r"^## ", text[heading.end():], re.M)
    entry = text[heading.end(): heading.end() + following.start()] if following else text[heading.end():]
    commit = re.search(r"[Rr]elease commit:?\s*`?([0-9a-f]{7,40})\b", entry)
    return ChangelogRecord(frozenset(re.findall(r"\b[0-9a-f]{64}\b", entry)), commit[1] if commit else None)


def conflict(root: Path | str, name: str, version: str, package: bytes) -> str | None:
    """Why `package` cannot be release `version` (the kept package of that version differs), or None."""
    kept = kept_path(root, name, version)
    if not kept.is_file() or kept.read_bytes() == package:
        return None
    return (
        f"version {version} is already released as {RELEASES_DIR}/{kept.name} with other content (or other timestamps: "
        "SOURCE_DATE_EPOCH), and a released version never changes; bump the version first (fhirrug bump). "
        f"If {version} was never published, delete {RELEASES_DIR}/{kept.name} and export again"
    )


def keep(root: Path | str, name: str, version: str, package: bytes) -> Path | None:
    """Keep `package` as release `version` in the repository; returns the path if it was new."""
    kept = kept_path(root, name, version)
    if kept.is_file():
        return None
    kept.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(kept, package)
    return kept
