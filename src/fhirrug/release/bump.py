"""`fhirrug bump`: raise the release version of the content package in one safe step.

Policy: the package is released as a unit, so EVERY resource of the package takes the package
version (not only the ones that changed). A reference `url|0.2.0` then always means "as released
in 0.2.0", every versioned reference inside the package can be rewritten mechanically, and an
integrator never has to work out which mix of versions belongs together.

What a bump writes (and nothing else; see `plan_bump`):
- fhirrug.toml: the `version`, `date` (and with --status `status`) lines of [package], edited as
  text so that comments and layout stay;
- every resource of the package: `version`, `date` (and with --status `status`) values;
- every versioned canonical reference to a resource of the package (`answerValueSet`,
  `compose.include.valueSet`, ConceptMap `sourceCanonical`/`targetCanonical`, extensions, a
  QuestionnaireResponse's `questionnaire`, ...) from `url|OLD` to `url|NEW`, also in the
  deliberately invalid examples; `compose.include.version` and ConceptMap `group.sourceVersion` /
  `targetVersion` of package code systems likewise;
- CHANGELOG.md: a new entry listing what `fhirrug diff` finds against the previous release.

Content files are rewritten with `fhirrug.jsonio.dumps`, so a file changes only on the lines whose
value changed. A file that is not already in that fixed format is refused (a release diff must
not hide reformatting); `reformat=True` normalises such files deliberately.
"""

from __future__ import annotations

import copy
import datetime as _dt
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..issues import ERROR, FATAL, Issue
from ..jsonio import dumps, parse_bytes
from ..manifest import MANIFEST_NAME, Manifest, load_manifest
from ..package import Package, Resource, load_package
from .diff import CANONICAL_TYPES, LEVELS, Change, DiffError, diff_changes, max_level
from .record import CHANGELOG_NAME
from .transaction import JOURNAL_NAME, Hook, Transaction
from .trees import Tree
from .versions import Version, VersionError

STATUSES = ("draft", "active", "retired")
Validator = Callable[[Path, Package], list[Issue]]


class BumpError(Exception):
    """The bump is refused; the message says why. Nothing has been written."""


class ContentInvalid(BumpError):
    """The content does not validate (or is not in the fixed format): a finding, not a usage error."""


def validate_content(root: Path, package: Package | None = None) -> list[Issue]:
    """Errors and fatals of `fhirrug validate` on the content tree (with the project's rule
    config). Pass the already loaded `package` so that no file is read twice."""
    from ..config import load_config
    from ..validate.pipeline import validate_package

    result = validate_package(package if package is not None else load_package(root), load_config(root))
    return [i for i in result.issues if i.severity in (FATAL, ERROR)]


@dataclass
class BumpPlan:
    root: Path
    old_version: str
    new_version: str
    date: str
    status: str | None
    level: str  # what was asked: major|minor|patch|explicit
    recommended: str | None  # what fhirrug diff recommends (None without a baseline)
    changes: list[Change] | None
    baseline: str | None
    files: dict[Path, tuple[str | None, str]] = field(default_factory=dict)  # path -> (old text, new text)

    def changed_files(self) -> list[Path]:
        return [p for p, (old, new) in self.files.items() if old != new]

    def unified_diff(self) -> str:
        out = []
        for path in sorted(self.changed_files()):
            old, new = self.files[path]
            name = path.relative_to(self.root).as_posix()
            out += difflib.unified_diff((old or "").splitlines(keepends=True), new.splitlines(keepends=True), f"a/{name}", f"b/{name}")
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def next_version(current: str, part: str | None, to: str | None) -> Version:
    old = Version.parse(current)
    if to:
        new = Version.parse(to)
    elif part:
        new = old.bumped(part)
    else:
        raise BumpError("say which version: major, minor, patch, --to X.Y.Z or --auto")
    if not new > old:
        raise BumpError(f"version {new} is not greater than the current version {old}")
    return new


