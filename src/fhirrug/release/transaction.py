"""All-or-nothing writes across many files, surviving a kill at any moment.

Protocol (a write-ahead journal, as databases do):

1. every new file is written next to its target as `.<name>.fhirrug-new` with the target's
   permission bits (a bump must not turn a 0664 or 0755 file into 0644) and fsynced; the current
   file is kept as `.<name>.fhirrug-old` (a hard link: no copy, same inode);
2. the journal `<root>/.fhirrug-transaction` (target, sha256 old, sha256 new for every file) is
   written atomically and fsynced: this is the commit point;
3. each new file is moved over its target with `os.replace` (atomic per file), folders fsynced;
4. the journal is removed, then the `.fhirrug-old` links.

Each file is therefore at every moment either its entire old or its entire new content. A run
killed before the commit point leaves the old tree plus stray temp files; killed after it, a
tree in which some files are new. `recover(root)` (called at the start of every fhirrug command
that writes content) finishes the job: with a journal it rolls forward when every new file is
available (always the case unless someone deleted temp files), else rolls back from the
`.fhirrug-old` links; without a journal it removes stray temp files. Afterwards the tree is
consistent: entirely the old release or entirely the new one.

The journal is input like any other: a target outside the root, or one that is not a file, is
refused (a tampered journal must not make recovery delete or overwrite files elsewhere), and a
recovery that fails on the file system raises TransactionError naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..jsonio import atomic_write, fsync_dir

JOURNAL_NAME = ".fhirrug-transaction"
NEW_SUFFIX = ".fhirrug-new"
OLD_SUFFIX = ".fhirrug-old"

# Test hook: called with a step name after every filesystem step; raising from it simulates a crash.
Hook = Callable[[str], None]


class TransactionError(Exception):
    """A journal that cannot be recovered automatically (tampered with by hand)."""


def sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str | None:
    try:
        return sha256(path.read_bytes())
    except FileNotFoundError:
        return None


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(f".{path.name}{suffix}")


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _write_synced(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write and fsync `path`; with `mode`, exactly those permission bits (not the umask's)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666 if mode is None else 0o600)
    with os.fdopen(fd, "wb") as handle:
        if mode is not None:
            os.fchmod(handle.fileno(), mode)
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return None


@dataclass
class Transaction:
    """Collect new file contents, then `commit()` them all or none."""

    root: Path
    hook: Hook | None = None
    changes: dict[Path, bytes] = field(default_factory=dict)
    expected: dict[Path, bytes | None] = field(default_factory=dict)

    def write(self, path: Path | str, content: str | bytes, *, expect: str | bytes | None | object = ...) -> None:
        """Stage `content` for `path`. With `expect` (the content the change was computed from;
        None: the file must not exist) the commit refuses if the file changed meanwhile."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        path = Path(path).resolve()
        self.changes[path] = data
        if expect is not ...:
            self.expected[path] = expect.encode("utf-8") if isinstance(expect, str) else expect

    def _step(self, name: str) -> None:
        if self.hook is not None:
            self.hook(name)

    def commit(self) -> list[Path]:
        """Apply every change; returns the files that actually changed."""
        root = Path(self.root).resolve()
        recover(root)
        entries = []
        for path, data in sorted(self.changes.items()):
            old = path.read_bytes() if path.exists() else None
            if path in self.expected and self.expected[path] != old:
                raise TransactionError(f"{path}: changed since the write was planned; nothing written, run the command again")
            if old == data:
                continue
            entries.append((path, old, data))
        if not entries:
            return []
        folders = sorted({p.parent for p, _, _ in entries})
        # 1. new contents beside their targets, old ones kept as hard links
        for path, old, data in entries:
            _write_synced(_side(path, NEW_SUFFIX), data, _mode(path))
            self._step(f"temp {path.name}")
            if old is not None:
                backup = _side(path, OLD_SUFFIX)
                _unlink(backup)
                try:
                    os.link(path, backup)
                except OSError:  # a file system without hard links
                    _write_synced(backup, old)
                self._step(f"backup {path.name}")
        for folder in folders:
            fsync_dir(folder)
        # 2. the commit point
        journal = {
            "version": 1,
            "files": [
                {"target": os.path.relpath(path, root), "old": sha256(old), "new": sha256(data)}
                for path, old, data in entries
            ],
        }
        atomic_write(root / JOURNAL_NAME, json.dumps(journal, indent=2) + "\n")
        self._step("journal")
        # 3. move every new file into place
        for path, _, _ in entries:
            os.replace(_side(path, NEW_SUFFIX), path)
            self._step(f"replace {path.name}")
        for folder in folders:
            fsync_dir(folder)
        # 4. done: forget the journal, then the backups
        os.unlink(root / JOURNAL_NAME)
        fsync_dir(root)
        self._step("journal removed")
        for path, old, _ in entries:
            if old is not None:
                _unlink(_side(path, OLD_SUFFIX))
        return [path for path, _, _ in entries]


