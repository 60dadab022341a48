"""OLD and NEW of `fhirrug diff`: a content tree, an exported package (.tgz) or a git revision."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..issues import Issue
from ..manifest import MANIFEST_NAME, ManifestError, find_project_root
from ..package import load_files, load_package
from . import tarsafe
from .transaction import JOURNAL_NAME


class TreeError(Exception):
    """OLD or NEW is neither a folder, a package nor a git revision."""


@dataclass
class Tree:
    label: str
    version: str
    resources: list[dict] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def load_tree(spec: str, repo: Path | None = None) -> Tree:
    path = Path(spec)
    if path.is_dir():
        if (path / JOURNAL_NAME).exists():
            raise TreeError(f"{spec}: an interrupted bump left {JOURNAL_NAME}; run any fhirrug write command (e.g. fhirrug export) there to finish it first")
        if (path / MANIFEST_NAME).is_file():
            try:
                package = load_package(path)
            except ManifestError as exc:
                raise TreeError(str(exc)) from None
            version = package.manifest.version if package.manifest else ""
        else:
            package = load_files(sorted(p for p in path.rglob("*.json") if p.is_file()))
            version = ""
        return Tree(spec, version, [r.data for r in package.resources], list(package.read_issues))
    if path.is_file():
        if not tarsafe.is_archive(path):
            raise TreeError(f"{spec}: not a folder or a package (.tgz)")
        package, issues = tarsafe.load_archive(path)
        try:
            version = str(tarsafe.read_manifest(path).get("version", ""))
        except tarsafe.UnsafeArchive:
            version = ""
        return Tree(spec, version, [r.data for r in package.resources], issues)
    return _git_tree(spec, repo)


def _git_tree(rev: str, repo: Path | None) -> Tree:
    project = (repo or find_project_root() or Path.cwd()).resolve()
    try:
        top = subprocess.run(["git", "-C", str(project), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run(["git", "-C", str(project), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], capture_output=True, check=True)
        archive = subprocess.run(["git", "-C", str(project), "archive", "--format=tar", rev], capture_output=True, check=True).stdout
    except FileNotFoundError:
        raise TreeError(f"{rev}: no such folder or file, and git is not installed") from None
    except subprocess.CalledProcessError:
        raise TreeError(f"{rev}: no such folder, package or git revision") from None
    relative = project.relative_to(Path(top).resolve())
    with tempfile.TemporaryDirectory(prefix="fhirrug-rev-") as tmp:
        tar_path = Path(tmp) / "rev.tar"
        tar_path.write_bytes(archive)
        tarsafe.extract(tar_path, Path(tmp) / "tree")
        root = Path(tmp) / "tree" / relative
        if not (root / MANIFEST_NAME).is_file():
            raise TreeError(f"{rev}: has no {relative / MANIFEST_NAME}")
        tree = load_tree(str(root))
    tree.label = rev
    return tree



def release_baseline(root: Path, since: str | None, version: str) -> Tree | None:
    """The previous release to compare with: `since` if given, else the git tag v<version>, else None."""
    if since:
        return load_tree(since, root)
    tag = f"v{version}"
    try:
        found = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"], capture_output=True)
    except FileNotFoundError:
        return None
    return _git_tree(tag, root) if found.returncode == 0 else None
