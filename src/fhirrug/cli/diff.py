"""`fhirrug diff`: click only; the work is in fhirrug.release.diff."""

from __future__ import annotations

import json

import click

from .. import exitcodes
from ._common import cli_errors, diagnostic, fail


@click.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--fail-on", type=click.Choice(["major", "minor", "patch"]), help="Exit 1 when the release is at least this level (a pipeline gate, e.g. no breaking changes).")
def diff(old: str, new: str, fmt: str, fail_on: str | None) -> None:
    """Compare two releases: OLD and NEW are content folders, exported packages (.tgz), release
    versions (0.1.0: the package kept in releases/, the tag v0.1.0 or the release commit in
    CHANGELOG.md) or git revisions of this repository. Reports items, answer options,
    enableWhen, codes and texts added, removed or changed, and recommends major, minor, patch or none.

    Exit 0 whatever the changes (the recommendation is output, not a finding) unless --fail-on
    says otherwise; 2 when OLD or NEW cannot be read or compared completely (an unreadable or
    unsafe package, a file that does not parse, a stored response the engine cannot replay).
    """
    from ..release.diff import LEVELS, DiffError, diff_resources
    from ..release.trees import TreeError, load_tree

    with cli_errors():
        try:
            before, after = load_tree(old), load_tree(new)
        except TreeError as exc:
            fail(f"diff: {exc}")
        unreadable = [f"{tree.label}: {issue.file}: {issue.message}" for tree in (before, after) for issue in tree.issues]
        for line in unreadable:
            diagnostic(f"diff: {line}")
        if unreadable:
            fail(f"diff: {len(unreadable)} files cannot be read; nothing compared (a partial comparison could pass a gate it should fail)")
        for spec, tree in ((old, before), (new, after)):
            if not tree.resources:
                fail(f"diff: {spec} holds no FHIR resources; nothing to compare")
        failures: list = []
        try:
            result = diff_resources(before.resources, after.resources, failures)
        except DiffError as exc:
            fail(f"diff: {exc}")
        if fmt == "json":
            document = {"old": {"source": old, "version": before.version}, "new": {"source": new, "version": after.version}, **result}
            if failures:
                document["replay_failures"] = [f.to_dict() for f in failures]
            click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        else:
            click.echo(render_text(result, old, new, before.version, after.version), nl=False)
        if failures:
            for failure in failures:
                diagnostic(f"diff: replay failed: {failure}")
            fail(f"diff: {len(failures)} stored responses could not be replayed through the enableWhen engine; the comparison is incomplete")
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
