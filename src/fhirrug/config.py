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
    # Where each selector came from ("--select", "pyproject.toml [tool.fhirrug] ignore", ...),
    # so that one that matches no rule can be named with its origin.
    origins: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def merged(self, select=(), ignore=(), severity=None) -> "Config":
        """The command line adds to (select/ignore) or overrides (severity) the file's settings."""
        origins = dict(self.origins)
        for key, values in (("select", select), ("ignore", ignore), ("severity", severity or {})):
            for value in values:
                origins[f"{key}:{value}"] = f"--{key}"
        return Config(
            select=tuple(select) or self.select,
            ignore=self.ignore + tuple(ignore),
            severity={**self.severity, **(severity or {})},
            origins=origins,
        )

    def selectors(self) -> list[tuple[str, str, str]]:
        """(setting, pattern, origin) for every select, ignore and severity pattern."""
        out = []
        for key, patterns in (("select", self.select), ("ignore", self.ignore), ("severity", tuple(self.severity))):
            for pattern in patterns:
                out.append((key, pattern, self.origins.get(f"{key}:{pattern}", key)))
        return out

    def apply(self, issues: list[Issue], aliases: dict[str, tuple[str, ...]] | None = None) -> list[Issue]:
        """Select, ignore and re-grade `issues`. `aliases` (code -> former rule ids) lets a
        pattern name a rule by an id it had in an earlier release."""
        aliases = aliases or {}
        out = []
        for issue in issues:
            names = (issue.code, *aliases.get(issue.code, ()))
            if self.select and not _matches(names, self.select):
                continue
            if _matches(names, self.ignore):
                continue
            for pattern, severity in self.severity.items():
                if _matches(names, (pattern,)):
                    issue = replace(issue, severity=severity)
            out.append(issue)
        return out


def _matches(names, patterns) -> bool:
    names = (names,) if isinstance(names, str) else names
    return any(fnmatch.fnmatchcase(name, p) for name in names for p in patterns)


_KEYS = ("select", "ignore", "severity")


def _from_table(table: dict, source: str) -> Config:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: the fhirrug configuration must be a table")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown setting {', '.join(map(repr, unknown))}; the settings are {', '.join(_KEYS)}")
    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError(f"{source}: severity must be a table of rule id = severity")
    for key, value in severity.items():
        if value not in SEVERITIES:
            raise ConfigError(f"{source}: severity of {key!r} is {value!r}; use one of {', '.join(SEVERITIES)}")
    for key in ("select", "ignore"):
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{source}: {key} must be a list of rule ids (globs allowed)")
    as_tuple = lambda key: tuple([table[key]] if isinstance(table.get(key), str) else table.get(key, ()))  # noqa: E731
    config = Config(as_tuple("select"), as_tuple("ignore"), dict(severity))
    origins = {f"{key}:{pattern}": f"{source} {key}" for key, pattern, _ in config.selectors()}
    return replace(config, origins=origins)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _table(data: dict, keys: tuple[str, ...]):
    table = data
    for key in keys:
        table = table.get(key, {}) if isinstance(table, dict) else {}
    return table


def load_config(root: Path | None) -> Config:
    """Read `[tool.fhirrug]` from root/pyproject.toml, else `[rules]` from root/fhirrug.toml."""
    if root is None:
        return Config()
    for name, keys in (("pyproject.toml", ("tool", "fhirrug")), ("fhirrug.toml", ("rules",))):
        path = Path(root) / name
        if not path.is_file():
            continue
        table = _table(_read_toml(path), keys)
        if table:
            return _from_table(table, str(path))
    return Config()


def load_config_file(path: Path | str) -> Config:
    """An explicit `--config FILE`: `[tool.fhirrug]` of a pyproject.toml, `[rules]` of a
    fhirrug.toml, or, in a file of its own, `select`/`ignore`/`[severity]` at the top level."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    data = _read_toml(path)
    for keys in (("tool", "fhirrug"), ("rules",)):
        table = _table(data, keys)
        if table:
            return _from_table(table, str(path))
    if "tool" in data or "package" in data:  # a pyproject.toml / fhirrug.toml without a fhirrug table
        raise ConfigError(f"{path}: no [tool.fhirrug] or [rules] table in this file")
    return _from_table(data, str(path))


def parse_severity_assignment(text: str) -> tuple[str, str]:
    """`que-2=warning` -> ("que-2", "warning"); the rule id may be a glob."""
    rule, sep, level = text.partition("=")
    rule, level = rule.strip(), level.strip().lower()
    if not sep or not rule:
        raise ConfigError(f"{text!r}: expected RULE=SEVERITY, e.g. que-2=warning")
    if level not in SEVERITIES:
        raise ConfigError(f"{text!r}: severity {level!r} is not one of {', '.join(SEVERITIES)}")
    return rule, level


def check_selectors(config: Config, rules) -> None:
    """Every select/ignore/severity pattern must match a rule id (or an alias a rule lists):
    a typo would otherwise turn every rule off (`select`) or none (`ignore`) and pass silently.
    Raises ConfigError naming the pattern, where it came from and the closest rule id."""
    import difflib

    known = [r.id for r in rules] + [alias for r in rules for alias in getattr(r, "aliases", ())]
    for key, pattern, origin in config.selectors():
        if any(fnmatch.fnmatchcase(k, pattern) for k in known):
            continue
        closest = difflib.get_close_matches(pattern, known, n=1, cutoff=0.0)
        hint = f"; did you mean {closest[0]!r}?" if closest else ""
        raise ConfigError(f"{origin}: {pattern!r} matches no rule id{hint} (`fhirrug rules` lists them)")
