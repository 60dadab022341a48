"""OLD and NEW of `fhirrug diff`: a content tree, an exported package (.tgz), a git revision, or
a release named by its version number.

A release is findable without git tags (tags do not travel with a clone unless asked for):
`load_release(project, "0.1.0")` takes, in this order,
1. the exported package kept in the repository, `releases/<name>-<version>.tgz`; when
   CHANGELOG.md lists sha256 values in that version's entry, the package must match one of them;
2. the git tag `v<version>` (or `<version>`), when the clone has it;
3. the release commit recorded in that CHANGELOG.md entry (`Release commit: <sha>`).
`fhirrug export` keeps the package in `releases/` when it exports a release (see record.py).

A git revision is read with `git archive` into memory (only fhirrug.toml and the content
folders) and through `tarsafe`, never checked out and never written to a temporary folder: a run
killed half-way leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..issues import Issue
from ..jsonio import parse_bytes
from ..manifest import MANIFEST_NAME, ManifestError, find_project_root, load_manifest, parse_manifest
from . import record, tarsafe
from .transaction import JOURNAL_NAME
from .versions import Version, VersionError


class TreeError(Exception):
    """OLD or NEW is neither a folder, a package, a git revision nor a release."""


class ReleaseNotFound(TreeError):
    """No record of this release in the project (no kept package, no tag, no release commit)."""


@dataclass
class Tree:
    label: str
    version: str
    resources: list[dict] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def load_tree(spec: str, repo: Path | None = None) -> Tree:
    """A folder, a .tgz, a release version (`0.1.0`, or `v0.1.0` when no such tag exists) or a
    git revision of the project around `repo` (default: the working directory)."""
    path = Path(spec)
    if path.is_dir():
        return _folder_tree(path, spec)
    if path.is_file():
        return _archive_tree(path, spec)
    project = _project(repo)
    version = _release_version(spec)
    if version is not None and (spec == version or not _has_revision(project, spec)):
        return load_release(project, version)
    return _git_tree(spec, project)


def _folder_tree(path: Path, label: str) -> Tree:
    from ..package import load_files, load_package

    if (path / JOURNAL_NAME).exists():
        raise TreeError(f"{label}: an interrupted bump left {JOURNAL_NAME}; run any fhirrug write command (e.g. fhirrug export) there to finish it first")
    if (path / MANIFEST_NAME).is_file():
        try:
            package = load_package(path)
        except ManifestError as exc:
            raise TreeError(str(exc)) from None
        version = package.manifest.version if package.manifest else ""
    else:
        package = load_files(sorted(p for p in path.rglob("*.json") if p.is_file()))
        version = ""
    return Tree(label, version, [r.data for r in package.resources], list(package.read_issues))


def _archive_tree(path: Path, label: str) -> Tree:
    if not tarsafe.is_archive(path):
        raise TreeError(f"{label}: not a folder or a package (.tgz)")
    package, issues = tarsafe.load_archive(path)
    unreadable = [i for i in issues if i.code in (tarsafe.CODE_UNSAFE, tarsafe.CODE_EMPTY)]
    if unreadable:
        raise TreeError(f"{label}: {unreadable[0].message}")
    try:
        version = str(tarsafe.read_manifest(path).get("version", ""))
    except tarsafe.UnsafeArchive:
        version = ""
    return Tree(label, version, [r.data for r in package.resources], issues)


def _project(repo: Path | None) -> Path:
    return (repo or find_project_root() or Path.cwd()).resolve()


def _release_version(spec: str) -> str | None:
    text = spec[1:] if spec[:1] == "v" else spec
    try:
        return str(Version.parse(text))
    except VersionError:
        return None


# --- git --------------------------------------------------------------------------------------


class _GitFailed(TreeError):
    pass


def _git(project: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(project), *args], capture_output=True)
    except FileNotFoundError:
        raise TreeError(f"{args[-1]}: no such folder or file, and git is not installed") from None
    if done.returncode != 0:
        raise _GitFailed(f"git {args[0]}: {done.stderr.decode('utf-8', 'replace').strip() or f'exit {done.returncode}'}")
    return done.stdout


def _has_revision(project: Path, rev: str) -> bool:
    try:
        _git(project, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except TreeError:
        return False
    return True


def _git_tree(rev: str, project: Path, label: str | None = None) -> Tree:
    """The content tree of `rev`: fhirrug.toml and its content folders, read into memory."""
    label = label or rev
    try:
        top = Path(_git(project, "rev-parse", "--show-toplevel").decode().strip()).resolve()
    except _GitFailed:
        raise TreeError(f"{rev}: no such folder, package or release, and {project} is not a git repository") from None
    if not _has_revision(project, rev):
        raise TreeError(f"{rev}: no such folder, package, release or git revision")
    prefix = project.relative_to(top).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    try:
        manifest_text = _git(project, "show", f"{rev}:{prefix}{MANIFEST_NAME}").decode("utf-8")
    except _GitFailed:
        raise TreeError(f"{rev}: has no {prefix}{MANIFEST_NAME}") from None
    except UnicodeDecodeError:
        raise TreeError(f"{rev}:{prefix}{MANIFEST_NAME} is not UTF-8") from None
    try:
        manifest = parse_manifest(manifest_text, project, f"{rev}:{prefix}{MANIFEST_NAME}")
    except ManifestError as exc:
        raise TreeError(str(exc)) from None
    folders = [f"{prefix}{PurePosixPath(folder).as_posix()}" for folder in manifest.content_dirs]
    present = [f for f in folders if _git(project, "ls-tree", "--name-only", rev, "--", f).strip()]
    files: dict[str, bytes] = {}
    if present:
        archive = _git(project, "archive", "--format=tar", rev, "--", *present)
        try:
            files = tarsafe.read_bytes(archive)
        except tarsafe.EmptyArchive:
            files = {}
        except tarsafe.UnsafeArchive as exc:
            raise TreeError(f"{rev}: {exc}") from None
    excluded = [PurePosixPath(prefix + e) for e in manifest.exclude]
    resources, issues = [], []
    for folder in present:
        for name in sorted(n for n in files if n.startswith(folder + "/") and n.endswith(".json")):
            if any(PurePosixPath(name).is_relative_to(e) for e in excluded):
                continue
            value, found = parse_bytes(files[name], f"{rev}:{name}")
            issues += found
            if value is not None:
                resources.append(value)
    return Tree(label, manifest.version, resources, issues)


# --- releases ---------------------------------------------------------------------------------


def kept_package(project: Path, version: str) -> Path | None:
    """`releases/<name>-<version>.tgz` of the project, if it is there."""
    try:
        name = load_manifest(project).name
    except ManifestError:
        return None
    path = record.kept_path(project, name, version)
    return path if path.is_file() else None


def load_release(project: Path, version: str) -> Tree:
    """Release `version` of the project: the kept package, else the tag, else the recorded commit."""
    recorded = record.changelog_record(project, version)
    kept = kept_package(project, version)
    if kept is not None:
        digest = hashlib.sha256(kept.read_bytes()).hexdigest()
        if recorded.sha256 and digest not in recorded.sha256:
            raise TreeError(
                f"{kept}: sha256 {digest} is not among those {record.CHANGELOG_NAME} records for {version}; "
                "the kept package was changed after the release (restore it from version control)"
            )
        tree = _archive_tree(kept, f"{version} ({kept.relative_to(project).as_posix()})")
    else:
        tag = next((t for t in (f"v{version}", version) if _has_revision(project, f"refs/tags/{t}")), None)
        if tag is not None:
            tree = _git_tree(tag, project, f"{version} (tag {tag})")
        elif recorded.commit is not None:
            if not _has_revision(project, recorded.commit):
                raise TreeError(
                    f"release {version}: {record.CHANGELOG_NAME} records commit {recorded.commit}, which this clone does not have"
                    " (a shallow clone? git fetch --unshallow)"
                )
            tree = _git_tree(recorded.commit, project, f"{version} (commit {recorded.commit[:12]})")
        else:
            raise ReleaseNotFound(
                f"release {version} not found: no {record.RELEASES_DIR}/<name>-{version}.tgz, no tag v{version} "
                f"and no release commit in the {record.CHANGELOG_NAME} entry for {version}"
            )
    if tree.version and tree.version != version:
        raise TreeError(f"{tree.label} holds version {tree.version}, not {version}")
    return tree


def release_baseline(root: Path, since: str | None, version: str) -> Tree | None:
    """The previous release to compare with: `since` if given, else release `version` as
    `load_release` finds it, else None (the project records no release of that version)."""
    if since:
        return load_tree(since, root)
    try:
        return load_release(Path(root).resolve(), version)
    except ReleaseNotFound:
        return None
