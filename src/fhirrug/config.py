"""Rule configuration: `[tool.fhirrug]` in pyproject.toml (or `[rules]` in fhirrug.toml), plus
the command line. Selects, ignores and re-grades rules by id; `*` globs are allowed (`que-*`)."""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from .issues import SEVERITIES, Issue


class ConfigError(Exception):
    """Configuration that cannot be used (unknown severity, unreadable file)."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()  # empty: every rule
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)  # rule id or glob -> severity

    def merged(self, select=(), ignore=(), severity=None) -> "Config":
        """The command line adds to (select/ignore) or overrides (severity) the file's settings."""
        return Config(
            select=tuple(select) or self.select,
            ignore=self.ignore + tuple(ignore),
            severity={**self.severity, **(severity or {})},
        )

    def apply(self, issues: list[Issue]) -> list[Issue]:
        out = []
        for issue in issues:
            if self.select and not _matches(issue.code, self.select):
                continue
            if _matches(issue.code, self.ignore):
                continue
            for pattern, severity in self.severity.items():
                if fnmatch.fnmatchcase(issue.code, pattern):
                    issue = replace(issue, severity=severity)
            out.append(issue)
        return out


def _matches(code: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(code, p) for p in patterns)


def _from_table(table: dict, source: str) -> Config:
    severity = table.get("severity", {})
    for key, value in severity.items():
        if value not in SEVERITIES:
            raise ConfigError(f"{source}: severity of {key!r} is {value!r}; use one of {', '.join(SEVERITIES)}")
    for key in ("select", "ignore"):
        if not isinstance(table.get(key, []), list):
            raise ConfigError(f"{source}: {key} must be a list of rule ids")
    return Config(tuple(table.get("select", ())), tuple(table.get("ignore", ())), dict(severity))


def load_config(root: Path | None) -> Config:
    """Read `[tool.fhirrug]` from root/pyproject.toml, else `[rules]` from root/fhirrug.toml."""
    if root is None:
        return Config()
    for name, keys in (("pyproject.toml", ("tool", "fhirrug")), ("fhirrug.toml", ("rules",))):
        path = Path(root) / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        table = data
        for key in keys:
            table = table.get(key, {}) if isinstance(table, dict) else {}
        if table:
            return _from_table(table, str(path))
    return Config()
