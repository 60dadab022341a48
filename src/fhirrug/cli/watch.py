"""`fhirrug validate --watch`: validate again whenever a content file is saved.

For content owners with the report open beside the editor. Uses watchfiles (inotify/FSEvents
through the Rust `notify` crate; nothing is downloaded at run time), an optional dependency:
`pip install 'fhirrug[watch]'`. Folders are watched rather than files, because editors save by
writing a new file and renaming it over the old one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from ..manifest import MANIFEST_NAME, find_project_root
from ._common import diagnostic, fail

# What a change to can alter a report: resources, the manifest, the rule configuration.
_WATCHED_NAMES = (MANIFEST_NAME, "pyproject.toml")


def watched(paths: list[Path], root: Path | None) -> tuple[list[Path], Callable[[str], bool]]:
    """The folders to watch and a filter for the changed paths that count: JSON files under the
    folders given (or the project's), the files given, and the project's fhirrug.toml and
    pyproject.toml."""
    folders: list[Path] = []
    files: set[Path] = set()
    trees: list[Path] = []
    for path in paths:
        path = path.resolve()
        if path.is_dir():
            folders.append(path)
            trees.append(path)
        else:
            folders.append(path.parent)
            files.add(path)
    project = find_project_root(paths[0] if paths and paths[0].is_dir() else paths[0].parent) if paths else root
    if project is not None:
        project = project.resolve()
        folders.append(project)
        trees.append(project)  # a change anywhere in the package can change a given file's findings
        files |= {project / name for name in _WATCHED_NAMES}
    unique = []
    for folder in sorted(set(folders), key=lambda p: len(p.parts)):
        if not any(folder.is_relative_to(u) for u in unique):
            unique.append(folder)

    def counts(changed: str) -> bool:
        path = Path(changed)
        if path in files:
            return True
        return path.suffix == ".json" and not path.name.startswith(".") and any(path.is_relative_to(t) for t in trees)

    return unique, counts


def watch(paths: list[Path], root: Path | None, validate_once: Callable[[], int]) -> int:
    """Validate, then again after every change that counts, until Ctrl-C; the exit code is the
    last run's."""
    try:
        import watchfiles
    except ImportError:
        fail("--watch needs the watchfiles package: pip install 'fhirrug[watch]'")
    if any(str(p) == "-" for p in paths):
        fail("--watch cannot watch standard input (-)")
    folders, counts = watched(paths, root)
    code = validate_once()
    ready = False
    try:
        # rust_timeout + yield_on_timeout: an empty batch now and then, the first of which says
        # that the watcher is running (so "watching" is never printed before it is true).
        events = watchfiles.watch(*folders, watch_filter=lambda _, changed: counts(changed), debounce=200, step=50, rust_timeout=500, yield_on_timeout=True)
        for changes in events:
            if not ready:
                ready = True
                diagnostic(f"watching {', '.join(str(f) for f in folders)} for changes (Ctrl-C to stop)")
            if not changes:
                continue
            changed = sorted({Path(p).name for _, p in changes})
            diagnostic(f"{time.strftime('%H:%M:%S')} changed: {', '.join(changed)}; validating again")
            code = validate_once()
            diagnostic("waiting for changes (Ctrl-C to stop)")
    except KeyboardInterrupt:
        pass  # Ctrl-C during a run: the verdict of the last complete run stands
    return code
