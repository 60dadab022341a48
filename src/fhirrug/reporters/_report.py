"""The input of every reporter, and the small helpers they share."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..issues import ERROR, FATAL, INFORMATION, WARNING, Issue, severity_rank

_DIGITS = re.compile(r"(\d+)")

# Where SARIF's tool.driver.informationUri and rule help links point when a rule has no spec link.
HOMEPAGE = "https://fhir.fhirrug.nl"


@dataclass(frozen=True)
class Report:
    """Everything a reporter may use. Reporters are pure: same Report, same text.

    issues: the findings after configuration (select/ignore/re-grade) was applied.
    summary: counts as `fhirrug.validate.ValidationResult.summary` gives them
      (files, fatal, error, warning, information).
    files: every file looked at, clean or not (JUnit makes one testcase of each).
    version: the fhirrug version that produced the report.
    strict: warnings fail (`--strict`); JUnit then reports them as failures.
    color: the text reporter may colour (the command decides: a terminal, no NO_COLOR).
    rules: the rule registry (`fhirrug.rules.all_rules()`), for SARIF's rule metadata.
    """

    issues: Sequence[Issue]
    summary: Mapping[str, int]
    files: Sequence[str]
    version: str
    strict: bool = False
    color: bool = False
    rules: Sequence = field(default_factory=tuple)

    def sorted_issues(self) -> list[Issue]:
        """By file, then by location in document order (item[2] before item[10]), then severity."""
        return sorted(self.issues, key=location_key)

    def failing_severities(self) -> tuple[str, ...]:
        return (FATAL, ERROR, WARNING) if self.strict else (FATAL, ERROR)


def _natural(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(text))


def location_key(issue: Issue) -> tuple:
    return (issue.file, _natural(issue.expression), severity_rank(issue.severity), issue.code, issue.message)


def level_counts(summary: Mapping[str, int]) -> tuple[int, int, int, int, int]:
    """(files, fatal, error, warning, information), missing keys counting 0."""
    return (
        int(summary.get("files", 0)),
        int(summary.get(FATAL, 0)),
        int(summary.get(ERROR, 0)),
        int(summary.get(WARNING, 0)),
        int(summary.get(INFORMATION, 0)),
    )


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def summary_line(summary: Mapping[str, int]) -> str:
    """`3 files, 1 error, 2 warnings, 0 information` (fatal shown only when there is any)."""
    files, fatal, error, warning, information = level_counts(summary)
    parts = [_plural(files, "file")]
    if fatal:
        parts.append(f"{fatal} fatal")
    parts += [_plural(error, "error"), _plural(warning, "warning"), f"{information} information"]
    return ", ".join(parts)


def display_path(file: str, base: Path | str | None = None) -> str:
    """`file` relative to `base` (default: the cwd) when it lies under it, with `/` separators;
    otherwise unchanged. '' (a package-level finding) stays ''."""
    if not file or file == "-":
        return file
    # Once per file, not per finding: a file with 80,000 findings spent 12 s here (path resolution).
    return _display_path(file, str(base) if base is not None else None, os.getcwd())


@functools.lru_cache(maxsize=4096)
def _display_path(file: str, base: str | None, cwd: str) -> str:
    base = Path(base) if base is not None else Path(cwd)
    path = Path(file)
    try:
        absolute = path if path.is_absolute() else (base / path)
        relative = Path(os.path.normpath(absolute)).relative_to(Path(os.path.normpath(base.resolve())))
    except ValueError:
        try:
            relative = Path(os.path.normpath(absolute)).relative_to(Path(os.path.normpath(base)))
        except ValueError:
            return file
    return relative.as_posix()


_XML_ILLEGAL = {c: "\ufffd" for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF)}


def clean_text(text: str) -> str:
    """Text that every output format can carry: lone surrogates (from JSON `\\ud800` escapes) and
    the control characters XML 1.0 forbids become U+FFFD."""
    text = text.translate(_XML_ILLEGAL)
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text
