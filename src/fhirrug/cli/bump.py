"""`fhirrug bump`: click only; the work is in fhirrug.release.bump."""

from __future__ import annotations

from pathlib import Path

import click

from .. import exitcodes
from ..manifest import ManifestError, find_project_root, load_manifest
from ._common import cli_errors, diagnostic, fail


@click.command("bump")
@click.argument("part", required=False, type=click.Choice(["major", "minor", "patch"]))
@click.option("--to", "to", metavar="X.Y.Z", help="Release exactly this version (must be greater than the current one).")
@click.option("--auto", is_flag=True, help="Take the level fhirrug diff recommends against the previous release (while the version is 0.y.z, a breaking change takes the next minor).")
@click.option("--since", metavar="OLD", help="The previous release to compare with: folder, .tgz, release version or git revision (default: the current version's release, found as fhirrug diff finds 0.1.0).")
@click.option("--status", type=click.Choice(["draft", "active", "retired"]), help="Also set the status of the package and every resource.")
@click.option("--date", metavar="YYYY-MM-DD", help="Release date (default: today, UTC).")
@click.option("--dry-run", is_flag=True, help="Print the diff the bump would make; write nothing.")
@click.option("--reformat", is_flag=True, help="Normalise content files not in the fixed JSON format instead of refusing.")
@click.option("--force", is_flag=True, help="Release even if fhirrug diff recommends a bigger level.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), help="The content tree (default: the fhirrug project around the working directory).")
def bump(part, to, auto, since, status, date, dry_run, reformat, force, root) -> None:
    """Raise the package version: every resource's version and date, every versioned reference
    inside the package, fhirrug.toml and a CHANGELOG.md entry, all-or-nothing.

    Refuses content that does not validate (exit 1) and a version not greater than the current one (exit 2).
    """
    from ..release import transaction, trees
    from ..release.bump import BumpError, ContentInvalid, apply_bump, plan_bump

    if sum(bool(x) for x in (part, to, auto)) != 1:
        raise click.UsageError("give exactly one of major|minor|patch, --to X.Y.Z or --auto")
    with cli_errors():
        root = root or find_project_root()
        if root is None:
            fail("bump: not in a fhirrug project (no fhirrug.toml here or above); use --root")
        try:
            if not dry_run:
                state = transaction.recover(root)
                if state in ("rolled-forward", "rolled-back"):
                    diagnostic(f"bump: an interrupted write was found and {state.replace('-', ' ')}")
            manifest = load_manifest(root)
            baseline = trees.release_baseline(Path(root), since, manifest.version)
            plan = plan_bump(root, part, to=to, auto=auto, status=status, date=date, baseline=baseline, reformat=reformat, force=force)
        except ContentInvalid as exc:
            fail(f"bump: {exc}", exitcodes.FINDINGS)
        except (BumpError, ManifestError, trees.TreeError, transaction.TransactionError) as exc:
            fail(f"bump: {exc}")
        if plan.recommended is not None:
            diagnostic(f"bump: fhirrug diff against {plan.baseline}: {len(plan.changes)} changes, recommends {plan.recommended}")
        if dry_run:
            click.echo(plan.unified_diff(), nl=False)
            diagnostic(f"bump: {plan.old_version} -> {plan.new_version}: {len(plan.changed_files())} files would change (dry run, nothing written)")
            raise SystemExit(exitcodes.OK)
        try:
            written = apply_bump(plan)
        except (OSError, transaction.TransactionError) as exc:
            fail(f"bump: writing failed, nothing or everything is written (run fhirrug bump again to recover): {exc}")
        diagnostic(f"bump: {plan.old_version} -> {plan.new_version}: {len(written)} files written")
        raise SystemExit(exitcodes.OK)
