"""`fhirrug export`: click only; the work is in fhirrug.release.export."""

from __future__ import annotations

from pathlib import Path

import click

from .. import exitcodes
from ..manifest import ManifestError, default_root
from ..package import load_package


@click.command("export")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("out"), show_default=True, help="Folder for the package, the Bundle and SHA256SUMS.")
@click.option("--format", "fmt", type=click.Choice(["npm", "bundle", "all"]), default="all", show_default=True)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), help="The content tree (default: the project around the working directory, else the embedded content).")
@click.option("--no-validate", is_flag=True, help="Export even if the content does not validate (never for a release).")
def export(out: Path, fmt: str, root: Path | None, no_validate: bool) -> None:
    """Write the release as a FHIR NPM package (<name>-<version>.tgz), a transaction Bundle of
    conditional updates (<name>-<version>.bundle.json) and SHA256SUMS, byte-for-byte
    reproducible (timestamps from SOURCE_DATE_EPOCH or the release date).

    Refuses content that does not validate (exit 1).
    """
    from ..release import transaction
    from ..release.bump import validate_content
    from ..release.export import ExportError
    from ..release.export import export as run_export

    try:
        root = root or default_root()
        transaction.recover(root)
        package = load_package(root)  # read once: validated and exported
        if not no_validate:
            errors = validate_content(Path(root), package)
            if errors:
                for issue in errors[:20]:
                    click.echo(f"{issue.file}: {issue.severity} {issue.code} {issue.expression}: {issue.message}", err=True)
                click.echo(f"fhirrug export: the content does not validate ({len(errors)} errors); nothing written", err=True)
                raise SystemExit(exitcodes.FINDINGS)
        written = run_export(root, out, fmt, package)
    except (ExportError, ManifestError, transaction.TransactionError, OSError) as exc:
        click.echo(f"fhirrug export: {exc}", err=True)
        raise SystemExit(exitcodes.USAGE)
    for path in written:
        click.echo(str(path))
    raise SystemExit(exitcodes.OK)
