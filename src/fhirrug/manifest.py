"""The content package's metadata, declared once in `fhirrug.toml`, and where its content lives.

Lookup order for the content tree when no path is given:
1. the nearest `fhirrug.toml` at or above the working directory (a content owner in the repo);
2. the content embedded in the installed package (`fhirrug/_content`);
3. the repository this module sits in (an editable install run from elsewhere).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST_NAME = "fhirrug.toml"
_EMBEDDED = Path(__file__).resolve().parent / "_content"
_REPOSITORY = Path(__file__).resolve().parents[2]


class ManifestError(Exception):
    """fhirrug.toml is missing, unreadable or incomplete."""


@dataclass(frozen=True)
class Manifest:
    root: Path
    name: str
    version: str
    canonical: str
    publisher: str
    date: str = ""
    status: str = "draft"
    title: str = ""
    description: str = ""
    license: str = ""
    jurisdiction: str = ""
    fhir_version: str = "4.0.1"
    language: str = "nl-NL"
    translations: tuple[str, ...] = ()
    content_dirs: tuple[str, ...] = ("definitions", "questionnaires", "valuesets", "examples")
    exclude: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def path(self) -> Path:
        return self.root / MANIFEST_NAME

    def content_files(self) -> list[Path]:
        """Every *.json resource file of the package, in a fixed order, minus the excluded folders."""
        excluded = [(self.root / e).resolve() for e in self.exclude]
        files: list[Path] = []
        for folder in self.content_dirs:
            base = self.root / folder
            if not base.is_dir():
                continue
            for path in sorted(base.rglob("*.json")):
                resolved = path.resolve()
                if any(resolved.is_relative_to(e) for e in excluded):
                    continue
                files.append(path)
        return files


_REQUIRED = ("name", "version", "canonical", "publisher")


def load_manifest(root: Path | str) -> Manifest:
    root = Path(root)
    path = root / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: no {MANIFEST_NAME} here") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: {exc}") from None
    return parse_manifest(text, root, str(path))


def parse_manifest(text: str, root: Path | str, source: str = MANIFEST_NAME) -> Manifest:
    """The manifest from the text of a fhirrug.toml (read from a file, or from a git revision
    without checking it out); `source` names it in error messages."""
    root, path = Path(root), source
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: {exc}") from None
    package = data.get("package", {})
    missing = [key for key in _REQUIRED if not package.get(key)]
    if missing:
        raise ManifestError(f"{path}: [package] lacks {', '.join(missing)}")
    content = data.get("content", {})
    dirs = tuple(content.get("folders", Manifest.content_dirs))
    return Manifest(
        root=root,
        name=package["name"],
        version=package["version"],
        canonical=package["canonical"].rstrip("/"),
        publisher=package["publisher"],
        date=str(package.get("date", "")),
        status=package.get("status", "draft"),
        title=package.get("title", ""),
        description=package.get("description", ""),
        license=package.get("license", ""),
        jurisdiction=package.get("jurisdiction", ""),
        fhir_version=package.get("fhirVersion", "4.0.1"),
        language=package.get("language", "nl-NL"),
        translations=tuple(package.get("translations", ())),
        content_dirs=dirs,
        exclude=tuple(content.get("exclude", ())),
        raw=data,
    )


def find_project_root(start: Path | str | None = None) -> Path | None:
    """The nearest folder at or above `start` holding a fhirrug.toml."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MANIFEST_NAME).is_file():
            return folder
    return None


def default_root() -> Path:
    """Where the default content lives: the project around the cwd, else the embedded content."""
    for candidate in (find_project_root(), _EMBEDDED, _REPOSITORY):
        if candidate is not None and (candidate / MANIFEST_NAME).is_file():
            return candidate
    raise ManifestError("no fhirrug.toml found: not in a fhirrug project and no embedded content installed")


def embedded_root() -> Path:
    """The content shipped with this installation (or the repository, for an editable install)."""
    for candidate in (_EMBEDDED, _REPOSITORY):
        if (candidate / MANIFEST_NAME).is_file():
            return candidate
    raise ManifestError("no embedded content installed")
