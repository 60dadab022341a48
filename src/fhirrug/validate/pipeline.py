"""The validation pipeline. Everything here works on parsed JSON and returns Issues."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import Config
from ..issues import ERROR, FATAL, Issue, sort_key
from ..manifest import MANIFEST_NAME, Manifest, load_manifest
from ..package import Package, load_files, load_package
from ..rules import PACKAGE, RESOURCE, Rule, aliases_by_id, all_rules


# Line and column of findings (fhirrug.positions); FHIRRUG_NO_POSITIONS=1 turns them off, so that
# scripts/bench_validate.py can measure what they cost.
POSITIONS = not os.environ.get("FHIRRUG_NO_POSITIONS")


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


def _stage(stage, resource: dict, file: str) -> list[Issue]:
    """One of stages 2-4 on one parsed resource; a crashing stage is a bug, reported, never a traceback."""
    try:
        return stage.check(resource, file)
    except Exception as exc:  # noqa: BLE001
        name = stage.__name__.rsplit(".", 1)[-1]
        return [Issue(INTERNAL_ERROR, FATAL, f"stage {name} failed: {type(exc).__name__}: {exc}", file, _root(resource))]


INTERNAL_ERROR = "fhirrug-internal-error"


def _root(resource) -> str:
    """The FHIRPath of a resource as a whole: its type (`Questionnaire`), for a finding about all of it."""
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    return kind if isinstance(kind, str) and kind.isidentifier() else "Resource"


def validate_package(
    package: Package,
    config: Config | None = None,
    rules: list[Rule] | None = None,
    *,
    only: set[str] | None = None,
) -> ValidationResult:
    """Validate every resource of `package` and the package as a whole.

    `only`: the files (as `str(resource.path)`) to report on. The other resources are context:
    package rules see them (an answerValueSet in another file resolves) but nothing is reported
    about them and their resource stages do not run. None reports on every file.
    """
    rules = all_rules() if rules is None else rules
    # What the rules derive (url index, Questionnaire models, walks) is kept with the package,
    # shared by the rules of this run; a run starts from the resources as they are now.
    package.forget()
    return _validate_package(package, config, rules, only)


def _validate_package(package: Package, config: Config | None, rules: list[Rule], only: set[str] | None) -> ValidationResult:
    # Imported here so that `fhirrug --help` never pays for jsonschema or fhir.resources.
    from . import bindings, model, schema, stagecache

    def wanted(file: str) -> bool:
        return only is None or file in only

    issues: list[Issue] = [i for i in package.read_issues if wanted(i.file)]
    resource_rules = [r for r in rules if r.scope == RESOURCE and r.check is not None]
    package_rules = [r for r in rules if r.scope == PACKAGE and r.check is not None]
    targets = [(resource, str(resource.path)) for resource in package.resources if wanted(str(resource.path))]
    # Stage 3 (model) may run in worker processes meanwhile (see model.ModelBatch): its Issues
    # are put in their place afterwards, so the result is the same as running it in line.
    with model.ModelBatch([(resource.data, file) for resource, file in targets], lambda data, file: _stage(model, data, file)) as batch:
        pieces: list[list[Issue] | int] = []  # an int: the worker's model Issues of that target
        for index, (resource, file) in enumerate(targets):
            # Stages 2 and 4 look at the resource alone: remembered between runs (stagecache).
            found = stagecache.stages(resource.data, resource.raw, file, lambda: (_stage(schema, resource.data, file), _stage(bindings, resource.data, file)))
            pieces.append(found[0])  # stages 2, 3, 4 in this order, as always
            pieces += [index if batch.forked else batch.run_one(index), found[1]]
            ctx = RuleContext(package, file)
            for data, resource_type, prefix in _with_contained(resource.data, resource.resource_type):
                for rule in resource_rules:
                    if rule.applies_to(resource_type):
                        found = _run(rule, _resource_findings(rule, data, ctx, file), file, resource_type)
                        pieces.append(found if prefix is None else [_inside(i, resource_type, prefix) for i in found])
        ctx = RuleContext(package)
        # A package rule that fails is reported on the package's fhirrug.toml (it is about them all).
        manifest = str(package.manifest.path) if package.manifest is not None else ""
        for rule in package_rules:
            found = _run(rule, _package_findings(rule, package, ctx), manifest, "")
            pieces.append([i for i in found if wanted(i.file) or not i.file or i.code == INTERNAL_ERROR])
        model_issues = batch.results()
    for piece in pieces:
        issues += model_issues[piece] if isinstance(piece, int) else piece
    if config is not None:
        issues = config.apply(issues, aliases_by_id(rules))
    issues = list(dict.fromkeys(issues))  # two checks reporting the very same finding: once
    if POSITIONS:
        from ..positions import with_positions

        issues = with_positions(issues, {str(r.path): r.raw for r in package.resources if r.raw is not None})
    files = [str(r.path) for r in package.resources if wanted(str(r.path))]
    files += sorted({i.file for i in package.read_issues if wanted(i.file)} - set(files))
    return ValidationResult(sorted(issues, key=sort_key), files)


def _with_contained(data: dict, resource_type: str):
    """The resource, then each contained resource with where it sits (`Questionnaire.contained[0]`)."""
    yield data, resource_type, None
    contained = data.get("contained")
    if isinstance(contained, list):
        for index, inner in enumerate(contained):
            if isinstance(inner, dict) and isinstance(inner.get("resourceType"), str):
                yield inner, inner["resourceType"], f"{resource_type}.contained[{index}]"


def _inside(issue: Issue, resource_type: str, prefix: str) -> Issue:
    """A finding on a contained resource, located from the containing resource."""
    expression = issue.expression
    if expression == resource_type or expression.startswith((resource_type + ".", resource_type + "[")):
        expression = prefix + expression[len(resource_type) :]
    elif not expression:
        expression = prefix
    return replace(issue, expression=expression)


def _resource_findings(rule: Rule, data: dict, ctx: RuleContext, file: str):
    """A rule yields Finding(expression, message); an Issue it yields (a rule relaying another
    component's findings under their own codes) passes through, with the file filled in."""
    return lambda: (
        (f if f.file else replace(f, file=file)) if isinstance(f, Issue) else Issue(rule.id, rule.severity, f.message, file, f.expression)
        for f in rule.check(data, ctx)
    )


def _package_findings(rule: Rule, package: Package, ctx: RuleContext):
    # A package rule may yield full Issues (e.g. `fhirrug-response` yields the enableWhen engine's
    # own codes such as Questionnaire_QR_Item_NotEnabled): those pass through unchanged.
    return lambda: (f if isinstance(f, Issue) else Issue(rule.id, rule.severity, f.message, f.file, f.expression) for f in rule.check(package, ctx))


def _run(rule: Rule, produce, file: str, expression: str) -> list[Issue]:
    """A rule that crashes is a bug in fhirrug, but the user still gets every other finding (the
    rule's findings on this resource before it failed included)."""
    found: list[Issue] = []
    try:
        found.extend(produce())
    except Exception as exc:  # noqa: BLE001 - reported as a fatal issue, never a traceback
        found.append(Issue(INTERNAL_ERROR, FATAL, f"rule {rule.id} failed: {type(exc).__name__}: {exc}", file, expression))
    return found


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
                from ..package import folder_files

                files += folder_files(path)  # *.json and FHIR *.xml
        else:
            files.append(path)
    if manifest is None:
        from ..manifest import find_project_root

        root = find_project_root(paths[0].parent if paths else None) if paths else None
        if root is not None:
            manifest = load_manifest(root)
    return files, manifest


def validate_paths(paths: list[Path | str], config: Config | None = None, rules: list[Rule] | None = None) -> ValidationResult:
    """Validate files and folders, reporting only on them.

    When they belong to a project (a fhirrug.toml in a folder given, or at or above the first
    path), the project's other content files are loaded as context, so that a Questionnaire
    given alone still resolves its answerValueSet in another file; nothing is reported about
    those other files. Each file is read once.
    """
    files, manifest = expand_paths([Path(p) for p in paths])
    unique: dict[Path, Path] = {}
    for path in files:  # a folder and a file inside it: read the file once
        unique.setdefault(_identity(path), path)
    files = list(unique.values())
    given = load_files(files, manifest)
    package = Package(manifest=manifest, resources=list(given.resources), read_issues=list(given.read_issues))
    if manifest is not None:
        seen = {_identity(p) for p in files}
        others = [p for p in manifest.content_files() if _identity(p) not in seen]
        context = load_files(others, manifest)
        package.resources += context.resources
    only = {str(p) for p in files}
    return validate_package(package, config, rules, only=only)


def validate_in_context(
    paths: list[Path | str],
    context,
    config: Config | None = None,
    rules: list[Rule] | None = None,
    *,
    stdin: tuple[bytes, str] | None = None,
) -> ValidationResult:
    """Validate files, folders and (`stdin`: (bytes, name)) one resource read from standard input
    against `context` (a `fhirrug.package.Context`: the project, a folder, an NPM package or the
    embedded content), reporting only on what was given.

    A given file that is one of the context's files is read once. A given resource from outside
    the context's tree (stdin, a download, a member of an unpacked package) takes the place of the
    context resources with its resourceType/id or url|version, as it would on a server.
    """
    from ..jsonio import parse_bytes
    from ..package import Resource

    files, _ = expand_paths([Path(p) for p in paths]) if paths else ([], None)
    unique: dict[Path, Path] = {}
    for path in files:
        unique.setdefault(_identity(path), path)
    files = list(unique.values())
    given = load_files(files, context.package.manifest)
    outsiders = [r for r in given.resources if not context.contains(r.path) and not context.in_tree(r.path)]
    only = {str(p) for p in files}
    if stdin is not None:
        raw, name = stdin
        data, issues = parse_bytes(raw, name)
        given.read_issues.extend(issues)
        if data is not None:
            resource = Resource(path=Path(name), data=data, raw=raw)
            given.resources.append(resource)
            outsiders.append(resource)
        only.add(name)
    package = context.with_resources(given, outsiders)
    result = validate_package(package, config, rules, only=only)
    if stdin is not None and stdin[1] not in result.files:
        result.files.append(stdin[1])
    return result


def _identity(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def validate_root(root: Path | str, config: Config | None = None, rules: list[Rule] | None = None) -> ValidationResult:
    """Validate the whole content tree described by root/fhirrug.toml."""
    return validate_package(load_package(root), config, rules)


def validate_default(config: Config | None = None, rules: list[Rule] | None = None) -> ValidationResult:
    """Validate the default content: the project around the working directory, else the content
    shipped with fhirrug (see `fhirrug.manifest.default_root`). Raises ManifestError if neither exists."""
    from ..manifest import default_root

    return validate_root(default_root(), config, rules)


def has_errors(result: ValidationResult, strict: bool = False) -> bool:
    bad = (FATAL, ERROR, "warning") if strict else (FATAL, ERROR)
    return any(i.severity in bad for i in result.issues)
