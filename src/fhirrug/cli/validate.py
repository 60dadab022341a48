"""`fhirrug validate [PATH ...]`: validate files, folders or the project's content package."""

from __future__ import annotations

from pathlib import Path

import click

from .. import __version__, exitcodes
from ..reporters import REPORTER_BY_NAME, Report, summary_line
from ..package import ARCHIVE_SUFFIXES  # exported FHIR NPM packages, validated by `_validate_archive`
from ._common import cli_errors, color_option, diagnostic, emit, fail, format_option, output_option, package_option, use_color


@click.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path(exists=True, allow_dash=True, path_type=Path))
@format_option(REPORTER_BY_NAME)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option("--select", multiple=True, metavar="RULE", help="Report only these rules (id or glob such as 'que-*'; repeatable).")
@click.option("--ignore", multiple=True, metavar="RULE", help="Do not report these rules (id or glob; repeatable).")
@click.option(
    "--severity",
    "severities",
    multiple=True,
    metavar="RULE=LEVEL",
    help="Re-grade a rule: fatal, error, warning or information (e.g. que-2=warning; repeatable).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read select/ignore/severity from FILE instead of the project's pyproject.toml [tool.fhirrug] "
    "or fhirrug.toml [rules].",
)
@package_option()
@color_option()
@click.option("--watch", is_flag=True, help="Validate again whenever a content file, fhirrug.toml or pyproject.toml changes (Ctrl-C stops; needs fhirrug[watch]).")
@output_option()
def validate(paths, output_format, strict, select, ignore, severities, config_file, package, color, watch, output):
    """Validate FHIR R4 resources: files, folders, or (no PATH) the project's content package.

    With no PATH, validates the content tree of the nearest fhirrug.toml above the working
    directory, else the content embedded in this installation. PATH may also be an exported
    FHIR NPM package (.tgz), read safely without extracting it, or `-` for one resource on
    standard input.

    Exit codes: 0 clean (warnings allowed), 1 findings at error level (or warnings with
    --strict), 2 usage, configuration or internal failure. Findings go to stdout (or --output),
    diagnostics to stderr.
    """
    options = dict(
        output_format=output_format.lower(),
        strict=strict,
        select=select,
        ignore=ignore,
        severities=severities,
        config_file=config_file,
        output=output,
        package=package,
        color=color,
    )
    with cli_errors():
        if watch:
            from .watch import watch as watch_and_validate

            code = watch_and_validate(list(paths), None if paths else _watched_root(), lambda: _survive(lambda: run(list(paths), **options)))
        else:
            code = run(list(paths), **options)
    raise SystemExit(code)


def _watched_root():
    from ..manifest import find_project_root

    return find_project_root()


def _survive(once) -> int:
    """One run of a watch: a half-saved configuration or an empty folder is reported and the
    watch goes on."""
    from ..config import ConfigError
    from ..manifest import ManifestError

    try:
        return once()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else exitcodes.USAGE
    except (ConfigError, ManifestError) as exc:
        diagnostic(str(exc))
        return exitcodes.USAGE


def _project_root(paths: list[Path]) -> Path | None:
    """The project whose configuration applies: the one around the first PATH, else around the cwd."""
    from ..manifest import default_root, find_project_root

    if not paths:
        return default_root()
    first = paths[0]
    return find_project_root(first if first.is_dir() else first.parent) or find_project_root()


def build_config(paths: list[Path], select=(), ignore=(), severities=(), config_file: Path | None = None):
    """File configuration ([tool.fhirrug] / [rules] / --config) merged with the command line."""
    from ..config import load_config, load_config_file, parse_severity_assignment

    overrides = dict(parse_severity_assignment(s) for s in severities)
    base = load_config_file(config_file) if config_file is not None else load_config(_project_root(paths))
    return base.merged(select=select, ignore=ignore, severity=overrides)


def _is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _validate_archive(archive: Path, config):
    """An exported FHIR NPM package (.tgz), read safely in memory by `fhirrug.release.tarsafe`
    (no links, no paths outside, limits against decompression bombs; an unsafe archive is a
    fatal `fhirrug-package-unsafe` finding). Its resources (package/*.json, package/example/*.json)
    are validated as one package; files show as `ARCHIVE!package/NAME.json`."""
    from ..release.tarsafe import load_archive
    from ..validate.pipeline import validate_package

    package, _ = load_archive(archive)
    result = validate_package(package, config)
    if not result.files:
        result.files = [str(archive)]
    return result


