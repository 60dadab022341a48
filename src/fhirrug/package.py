"""A loaded content package: the manifest plus every resource file, parsed once.

The loader reads each file exactly once (stage 1 of validation) and keeps the parsed JSON;
every later stage, the enableWhen engine and the release commands work on these dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .issues import Issue
from .jsonio import read_json_bytes
from .manifest import Manifest, load_manifest
from .resources import Package, Resource, _version_key  # noqa: F401 - the data, re-exported


def load_files(paths: list[Path], manifest: Manifest | None = None) -> Package:
    package = Package(manifest=manifest)
    for path in paths:
        data, issues, raw = read_json_bytes(path)
        package.read_issues.extend(issues)
        if data is not None:
            package.resources.append(Resource(path=path, data=data, raw=raw))
    return package


def load_package(root: Path | str) -> Package:
    """Load the content tree described by root/fhirrug.toml. Raises ManifestError if there is none."""
    manifest = load_manifest(root)
    return load_files(manifest.content_files(), manifest)


RESOURCE_SUFFIXES = (".json", ".xml")  # FHIR JSON, and FHIR XML (read by fhirrug.xmlio)


def folder_files(folder: Path) -> list[Path]:
    """The resource files of a folder that is not a fhirrug project: every *.json and *.xml below
    it, sorted, except NPM package metadata (`package.json`, `.index.json`) and hidden files."""
    return sorted(
        p
        for p in Path(folder).rglob("*")
        if p.suffix in RESOURCE_SUFFIXES and p.is_file() and p.name != "package.json" and not p.name.startswith(".")
    )


@dataclass
class Context:
    """A package to check resources against (`--package`), and where its own files live.

    `members`: the resolved paths of its files, so that a file given on the command line that is
    one of them is read once; `tree`: the folder a given file must lie under to count as part of
    the package (None for an archive). A given resource that is not a member takes the place of
    the members with its resourceType/id or its url|version (see `Context.with_resources`)."""

    package: Package
    tree: Path | None = None
    members: frozenset = frozenset()

    def contains(self, path: Path) -> bool:
        return _identity(path) in self.members

    def in_tree(self, path: Path) -> bool:
        return self.tree is not None and _identity(path).is_relative_to(_identity(self.tree))

    def with_resources(self, given: Package, outsiders: list[Resource]) -> Package:
        """`given` (what is reported on) plus the context's other resources. An outsider (stdin, a
        file outside the package's tree) shadows the members that claim its resourceType/id or
        url|version: it is checked as the version of that resource it would replace on a server,
        not reported as a duplicate of it."""
        shadowed_ids = {(r.resource_type, r.data.get("id")) for r in outsiders if isinstance(r.data.get("id"), str)}
        shadowed_urls = {(r.url, r.version) for r in outsiders if r.url is not None}
        seen = {_identity(r.path) for r in given.resources if str(r.path) != "-"}
        context = [
            r
            for r in self.package.resources
            if _identity(r.path) not in seen
            and (r.resource_type, r.data.get("id")) not in shadowed_ids
            and (r.url, r.version) not in shadowed_urls
        ]
        return Package(manifest=self.package.manifest, resources=list(given.resources) + context, read_issues=list(given.read_issues))


def _identity(path: Path) -> Path:
    try:
        return Path(path).resolve()
    except OSError:
        return Path(path).absolute()


ARCHIVE_SUFFIXES = (".tgz", ".tar.gz")


def load_context(source: Path | str) -> Context:
    """The package named by `--package`: a folder with a fhirrug.toml (its content tree), a folder
    of resources without one (every *.json below it, as the HL7 validator's `-ig` takes a folder),
    or a FHIR NPM package `.tgz` (read in memory by `fhirrug.release.tarsafe`). An unreadable or
    unsafe source raises ManifestError (a usage error: exit 2)."""
    from .manifest import MANIFEST_NAME, ManifestError

    source = Path(source)
    if source.is_dir():
        if (source / MANIFEST_NAME).is_file():
            package = load_package(source)
        else:
            package = load_files(folder_files(source))
        return Context(package, source, frozenset(_identity(r.path) for r in package.resources))
    if source.is_file() and source.name.lower().endswith(ARCHIVE_SUFFIXES):
        from .release.tarsafe import load_archive

        package, issues = load_archive(source)
        unsafe = [i for i in issues if i.code == "fhirrug-package-unsafe"]
        if unsafe:
            message = unsafe[0].message
            raise ManifestError(message if message.startswith(str(source)) else f"{source}: {message}")
        return Context(package)
    raise ManifestError(f"{source}: --package takes a folder (with or without fhirrug.toml) or a FHIR NPM package (.tgz)")
