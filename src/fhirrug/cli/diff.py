"""`fhirrug diff`: click only; the work is in fhirrug.release.diff."""

from __future__ import annotations

import json

import click

from .. import exitcodes


@click.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--fail-on", type=click.Choice(["major", "minor", "patch"]), help="Exit 1 when the release is at least this level (a pipeline gate, e.g. no breaking changes).")
def diff(old: str, new: str, fmt: str, fail_on: str | None) -> None:
    """Compare two releases: OLD and NEW are content folders, exported packages (.tgz) or git
    revisions of this repository. Reports items, answer options, enableWhen, codes and texts
    added, removed or changed, and recommends major, minor, patch or none.

    Exit 0 whatever the changes (the recommendation is output, not a finding) unless --fail-on
    says otherwise; 2 when OLD or NEW cannot be read.
    """
    from ..release.diff import LEVELS, diff_resources
    from ..release.trees import TreeError, load_tree

    try:
        before, after = load_tree(old), load_tree(new)
    except TreeError as exc:
        click.echo(f"fhirrug diff: {exc}", err=True)
        raise SystemExit(exitcodes.USAGE)
    for tree in (before, after):
        for issue in tree.issues:
            click.echo(f"fhirrug diff: {tree.label}: {issue.file}: {issue.message} (left out of the comparison)", err=True)
    result = diff_resources(before.resources, after.resources)
    if fmt == "json":
        click.echo(json.dumps({"old": {"source": old, "version": before.version}, "new": {"source": new, "version": after.version}, **result}, ensure_ascii=False, indent=2))
    else:
        click.echo(render_text(result, old, new, before.version, after.version), nl=False)
    if fail_on and LEVELS.index(result["recommended"]) >= LEVELS.index(fail_on):
        raise SystemExit(exitcodes.FINDINGS)
    raise SystemExit(exitcodes.OK)


def render_text(result: dict, old: str, new: str, old_version: str, new_version: str) -> str:
    lines = [f"{old} ({old_version or '?'}) -> {new} ({new_version or '?'})"]
    current = None
    for change in result["changes"]:
        if change["resource"] != current:
            current = change["resource"]
            lines.append(f"\n{current}")
        lines.append(f"  {change['level']:<5}  {change['kind']:<26} {change['expression']}: {change['detail']}")
    lines.append(f"\n{len(result['changes'])} changes; recommended release: {result['recommended']}")
    return "\n".join(lines) + "\n"