def plan_bump(
    root: Path | str,
    part: str | None = None,
    *,
    to: str | None = None,
    auto: bool = False,
    status: str | None = None,
    date: str | None = None,
    baseline: Tree | None = None,
    reformat: bool = False,
    force: bool = False,
    validator: Validator | None | object = ...,
) -> BumpPlan:
    """Work out every file a bump writes, without writing anything. Raises BumpError when refused.

    `validator` defaults to `validate_content` (the full `fhirrug validate`); None skips it.
    """
    if validator is ...:
        validator = validate_content
    root = Path(root).resolve()
    if (root / JOURNAL_NAME).exists():
        raise BumpError(f"an interrupted write left {JOURNAL_NAME}; run fhirrug bump without --dry-run to recover it first")
    manifest = load_manifest(root)
    if status is not None and status not in STATUSES:
        raise BumpError(f"status {status!r}: use one of {', '.join(STATUSES)}")
    date = date or _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise BumpError(f"date {date!r} is not YYYY-MM-DD")
    try:
        old = Version.parse(manifest.version)
    except VersionError as exc:
        raise BumpError(f"{MANIFEST_NAME}: current version: {exc}") from None
    if not auto:
        try:
            next_version(manifest.version, part, to)  # a wrong version is refused before the (slower) validation
        except VersionError as exc:
            raise BumpError(str(exc)) from None
    resources = _read_content(root, manifest, reformat)  # every content file, read once
    package_files = {p.resolve() for p in manifest.content_files()}
    if validator is not None:
        package = Package(manifest, [Resource(path, data) for path, (_, data) in resources.items() if path in package_files])
        try:
            errors = validator(root, package)
        except Exception as exc:  # noqa: BLE001 - a validator that cannot run must not let a bump through
            raise BumpError(f"cannot validate the content: {type(exc).__name__}: {exc}") from None
        if errors:
            listed = "\n".join(f"  {i.file}: {i.code} {i.expression}: {i.message}" for i in errors[:20])
            more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
            raise ContentInvalid(f"the content does not validate ({len(errors)} errors); fix it first (fhirrug validate):\n{listed}{more}")
    changes = recommended = None
    if baseline is not None:
        if baseline.issues:
            listed = "\n".join(f"  {i.file}: {i.message}" for i in baseline.issues[:20])
            raise BumpError(f"the previous release {baseline.label} has files that cannot be read; nothing compared:\n{listed}")
        if not baseline.resources:
            raise BumpError(f"the previous release {baseline.label} holds no FHIR resources; nothing to compare with")
        current = [data for path, (_, data) in resources.items() if path in package_files]
        try:
            changes = diff_changes(baseline.resources, current)  # a replay failure raises: never a bump on a guess
        except DiffError as exc:
            raise BumpError(f"cannot compare with {baseline.label}: {exc}") from None
        recommended = max_level(changes)
    if auto:
        if recommended is None:
            raise BumpError(
                f"--auto needs the previous release {manifest.version} to compare with: keep its package in releases/ "
                f"(fhirrug export does), tag it v{manifest.version}, record its release commit in CHANGELOG.md, or pass --since"
            )
        if recommended == "none":
            raise BumpError(f"nothing changed since {baseline.label}; there is nothing to release")
        part = recommended
        if part == "major" and old.major == 0:
            # Semantic versioning 0.y.z: the initial development phase, where a breaking change
            # takes the next minor (Cargo's and commitizen's major_version_zero reading). 1.0.0
            # says "stable" and is a decision for the content owner (`bump major`), not diff's.
            part = "minor"
    try:
        new = next_version(manifest.version, part, to)
    except VersionError as exc:
        raise BumpError(str(exc)) from None
    level = _level_of(old, new)
    if recommended and not force and LEVELS.index(level) < LEVELS.index(recommended) and not new.prerelease:
        raise BumpError(
            f"{old} -> {new} is a {level} release, but fhirrug diff finds {recommended} changes since {baseline.label}"
            f" (e.g. {next(c for c in changes if c.level == recommended).detail}); use --force to release it anyway"
        )

    plan = BumpPlan(root, str(old), str(new), date, status, part or level, recommended, changes, baseline.label if baseline else None)
    urls = {data.get("url") for path, (_, data) in resources.items() if path in package_files and data.get("resourceType") in CANONICAL_TYPES}
    urls.discard(None)
    code_systems = {data.get("url") for path, (_, data) in resources.items() if path in package_files and data.get("resourceType") == "CodeSystem"}
    for path, (text, data) in resources.items():
        data = copy.deepcopy(data)  # the parsed content stays as read (engine plans may be cached on it)
        if path in package_files and data.get("resourceType") in CANONICAL_TYPES:
            _set(data, "version", str(new))
            _set(data, "date", date)
            if status:
                _set(data, "status", status)
        _rewrite_references(data, urls, code_systems, str(old), str(new))
        plan.files[path] = (text, dumps(data))
    manifest_text = manifest.path.read_text(encoding="utf-8")
    plan.files[manifest.path.resolve()] = (manifest_text, _edit_manifest(manifest_text, str(new), date, status))
    changelog = root / CHANGELOG_NAME
    old_log = changelog.read_text(encoding="utf-8") if changelog.exists() else None
    plan.files[changelog.resolve()] = (old_log, _changelog(old_log, plan))
    return plan


def apply_bump(plan: BumpPlan, hook: Hook | None = None) -> list[Path]:
    """Write the plan all-or-nothing (see fhirrug.release.transaction)."""
    transaction = Transaction(plan.root, hook=hook)
    for path in plan.changed_files():
        old, new = plan.files[path]
        transaction.write(path, new, expect=old)  # refuses if someone edited the file since the plan
    return transaction.commit()


def _level_of(old: Version, new: Version) -> str:
    if new.major != old.major:
        return "major"
    if new.minor != old.minor:
        return "major" if old.major == 0 else "minor"  # 0.y.z: a new y may break (see plan_bump)
    return "patch"


