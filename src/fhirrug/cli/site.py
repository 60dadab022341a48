"""`fhirrug site [--out DIR] [--since REV]` and `fhirrug site --serve [--port N]`."""

from __future__ import annotations

from pathlib import Path

import click

from .. import exitcodes
from ._common import cli_errors, diagnostic, fail


@click.command("site")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("_site"), show_default=True, help="Folder to write the site to (replaced as a whole; a non-empty folder fhirrug did not write is refused).")
@click.option("--since", default=None, metavar="REV", help="Add a changes page: what `fhirrug diff REV .` finds (a git revision, a folder or an exported .tgz).")
@click.option("--package", "package_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None, help="Content tree (folder with fhirrug.toml); default: the project around the working directory, else the embedded content.")
@click.option("--no-validate", is_flag=True, help="Leave the validation summary off the index page (a faster build).")
@click.option("--serve", is_flag=True, help="Do not write files: serve the site on 127.0.0.1 with a fill page per Questionnaire, until Ctrl-C.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port for --serve (0: any free port; the address is printed).")
def site(out: Path, since: str | None, package_dir: Path | None, no_validate: bool, serve: bool, port: int) -> None:
    """Build the review site of the content package: an index with this build's validation
    summary, a page per resource (the item tree with nl and en side by side, text sources,
    enableWhen in words), outcome pages with urgency, mappings and routes, routing diagrams
    (Graphviz `dot`, when installed) and with --since a changes page.

    Static and deterministic (same content, same bytes); readable without JavaScript and printable.
    With --serve, the fill pages run each answer through fhirrug's engine on the server.

    Exit codes: 0 built (findings of the validation are shown on the index, not counted),
    2 usage, a bad --since, or an output folder that is not a site.
    """
    with cli_errors():
        from ..manifest import default_root
        from ..site.build import SiteError, build_site, write_site

        root = package_dir or default_root()
        try:
            built = build_site(root, since=since, validate=not no_validate, fill=serve)
        except SiteError as exc:
            fail(str(exc))
        for note in built.notes:
            diagnostic(note)
        if serve:
            from ..site.server import serve as run_server

            run_server(built, root, port, announce=lambda url: click.echo(f"Serving the review site on {url} (Ctrl-C stops)", err=True))
            raise SystemExit(exitcodes.OK)
        try:
            write_site(built, out)
        except SiteError as exc:
            fail(str(exc))
        diagnostic(f"{len(built.files)} files written to {out} (open {out / 'index.html'})")
        raise SystemExit(exitcodes.OK)