def _read_stdin():
    """One resource on standard input (`-`), e.g. `curl .../Questionnaire/x | fhirrug validate -`,
    with the same size limit as files; reported as file `-`. None when it is over the limit."""
    from ..jsonio import MAX_FILE_BYTES

    raw = click.get_binary_stream("stdin").read(MAX_FILE_BYTES + 1)
    return raw if len(raw) <= MAX_FILE_BYTES else None


def _context(paths: list[Path], package: Path | None):
    """The package the given resources are checked against: `--package`, else the project the
    first PATH belongs to, else the project around the working directory, else the embedded
    content. Never nothing: a resource on stdin or from a download is checked in context."""
    from ..manifest import MANIFEST_NAME, default_root, find_project_root
    from ..package import load_context

    if package is not None:
        return load_context(package)
    for path in paths[:1]:
        if path.is_dir() and (path / MANIFEST_NAME).is_file():
            return load_context(path)
        root = find_project_root(path if path.is_dir() else path.parent)
        if root is not None:
            return load_context(root)
    return load_context(default_root())


def _merge(results):
    from ..issues import sort_key
    from ..validate.pipeline import ValidationResult

    issues = [issue for result in results for issue in result.issues]
    files = list(dict.fromkeys(file for result in results for file in result.files))
    return ValidationResult(sorted(issues, key=sort_key), files)


def run(
    paths: list[Path],
    *,
    output_format: str = "text",
    strict: bool = False,
    select=(),
    ignore=(),
    severities=(),
    config_file: Path | None = None,
    output: Path | None = None,
    package: Path | None = None,
    color: bool | None = None,
) -> int:
    """Validate, report, and return the exit code."""
    from ..config import check_selectors
    from ..rules import all_rules
    from ..validate.pipeline import has_errors

    reporter = REPORTER_BY_NAME[output_format]
    config = build_config(paths, select, ignore, severities, config_file)
    rules = all_rules()
    check_selectors(config, rules)
    result = validate_once(paths, config, package)
    if not result.files:
        fail(f"nothing to validate: {_described(paths, package)} holds no JSON resources")

    report = Report(
        issues=result.issues,
        summary=result.summary,
        files=result.files,
        version=__version__,
        strict=strict,
        color=output_format == "text" and use_color(output, color),
        rules=rules,
    )
    emit(reporter(report), output)
    if output is not None:
        diagnostic(f"{output_format} report written to {output}: {summary_line(result.summary)}")
    return exitcodes.FINDINGS if has_errors(result, strict) else exitcodes.OK


def validate_once(paths: list[Path], config, package: Path | None = None):
    """One validation of PATHs (or, with none, of the package) as `fhirrug validate` does it."""
    from ..issues import FATAL, Issue
    from ..jsonio import MAX_FILE_BYTES
    from ..manifest import default_root
    from ..package import load_context
    from ..validate.pipeline import ValidationResult, validate_in_context, validate_package, validate_root

    if not paths:
        if package is not None:
            return validate_package(load_context(package).package, config)
        return validate_root(default_root(), config)
    stdin = [p for p in paths if str(p) == "-"]
    archives = [p for p in paths if str(p) != "-" and _is_archive(p)]
    others = [p for p in paths if str(p) != "-" and not _is_archive(p)]
    results = [_validate_archive(archive, config) for archive in archives]
    if others or stdin:
        raw = _read_stdin() if stdin else None
        if stdin and raw is None:
            issue = Issue("fhirrug-file-too-large", FATAL, f"standard input is over the limit of {MAX_FILE_BYTES} bytes", "-", "")
            results.append(ValidationResult([issue], ["-"]))
        if others or raw is not None:
            context = _context(others, package)
            results.append(validate_in_context(others, context, config, stdin=(raw, "-") if raw is not None else None))
    return _merge(results) if len(results) > 1 else results[0]


def _described(paths: list[Path], package: Path | None) -> str:
    if paths:
        return ", ".join(str(p) for p in paths)
    return str(package) if package is not None else "the package"
