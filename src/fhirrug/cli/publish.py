"""`fhirrug publish`: click only; the work is in fhirrug.release.publish."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import exitcodes
from ._common import cli_errors, diagnostic, fail
from ._release import embedded_option, release_root, validated_package


@click.command("publish")
@click.option("--server", required=True, metavar="URL", help="FHIR R4 base URL, e.g. https://fhir.example.org/fhir")
@click.option("--token", envvar="FHIRRUG_TOKEN", metavar="T", help="Bearer token; better FHIRRUG_TOKEN (the command line is visible to other users). Sent to the --server origin only.")
@click.option("--insecure", is_flag=True, help="Allow the token over plain http to a host that is not loopback (anyone on the network can read it).")
@click.option("--bundle", "bundle_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="A Bundle written by fhirrug export (default: built from the content tree).")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), help="The content tree (default: the fhirrug project around the working directory).")
@embedded_option("publish")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True, help="Seconds for each HTTP request as a whole (connect, send, the complete answer).")
@click.option("--no-validate", is_flag=True, help="Publish the content tree even if it does not validate (never for a release).")
def publish(server, token, insecure, bundle_path, root, embedded, fmt, timeout, no_validate) -> None:
    """Post the release's transaction Bundle to a FHIR R4 server, report each entry's status,
    read every resource back by url and version and compare it.

    The token goes to the --server origin only: redirects are never followed, plain http to a
    host that is not loopback is refused without --insecure, and the token never appears in
    the output. Answers are limited in size (32 MB) and each request in time (--timeout).

    Exit 0 when everything is stored as sent; 1 when the server refused the content (nothing
    stored), an entry failed, a resource differs, the content does not validate or its version
    is already released with other content; 2 when the server cannot be used.
    """
    from ..release import record
    from ..release.export import ExportError, build, load_bundle, package_bytes, transaction_bundle
    from ..release.publish import PublishError, TransactionRefused, check_server
    from ..release.publish import publish as run_publish

    with cli_errors():
        try:
            warning = check_server(server, token, insecure)
            if warning:
                diagnostic(f"publish: WARNING: {warning}")
            if bundle_path:
                bundle = load_bundle(bundle_path)
            else:
                root = release_root("publish", root, embedded)
                package = validated_package("publish", root, no_validate, embedded)
                release = build(root, "npm", package)
                manifest = release.manifest
                problem = None if embedded else record.conflict(root, manifest.name, manifest.version, package_bytes(release))
                if problem:  # the conditional updates would overwrite the released resources on the server
                    fail(f"publish: {problem}; nothing sent", exitcodes.FINDINGS)
                bundle = transaction_bundle(release)
            report = run_publish(bundle, server, token, timeout, insecure=insecure)
        except TransactionRefused as exc:
            fail(f"publish: {exc}", exitcodes.FINDINGS)
        except (PublishError, ExportError) as exc:
            fail(f"publish: {exc}")
        if fmt == "json":
            click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        else:
            for entry in report.entries:
                mark = "ok  " if entry.ok else "FAIL"
                click.echo(f"{mark} {entry.status:<14} {entry.resource}  read back: {entry.readback}")
            diagnostic(f"publish: {len(report.entries)} resources, {report.created} created, {sum(not e.ok for e in report.entries)} failed")
        raise SystemExit(exitcodes.OK if report.ok else exitcodes.FINDINGS)
