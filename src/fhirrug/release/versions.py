"""Semantic versions of the content package: X.Y.Z, optionally with a -prerelease tag."""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$")
PARTS = ("major", "minor", "patch")


class VersionError(ValueError):
    """Not a version fhirrug can release (X.Y.Z[-pre])."""


@dataclass(frozen=True, order=False)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: str = ""

    @classmethod
    def parse(cls, text: str) -> "Version":
        match = _VERSION.match(text or "")
        if not match:
            raise VersionError(f"{text!r} is not a version of the form X.Y.Z (semantic versioning)")
        return cls(int(match[1]), int(match[2]), int(match[3]), match[4] or "")

    def key(self) -> tuple:
        # A prerelease sorts before its release (1.0.0-rc1 < 1.0.0).
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease.split(".")) if self.prerelease else ()
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: "Version") -> bool:
        return self.key() < other.key()

    def __le__(self, other: "Version") -> bool:
        return self.key() <= other.key()

    def __gt__(self, other: "Version") -> bool:
        return self.key() > other.key()

    def __ge__(self, other: "Version") -> bool:
        return self.key() >= other.key()

    def bumped(self, part: str) -> "Version":
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        if part == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise VersionError(f"unknown version part {part!r}; use major, minor or patch")

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.prerelease}" if self.prerelease else "")
