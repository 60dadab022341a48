"""`fhirrug translate --lang en [PATH ...] [--out DIR]`: single-language copies of resources."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import exitcodes
from ..issues import Issue
from ..jsonio import atomic_write, dumps
from ..manifest import ManifestError, default_root, find_project_root, load_manifest
from ..package import load_files
from ..translate import codesystem_displays, copy_identities, language_matches, translate_resource, translations_of, translatable_strings, with_own_identity
from ._common import cli_errors

# Example responses are not translated: they record what a person answered, in their language.
_NOT_COPIED = ("QuestionnaireResponse",)
# Nor, into another language, extension definitions: their url is the extension's identity, used
# in every resource; the copies use the original definitions, imported once.
_NOT_COPIED_INTO_ANOTHER_LANGUAGE = ("QuestionnaireResponse", "StructureDefinition")


@click.command("translate")
@click.option("--lang", "lang", required=True, metavar="LANG", help="Language of the copy, e.g. en; the source language (nl) only strips the translations.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Folder for the copies (created). Without it, a single resource is written to stdout.")
@click.option("--quiet", "-q", is_flag=True, help="Do not list untranslated texts on stderr.")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def translate(lang: str, out: Path | None, quiet: bool, paths: tuple[Path, ...]) -> None:
    """Write a copy of each resource in one language, for systems that ignore the FHIR
    translation extension: every text replaced by its LANG translation, the translation
    extensions removed and `language` set to LANG.

    PATHS are files or folders; without PATHS, the content package (Questionnaires,
    CodeSystems, ValueSets, ConceptMaps and extension definitions; example responses are
    skipped). A text without a LANG translation keeps its original and is reported as a warning
    on stderr. Copies keep their path relative to the package root. Exit 0 when written
    (warnings allowed), 2 for usage errors or unreadable input.
    """
    with cli_errors():
        code = run(lang, out, quiet, paths)
    sys.exit(code)


def declared_languages(root: Path | None, resources) -> tuple[str, ...]:
    """The languages a copy may be made in: the package's `language` and `translations` from
    fhirrug.toml; for loose files outside a project, their own `language` and the languages
    their translation extensions carry."""
    if root is not None:
        manifest = load_manifest(root)
        return (manifest.language, *manifest.translations)
    found: dict[str, None] = {}
    for resource in resources:
        if isinstance(resource.data.get("language"), str):
            found[resource.data["language"]] = None
        for string in translatable_strings(resource.data):
            found.update(dict.fromkeys(translations_of(string)))
    return tuple(found)


def run(lang: str, out: Path | None, quiet: bool, paths: tuple[Path, ...]) -> int:
    try:
        files, root, source_language = _inputs(paths)
    except ManifestError as exc:
        click.echo(f"fhirrug translate: {exc}", err=True)
        return exitcodes.USAGE
    package = load_files(files)
    for issue in package.read_issues:
        click.echo(_line(issue), err=True)
    if package.read_issues:
        return exitcodes.USAGE
    languages = declared_languages(root, package.resources)
    if not any(language_matches(declared, lang) for declared in languages):
        where = f"{root / 'fhirrug.toml'}" if root is not None else "the resources given"
        click.echo(f"fhirrug translate: {lang!r} is not a language of the package ({where} declares {', '.join(languages) or 'none'})", err=True)
        return exitcodes.USAGE
    into_source = language_matches(lang, source_language)
    skipped = _NOT_COPIED if into_source else _NOT_COPIED_INTO_ANOTHER_LANGUAGE
    resources = [r for r in package.resources if r.resource_type not in skipped]
    if not resources:
        click.echo("fhirrug translate: no resources to translate", err=True)
        return exitcodes.USAGE
    if out is None and len(resources) != 1:
        click.echo(f"fhirrug translate: {len(resources)} resources: give --out DIR to write them", err=True)
        return exitcodes.USAGE
    warnings: list[Issue] = []
    written: list[tuple[Path, str]] = []
    # Codings of the package's CodeSystems get the CodeSystem's display in LANG (the tekstbron
    # Coding inside extensions too), so the copy agrees with the translated CodeSystems.
    displays = codesystem_displays(_codesystems(package, root), source_language)
    renamed = {} if into_source else copy_identities([r.data for r in resources], lang)
    for resource in resources:
        copy, issues = translate_resource(resource.data, lang, source_language, str(resource.path), displays)
        warnings += issues
        if not into_source:
            copy = with_own_identity(copy, resource.data, lang, renamed)
        written.append((_target(resource.path, root, out, copy if not into_source else None), dumps(copy)))
    if out is None:
        click.echo(written[0][1], nl=False)
    else:
        targets = [t for t, _ in written]
        if len(set(targets)) != len(targets):
            click.echo("fhirrug translate: two inputs map to the same output file; translate them separately", err=True)
            return exitcodes.USAGE
        try:
            for target, text in written:
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(target, text)
        except OSError as exc:
            click.echo(f"fhirrug translate: cannot write {exc.filename}: {exc.strerror}", err=True)
            return exitcodes.USAGE
    if not quiet:
        for issue in warnings:
            click.echo(_line(issue), err=True)
    if out is not None:
        click.echo(f"{len(written)} resources written to {out} ({len(warnings)} texts without a {lang!r} translation)", err=True)
    return exitcodes.OK


def _inputs(paths: tuple[Path, ...]) -> tuple[list[Path], Path | None, str]:
    """Files to translate, the root their output paths are relative to, and the source language."""
    if not paths:
        manifest = load_manifest(default_root())
        return manifest.content_files(), manifest.root, manifest.language
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.json") if p.is_file())
        else:
            files.append(path)
    root = find_project_root(paths[0] if paths[0].is_dir() else paths[0].parent)
    language = load_manifest(root).language if root is not None else "nl-NL"
    return files, root, language


def _codesystems(package, root: Path | None) -> list[dict]:
    """The CodeSystems given, plus those of the project the inputs belong to (read once, here)."""
    found = [r.data for r in package.resources if r.resource_type == "CodeSystem"]
    if root is not None:
        given = {r.path.resolve() for r in package.resources}
        try:
            others = [p for p in load_manifest(root).content_files() if p.resolve() not in given and p.name.startswith("CodeSystem-")]
        except ManifestError:
            others = []
        found += [r.data for r in load_files(others).resources if r.resource_type == "CodeSystem"]
    return found


def _target(path: Path, root: Path | None, out: Path | None, copy: dict | None = None) -> Path:
    """Where a copy goes: its path relative to the package root under OUT; a copy with an
    identity of its own is named after it (`Questionnaire-<id>-en.json`), as every file is."""
    if out is None:
        return path
    target = out / path.name
    if root is not None:
        try:
            target = out / path.resolve().relative_to(root.resolve())
        except ValueError:
            pass
    if copy is not None and isinstance(copy.get("id"), str) and isinstance(copy.get("resourceType"), str) and path.name != f"{copy['resourceType']}-{copy['id']}.json":
        target = target.with_name(f"{copy['resourceType']}-{copy['id']}.json")
    return target


def _line(issue: Issue) -> str:
    where = f"{issue.file}: " if issue.file else ""
    at = f" ({issue.expression})" if issue.expression else ""
    return f"{where}{issue.severity}: {issue.message}{at} [{issue.code}]"
