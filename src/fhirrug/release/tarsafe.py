"""Reading a FHIR NPM package (.tgz) back, safely.

A package may come from anywhere, so reading one never trusts it:
- only regular files and folders; symbolic links, hard links, devices and FIFOs are refused;
- no member path outside the target (absolute paths, `..`, drive letters, backslashes refused);
- limits on the number of members, on each member's size and on the total, counted on the bytes
  actually decompressed (not on the sizes the headers claim), against decompression bombs;
- limits on the header metadata too, checked before it is read: the length of a member name,
  the size of each PAX or GNU long-name header, and the bytes of all headers together (a small
  .tgz of thousands of members with huge PAX names otherwise takes gigabytes to list);
- GNU sparse members are refused before their extension headers are read;
- an archive without a single member is no package (a finding, not a clean result);
- file modes are never taken from the archive.

`read_archive(path)` returns the members in memory; `extract(path, dest)` writes them under
`dest`; `load_archive(path)` gives a `fhirrug.package.Package` of the resources in it (what
`fhirrug validate package.tgz` and `fhirrug diff a.tgz b.tgz` need).
"""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ..issues import FATAL, Issue
from ..jsonio import parse_bytes

MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_NAME_BYTES = 1024  # NPM package paths are short; PATH_MAX is 4096
MAX_EXTENDED_HEADER_BYTES = 16 * 1024  # one PAX header or GNU long name/link
MAX_HEADER_BYTES = 32 * 1024 * 1024  # every header block and extended header together
_CHUNK = 64 * 1024
_EXTENDED = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
CODE_EMPTY = "fhirrug-package-empty"
CODE_UNSAFE = "fhirrug-package-unsafe"


class UnsafeArchive(Exception):
    """The archive is not a package fhirrug will read (unsafe or too large)."""


class EmptyArchive(UnsafeArchive):
    """The archive is readable but holds no file at all."""


@dataclass(frozen=True)
class Limits:
    members: int = MAX_MEMBERS
    member_bytes: int = MAX_MEMBER_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    name_bytes: int = MAX_NAME_BYTES
    extended_header_bytes: int = MAX_EXTENDED_HEADER_BYTES
    header_bytes: int = MAX_HEADER_BYTES


def _gated_tarinfo(limits: Limits) -> type[tarfile.TarInfo]:
    """A TarInfo class that checks every header block before tarfile reads what follows it.

    tarfile reads a PAX or GNU long-name header's whole payload into memory (and keeps the parsed
    result on every member it lists), so the limits must hold before that read, not after.
    `_proc_member` is the hook tarfile documents for subclasses; it runs once per header block,
    extended headers included, right after the 512-byte block itself was read.
    """
    spent = [0]

    class Gated(tarfile.TarInfo):
        def _proc_member(self, archive):
            spent[0] += tarfile.BLOCKSIZE
            if self.type == tarfile.GNUTYPE_SPARSE:
                raise UnsafeArchive(f"member {self.name!r} is a GNU sparse file; packages hold only regular files")
            if self.type in _EXTENDED:
                if self.size > limits.extended_header_bytes:
                    raise UnsafeArchive(f"an extended (PAX or long-name) header of {self.size} bytes; the limit is {limits.extended_header_bytes}")
                spent[0] += self._block(self.size)
            if spent[0] > limits.header_bytes:
                raise UnsafeArchive(f"the tar headers take more than {limits.header_bytes} bytes")
            return super()._proc_member(archive)

    return Gated


def _open(source: Path | str | BinaryIO, limits: Limits) -> tarfile.TarFile:
    """Open a tar, gzip, bzip2 or xz archive for sequential reading with the header gate."""
    gate = _gated_tarinfo(limits)
    if isinstance(source, (str, Path)):
        return tarfile.open(source, "r|*", tarinfo=gate)
    return tarfile.open(fileobj=source, mode="r|*", tarinfo=gate)


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


def read_archive(path: Path | str | BinaryIO, limits: Limits = Limits()) -> dict[str, bytes]:
    """Every regular file of the archive (a path, or a binary file object such as the output of
    `git archive` in memory): normalised name -> bytes. Raises UnsafeArchive."""
    files: dict[str, bytes] = {}
    total = 0
    count = 0
    label = path if isinstance(path, (str, Path)) else "archive"
    try:
        with _open(path, limits) as archive:
            for member in archive:
                count += 1
                if count > limits.members:
                    raise UnsafeArchive(f"more than {limits.members} members")
                if len(member.name.encode("utf-8", "surrogateescape")) > limits.name_bytes:
                    raise UnsafeArchive(f"a member name of {len(member.name)} characters; the limit is {limits.name_bytes} bytes")
                name = safe_name(member.name)
                if member.isdir():
                    continue
                if member.sparse is not None:
                    raise UnsafeArchive(f"member {name!r} is a sparse file; packages hold only regular files")
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
    except UnsafeArchive:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError, RecursionError) as exc:
        raise UnsafeArchive(f"{label}: not a readable tar archive ({exc})") from None
    if not files:
        raise EmptyArchive(f"{label}: the archive holds no files ({count} members); it is not a FHIR NPM package")
    return files


def read_bytes(data: bytes, limits: Limits = Limits()) -> dict[str, bytes]:
    """`read_archive` of an archive held in memory."""
    return read_archive(io.BytesIO(data), limits)


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
    issue `fhirrug-package-unsafe` (`fhirrug-package-empty` for an archive without members),
    never an exception.
    """
    from ..resources import Package, Resource

    package = Package(manifest=None)
    try:
        files = read_archive(path, limits)
    except UnsafeArchive as exc:
        issue = Issue(CODE_EMPTY if isinstance(exc, EmptyArchive) else CODE_UNSAFE, FATAL, str(exc), str(path), "")
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
    if not package.resources and not package.read_issues:
        package.read_issues.append(Issue(CODE_EMPTY, FATAL, f"{path}: no FHIR resources (package/*.json, package/example/*.json); it is not a FHIR NPM package", str(path), ""))
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