def recover(root: Path | str) -> str:
    """Finish or undo an interrupted transaction under `root`.

    Returns "clean" (nothing to do), "rolled-forward", "rolled-back" or "cleaned" (stray temp
    files of a transaction that never reached its commit point were removed).
    """
    root = Path(root).resolve()
    try:
        return _recover(root)
    except OSError as exc:
        where = exc.filename or root
        raise TransactionError(f"{where}: recovering the interrupted write failed ({exc.strerror or exc}); nothing more was changed, fix the cause and run the command again") from None


def _recover(root: Path) -> str:
    journal_path = root / JOURNAL_NAME
    if not journal_path.exists():
        strays = _strays(root)
        for stray in strays:
            _unlink(stray)
        return "cleaned" if strays else "clean"
    files = _read_journal(root, journal_path)
    forward = all(_file_sha(target) == new or _file_sha(_side(target, NEW_SUFFIX)) == new for target, _, new in files)
    if forward:
        for target, _, new in files:
            temp = _side(target, NEW_SUFFIX)
            if _file_sha(target) != new:
                os.replace(temp, target)
        outcome = "rolled-forward"
    else:
        for target, old, _ in files:
            if _file_sha(target) == old:
                continue
            backup = _side(target, OLD_SUFFIX)
            if old is None:
                _unlink(target)
            elif _file_sha(backup) == old:
                os.replace(backup, target)
            else:
                raise TransactionError(f"{target}: neither the new nor the old content is available; restore it from version control")
        outcome = "rolled-back"
    for folder in sorted({t.parent for t, _, _ in files}):
        fsync_dir(folder)
    os.unlink(journal_path)
    fsync_dir(root)
    for stray in _strays(root):
        _unlink(stray)
    return outcome


def _read_journal(root: Path, journal_path: Path) -> list[tuple[Path, str | None, str | None]]:
    """The journal's (target, sha256 old, sha256 new) entries, each target a file inside root."""
    try:
        journal = json.loads(journal_path.read_text(encoding="utf-8"))
        entries = [(f["target"], f["old"], f["new"]) for f in journal["files"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TransactionError(f"{journal_path}: unreadable journal ({exc}); restore the tree from version control") from None
    files = []
    for target, old, new in entries:
        if not isinstance(target, str) or not all(d is None or (isinstance(d, str) and len(d) == 64) for d in (old, new)):
            raise TransactionError(f"{journal_path}: malformed entry for {target!r}; restore the tree from version control")
        path = (root / target).resolve()
        if os.path.isabs(target) or not path.is_relative_to(root) or path == root:
            raise TransactionError(f"{journal_path}: target {target!r} is outside {root}; refusing to touch it (restore the tree from version control)")
        if path.exists() and not path.is_file():
            raise TransactionError(f"{journal_path}: target {target!r} is not a file; restore the tree from version control")
        files.append((path, old, new))
    return files


def _strays(root: Path) -> list[Path]:
    """Leftover `.fhirrug-new` / `.fhirrug-old` files, skipping hidden folders (.git, .venv)."""
    found = [p for p in root.glob(f".{JOURNAL_NAME}.*.tmp")]  # a journal whose own atomic write was cut short
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("node_modules", "__pycache__")]
        found += [Path(folder) / n for n in names if n.startswith(".") and n.endswith((NEW_SUFFIX, OLD_SUFFIX))]
    return sorted(found)
