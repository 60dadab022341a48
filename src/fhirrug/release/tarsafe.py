"""Reading a FHIR NPM package (.tgz) back, safely.

A package may come from anywhere, so reading one never trusts it:
- only regular files and folders; symbolic links, hard links, devices and FIFOs are refused;
- no member path outside the target (absolute paths, `..`, drive letters, backslashes refused);
- limits on the number of members, on each member's size and on the total, counted on the bytes
  actually decompressed (not on the sizes the headers claim), against decompression bombs;
- file modes are never taken from the archive.

`read_archive(path)` returns the members in memory; `extract(path, dest)` writes them under
`dest`; `load_archive(path)` gives a `fhirrug.package.Package` of the resources in it (what
`fhirrug validate package.tgz` and `fhirrug diff a.tgz b.tgz` need).
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..issues import FATAL, Issue
from ..jsonio import parse_bytes

MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
_CHUNK = 64 * 1024


class UnsafeArchive(Exception):
    """The archive is not a package fhirrug will read (unsafe or too large)."""


@dataclass(frozen=True)
class Limits:
    members: int = MAX_MEMBERS
    member_bytes: int = MAX_MEMBER_BYTES
    total_bytes: int = MAX_TOTAL_BYTES


def is_archive(path: Path | str) -> bool:
    name = str(path).lower()
    return name.endswith((".tgz", ".tar.gz", ".tar"))


def safe_name(name: str) -> str:
    """The member's normalised relative path, or UnsafeArchive."""
    if "\\" in name or "\x00" in name:
        raise UnsafeArchive(f"member {name!r}: backslash or NUL in its path")
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        raise UnsafeArchive(f"member {name!r}: absolute path")
    parts = [p for p in path.parts if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"member {name!r}: path leaves the target folder")
    if not parts:
        raise UnsafeArchive(f"member {name!r}: empty path")
    return "/".join(parts)


def read_archive(path: Path | str, limits: Limits = Limits()) -> dict[str, bytes]:
    """Every regular file of the archive: normalised name -> bytes. Raises UnsafeArchive."""
    files: dict[str, bytes] = {}
    total = 0
    count = 0
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                count += 1
                if count > limits.members:
                    raise UnsafeArchive(f"more than {limits.members} members")
                name = safe_name(member.name)
                if member.isdir():
                    continue
                if not member.isfile():
                    kind = "link" if (member.issym() or member.islnk()) else "special file"
                    raise UnsafeArchive(f"member {member.name!r} is a {kind}; packages hold only regular files")
                if name in files:
                    raise UnsafeArchive(f"member {name!r} appears twice")
                if member.size > limits.member_bytes:
                    raise UnsafeArchive(f"member {name!r} is {member.size} bytes; the limit is {limits.member_bytes}")
                handle = archive.extractfile(member)
                if handle is None:
                    raise UnsafeArchive(f"member {name!r} cannot be read")
                chunks = []
                size = 0
                while chunk := handle.read(_CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    if size > limits.member_bytes:
                        raise UnsafeArchive(f"member {name!r} is larger than {limits.member_bytes} bytes")
                    if total > limits.total_bytes:
                        raise UnsafeArchive(f"archive holds more than {limits.total_bytes} bytes")
                    chunks.append(chunk)
                files[name] = b"".join(chunks)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, UnsafeArchive):
            raise
        raise UnsafeArchive(f"{path}: not a readable tar archive ({exc})") from None
    return files


def extract(path: Path | str, dest: Path | str, limits: Limits = Limits()) -> list[Path]:
    """Write the archive's regular files under `dest` (mode 0644). Nothing is written if it is unsafe."""
    dest = Path(dest).resolve()
    files = read_archive(path, limits)  # everything is checked before the first byte is written
    written = []
    for name, data in sorted(files.items()):
        target = (dest / name).resolve()
        if not target.is_relative_to(dest):  # defence in depth against a path check bug
            raise UnsafeArchive(f"member {name!r}: path leaves the target folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        written.append(target)
    return written


def load_archive(path: Path | str, limits: Limits = Limits()):
    """A Package of the archive's resources (package/*.json and package/example/*.json).

    Returns (package, issues); an unsafe or unreadable archive gives an empty package and a fatal
    issue `fhirrug-package-unsafe`, never an exception.
    """
    from ..package import Package, Resource

    package = Package(manifest=None)
    try:
        files = read_archive(path, limits)
    except UnsafeArchive as exc:
        issue = Issue("fhirrug-package-unsafe", FATAL, str(exc), str(path), "")
        package.read_issues.append(issue)
        return package, [issue]
    for name, data in sorted(files.items()):
        parts = name.split("/")
        if not name.endswith(".json") or parts[-1].startswith(".") or parts[-1] == "package.json":
            continue
        if parts[0] != "package" or len(parts) > 3 or (len(parts) == 3 and parts[1] != "example"):
            continue
        member = f"{path}!{name}"
        value, issues = parse_bytes(data, member)
        package.read_issues.extend(issues)
        if value is not None:
            package.resources.append(Resource(path=Path(member), data=value))
    return package, list(package.read_issues)


def read_manifest(path: Path | str, limits: Limits = Limits()) -> dict:
    """package/package.json of an archive (name, version, ...)."""
    files = read_archive(path, limits)
    raw = files.get("package/package.json")
    if raw is None:
        raise UnsafeArchive(f"{path}: no package/package.json; not a FHIR NPM package")
    value, issues = parse_bytes(raw, f"{path}!package/package.json")
    if value is None:
        raise UnsafeArchive(issues[0].message)
    return value