def _read_content(root: Path, manifest: Manifest, reformat: bool) -> dict[Path, tuple[str, dict]]:
    """Every JSON file under the content folders (also the excluded examples, whose references
    must follow the release), parsed once, checked to be in the fixed format."""
    out: dict[Path, tuple[str, dict]] = {}
    problems = []
    for folder in manifest.content_dirs:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.json")):
            raw = path.read_bytes()
            data, issues = parse_bytes(raw, str(path))
            if data is None:
                problems.append(f"{path}: {issues[0].message}")
                continue
            text = raw.decode("utf-8")
            if dumps(data) != text and not reformat:
                problems.append(f"{path.relative_to(root)}: not in fhirrug's fixed JSON format (2-space indent, UTF-8, final newline)")
                continue
            out[path.resolve()] = (text, data)
    if problems:
        raise ContentInvalid("refusing to bump; a bump must change only version, date and reference lines:\n  " + "\n  ".join(problems) + "\n(use --reformat to normalise these files as part of the bump)")
    return out


def _set(data: dict, key: str, value: str) -> None:
    if key in data:
        data[key] = value


def _rewrite_references(value, urls: set, code_systems: set, old: str, new: str) -> None:
    """In place: url|old -> url|new for every url of the package; version elements of package code systems."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                url, bar, version = item.partition("|")
                if bar and version == old and url in urls:
                    value[key] = f"{url}|{new}"
            else:
                _rewrite_references(item, urls, code_systems, old, new)
        if value.get("version") == old and value.get("system") in code_systems:  # compose.include
            value["version"] = new
        for system_key, version_key in (("source", "sourceVersion"), ("target", "targetVersion")):  # ConceptMap.group
            if value.get(version_key) == old and value.get(system_key) in code_systems:
                value[version_key] = new
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                url, bar, version = item.partition("|")
                if bar and version == old and url in urls:
                    value[index] = f"{url}|{new}"
            else:
                _rewrite_references(item, urls, code_systems, old, new)


def _edit_manifest(text: str, version: str, date: str, status: str | None) -> str:
    """Change only the values of version/date/status in [package], keeping every other byte."""
    lines = text.splitlines(keepends=True)
    table = None
    wanted = {"version": version, "date": date}
    if status:
        wanted["status"] = status
    done = set()
    for index, line in enumerate(lines):
        header = re.match(r"\s*\[([^\]]+)\]\s*(#.*)?$", line)
        if header:
            table = header[1].strip()
            continue
        match = re.match(r'(\s*)(version|date|status)(\s*=\s*)"[^"]*"(.*)$', line, re.S)
        if table == "package" and match and match[2] in wanted and match[2] not in done:
            lines[index] = f'{match[1]}{match[2]}{match[3]}"{wanted[match[2]]}"{match[4]}'
            done.add(match[2])
    missing = set(wanted) - done
    if missing:
        raise BumpError(f"{MANIFEST_NAME}: [package] has no {', '.join(sorted(missing))} = \"...\" line to update")
    return "".join(lines)


_HEADINGS = {"major": "Breaking changes (major)", "minor": "Added and changed (minor)", "patch": "Texts (patch)"}


def changelog_entry(plan: BumpPlan) -> str:
    lines = [f"## {plan.new_version} - {plan.date}", ""]
    if plan.changes is None:
        lines += [f"Release {plan.old_version} -> {plan.new_version}. Changes not listed: release {plan.old_version} was not found to compare with (no releases/ package, tag or release commit; pass --since).", ""]
        return "\n".join(lines)
    lines += [f"Release {plan.old_version} -> {plan.new_version} ({_level_of(Version.parse(plan.old_version), Version.parse(plan.new_version))}); `fhirrug diff` against {plan.baseline} recommends: {plan.recommended}.", ""]
    if not plan.changes:
        lines += ["No content changes.", ""]
    for level in ("major", "minor", "patch"):
        found = [c for c in plan.changes if c.level == level]
        if found:
            lines += [f"### {_HEADINGS[level]}", ""]
            lines += [f"- `{c.resource}` {c.expression}: {c.detail}" for c in found]
            lines.append("")
    return "\n".join(lines)


def _changelog(old: str | None, plan: BumpPlan) -> str:
    entry = changelog_entry(plan)
    if old is None:
        return f"# Changelog\n\n## Unreleased\n\n{entry}"
    match = re.search(r"^## Unreleased[ \t]*\n", old, re.M)
    if not match:
        heading = re.search(r"^## ", old, re.M)
        at = heading.start() if heading else len(old)
        prefix = old[:at] if heading else old.rstrip("\n") + "\n\n"
        return f"{prefix}{entry}\n{old[at:]}" if heading else f"{prefix}{entry}"
    # Notes written by hand under "Unreleased" belong to this release: they move into its entry.
    rest = old[match.end():]
    nxt = re.search(r"^## ", rest, re.M)
    notes, after = (rest[: nxt.start()], rest[nxt.start():]) if nxt else (rest, "")
    notes = notes.strip("\n")
    body = entry if not notes else entry.replace("\n\n", f"\n\n{notes}\n\n", 1)
    return f"{old[: match.end()]}\n{body}" + (f"\n{after}" if after else "")
