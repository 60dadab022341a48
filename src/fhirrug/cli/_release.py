"""What `fhirrug export` and `fhirrug publish` share: which content tree is released, and the
checks before anything leaves it (recovery of an interrupted bump, validation, and that a
released version never changes)."""

from __future__ import annotations

from pathlib import Path

import click

from .. import exitcodes
from ._common import diagnostic, fail


def embedded_option(verb: str):
    return click.option(
        "--embedded",
        is_flag=True,
        help=f"{verb.capitalize()} the content shipped with fhirrug (outside a project; without it, {verb} refuses there).",
    )


def release_root(command: str, root: Path | None, embedded: bool) -> Path:
    """--root, else the project around the working directory. Outside a project the command
    refuses (as bump does), unless --embedded asks for the content shipped with fhirrug: a
    pipeline run in the wrong folder must not release the embedded content by surprise."""
    from ..manifest import embedded_root, find_project_root, load_manifest

    if root is not None and embedded:
        raise click.UsageError("--root and --embedded exclude each other")
    if root is not None:
        return root
    if not embedded:
        project = find_project_root()
        if project is None:
            fail(f"{command}: not in a fhirrug project (no fhirrug.toml here or above); use --root DIR, or --embedded for the content shipped with fhirrug")
        return project
    shipped = embedded_root()
    manifest = load_manifest(shipped)
    diagnostic(f"{command}: using the content embedded in fhirrug: {manifest.name} {manifest.version} ({shipped})")
    return shipped


def validated_package(command: str, root: Path, no_validate: bool, embedded: bool):
    """The package of `root`, after recovering an interrupted bump; exit 1 if it does not validate."""
    from ..package import load_package
    from ..release import transaction
    from ..release.bump import validate_content

    if not embedded:
        transaction.recover(root)  # never release a half-written bump
    package = load_package(root)  # read once: validated and released
    errors = [] if no_validate else validate_content(Path(root), package)
    if errors:
        for issue in errors[:20]:
            click.echo(f"{issue.file}: {issue.severity} {issue.code} {issue.expression}: {issue.message}", err=True)
        fail(f"{command}: the content does not validate ({len(errors)} errors); nothing written or sent", exitcodes.FINDINGS)
    return package
