"""The validation pipeline. Everything here works on parsed JSON and returns Issues."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..issues import ERROR, FATAL, Issue, sort_key
from ..manifest import MANIFEST_NAME, Manifest, load_manifest
from ..package import Package, load_files, load_package
from ..rules import PACKAGE, RESOURCE, Rule, all_rules


@dataclass
class ValidationResult:
    issues: list[Issue]
    files: list[str] = field(default_factory=list)  # every file looked at, clean or not

    def count(self, severity: str) -> int:
        return sum(1 for i in self.issues if i.severity == severity)

    @property
    def summary(self) -> dict:
        return {
            "files": len(self.files),
            "fatal": self.count("fatal"),
            "error": self.count("error"),
            "warning": self.count("warning"),
            "information": self.count("information"),
        }


class RuleContext:
    """What a rule may look at besides its resource: the package (for cross-file rules) and the manifest."""

    def __init__(self, package: Package, file: str = ""):
        self.package = package
        self.manifest: Manifest | None = package.manifest
        self.file = file


def _resource_stages(resource: dict, file: str) -> list[Issue]:
    # Imported here so that `fhirrug --help` never pays for jsonschema or fhir.resources.
    from . import bindings, model, schema

    issues = schema.check(resource, file)
    issues += model.check(resource, file)
    issues += bindings.check(resource, file)
    return issues


def validate_package(package: Package, config: Config | None = None, rules: list[Rule] | None = None) -> ValidationResult:
    rules = all_rules() if rules is None else rules
    issues: list[Issue] = list(package.read_issues)
    resource_rules = [r for r in rules if r.scope == RESOURCE and r.check is not None]
    package_rules = [r for r in rules if r.scope == PACKAGE and r.check is not None]
    for resource in package.resources:
        file = str(resource.path)
        issues += _resource_stages(resource.data, file)
        ctx = RuleContext(package, file)
        for rule in resource_rules:
            if rule.applies_to(resource.resource_type):
                issues += _run(rule, lambda: (Issue(rule.id, rule.severity, f.message, file, f.expression) for f in rule.check(resource.data, ctx)), file)
    ctx = RuleContext(package)
    for rule in package_rules:
        issues += _run(rule, lambda: (Issue(rule.id, rule.severity, f.message, f.file, f.expression) for f in rule.check(package, ctx)), "")
    if config is not None:
        issues = config.apply(issues)
    files = [str(r.path) for r in package.resources] + sorted({i.file for i in package.read_issues})
    return ValidationResult(sorted(issues, key=sort_key), files)


def _run(rule: Rule, produce, file: str) -> list[Issue]:
    """A rule that crashes is a bug in fhirrug, but the user still gets every other finding."""
    try:
        return list(produce())
    except Exception as exc:  # noqa: BLE001 - reported as a fatal issue, never a traceback
        return [Issue("fhirrug-internal-error", FATAL, f"rule {rule.id} failed: {type(exc).__name__}: {exc}", file, "")]


def expand_paths(paths: list[Path]) -> tuple[list[Path], Manifest | None]:
    """Files to validate from files and folders, and the manifest of the project they belong to."""
    files: list[Path] = []
    manifest: Manifest | None = None
    for path in paths:
        if path.is_dir():
            if (path / MANIFEST_NAME).is_file():
                manifest = manifest or load_manifest(path)
                files += manifest.content_files()
            else:
                files += sorted(p for p in path.rglob("*.json") if p.is_file())
        else:
            files.append(path)
    if manifest is None:
        from ..manifest import find_project_root

        root = find_project_root(paths[0].parent if paths else None) if paths else None
        if root is not None:
            manifest = load_manifest(root)
    return files, manifest


def validate_paths(paths: list[Path | str], config: Config | None = None) -> ValidationResult:
    """Validate files and folders. Package rules see every resource given, plus nothing else."""
    files, manifest = expand_paths([Path(p) for p in paths])
    package = load_files(files, manifest)
    return validate_package(package, config)


def validate_root(root: Path | str, config: Config | None = None) -> ValidationResult:
    return validate_package(load_package(root), config)


def has_errors(result: ValidationResult, strict: bool = False) -> bool:
    bad = (FATAL, ERROR, "warning") if strict else (FATAL, ERROR)
    return any(i.severity in bad for i in result.issues)
