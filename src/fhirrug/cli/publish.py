"""`fhirrug publish`: click only; the work is in fhirrug.release.publish."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import exitcodes
from ..manifest import ManifestError, default_root
from ..package import load_package


@click.command("publish")
@click.option("--server", required=True, metavar="URL", help="FHIR R4 base URL, e.g. https://fhir.example.org/fhir")
@click.option("--token", envvar="FHIRRUG_TOKEN", metavar="T", help="Bearer token (or FHIRRUG_TOKEN).")
@click.option("--bundle", "bundle_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="A Bundle written by fhirrug export (default: built from the content tree).")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), help="The content tree (default: the project around the working directory, else the embedded content).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds per HTTP request.")
@click.option("--no-validate", is_flag=True, help="Publish the content tree even if it does not validate (never for a release).")
def publish(server: str, token: str | None, bundle_path: Path | None, root: Path | None, fmt: str, timeout: float, no_validate: bool) -> None:
    """Post the release's transaction Bundle to a FHIR R4 server, report each entry's status,
    read every resource back by url and version and compare it.

    Exit 0 when everything is stored as sent; 1 when the server refused the content (nothing
    stored), an entry failed or a resource differs; 2 when the server cannot be used.
    """
    from ..release.export import ExportError, collect, load_bundle, transaction_bundle
    from ..release.publish import PublishError, TransactionRefused, publish as run_publish

    from ..release import transaction
    from ..release.bump import validate_content

    try:
        if bundle_path:
            bundle = load_bundle(bundle_path)
        else:
            root = root or default_root()
            transaction.recover(root)  # never publish a half-written bump
            package = load_package(root)  # read once: validated and published
            errors = [] if no_validate else validate_content(Path(root), package)
            if errors:
                for issue in errors[:20]:
                    click.echo(f"{issue.file}: {issue.severity} {issue.code} {issue.expression}: {issue.message}", err=True)
                click.echo(f"fhirrug publish: the content does not validate ({len(errors)} errors); nothing sent", err=True)
                raise SystemExit(exitcodes.FINDINGS)
            bundle = transaction_bundle(collect(root, package))
        report = run_publish(bundle, server, token, timeout)
    except TransactionRefused as exc:
        click.echo(f"fhirrug publish: {exc}", err=True)
        raise SystemExit(exitcodes.FINDINGS)
    except (PublishError, ExportError, ManifestError, transaction.TransactionError, OSError, ValueError) as exc:
        click.echo(f"fhirrug publish: {exc}", err=True)
        raise SystemExit(exitcodes.USAGE)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        for entry in report.entries:
            mark = "ok  " if entry.ok else "FAIL"
            click.echo(f"{mark} {entry.status:<14} {entry.resource}  read back: {entry.readback}")
        click.echo(f"{len(report.entries)} resources, {report.created} created, {sum(not e.ok for e in report.entries)} failed", err=True)
    raise SystemExit(exitcodes.OK if report.ok else exitcodes.FINDINGS)
