"""`fhirrug export`: click only; the work is in fhirrug.release.export and fhirrug.release.record."""

from __future__ import annotations

from pathlib import Path

import click

from .. import exitcodes
from ._common import cli_errors, diagnostic, fail
from ._release import embedded_option, release_root, validated_package


@click.command("export")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("out"), show_default=True, help="Folder for the package, the Bundle and SHA256SUMS.")
@click.option("--format", "fmt", type=click.Choice(["npm", "bundle", "all"]), default="all", show_default=True)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), help="The content tree (default: the fhirrug project around the working directory).")
@embedded_option("export")
@click.option("--no-validate", is_flag=True, help="Export even if the content does not validate (never for a release; nothing is kept in releases/).")
def export(out: Path, fmt: str, root: Path | None, embedded: bool, no_validate: bool) -> None:
    """Write the release as a FHIR NPM package (<name>-<version>.tgz), a transaction Bundle of
    conditional updates (<name>-<version>.bundle.json) and SHA256SUMS, byte-for-byte
    reproducible (timestamps from SOURCE_DATE_EPOCH or the release date).

    In a project, a validated export also keeps the package as releases/<name>-<version>.tgz
    (commit it: that is how `fhirrug diff 0.2.0 .` and `bump --auto` find the release in any
    clone). Other content under a version already kept there is written with a warning and
    never kept (publish refuses it: bump first).

    Outside a project it refuses unless --embedded asks for the content shipped with fhirrug.
    Exit 1 when the content does not validate.
    """
    from ..release import record
    from ..release.export import ExportError, build, package_bytes, write

    with cli_errors():
        root = release_root("export", root, embedded)
        try:
            package = validated_package("export", root, no_validate, embedded)
            release = build(root, fmt, package)
        except ExportError as exc:
            fail(f"export: {exc}")
        manifest = release.manifest
        npm = package_bytes(release)
        problem = None if embedded else record.conflict(root, manifest.name, manifest.version, npm)
        if problem:  # fine to look at, never to publish as that version (publish refuses it)
            diagnostic(f"export: WARNING: this is not release {manifest.version}: {problem}")
        for path in write(release, out):
            click.echo(str(path))
        keeps = not embedded and not no_validate and problem is None
        kept = record.keep(root, manifest.name, manifest.version, npm) if keeps else None
        if kept is not None:
            diagnostic(f"export: release {manifest.version} kept as {kept}; commit it with the release")
        raise SystemExit(exitcodes.OK)
