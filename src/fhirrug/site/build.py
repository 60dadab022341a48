"""Building the review site: every page in memory, then written all at once.

Deterministic: the pages depend only on the package, the `--since` baseline and the versions of
fhirrug and Graphviz (no clock, no absolute paths, everything sorted or in package order).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..manifest import Manifest
from ..package import Package, load_package
from .diagram import DiagramJob, dot_source
from .render import render, resource_template
from .texts import Languages
from .views import SiteContent, page_of

MARKER = ".fhirrug-site"  # a folder holding this file was written by `fhirrug site`
ISSUES_SHOWN = 50
STATIC = Path(__file__).resolve().parent / "static"
GROUP_HEADINGS = {
    "Questionnaire": "Questionnaires",
    "CodeSystem": "Code systems",
    "ValueSet": "Value sets",
    "ConceptMap": "Concept maps",
    "StructureDefinition": "Extensions and profiles",
    "QuestionnaireResponse": "Example responses",
}


class SiteError(Exception):
    """The site cannot be built or written (a bad --since, an output folder that is not a site)."""


@dataclass
class Site:
    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> bytes
    notes: list[str] = field(default_factory=list)  # for the person at the terminal (stderr)
    content: SiteContent | None = None
    manifest: Manifest | None = None


def languages_of(manifest: Manifest | None) -> Languages:
    if manifest is None:
        return Languages("nl-NL", ("en",))
    return Languages(manifest.language, manifest.translations)


def build_site(root: Path | str, package: Package | None = None, *, since: str | None = None, validate: bool = True, fill: bool = False) -> Site:
    """Every page of the site for the package at `root`.

    since: a git revision, folder or exported package to compare with (the changes page).
    validate: show this build's `fhirrug validate` summary on the index.
    fill: link each Questionnaire page to its fill page (only the server has those).
    """
    package = package if package is not None else load_package(root)
    manifest = package.manifest
    languages = languages_of(manifest)
    content = SiteContent(package, languages)
    # The routes (a forked process) and dot (its own processes) run while this one validates
    # and renders; the pages that show them are rendered last.
    content.start_routes()
    jobs = {q.page: DiagramJob(dot_source(q, content)) for q in content.questionnaires if any(i.conditions for i in q.logic.items.values())}
    site = Site(content=content, manifest=manifest)
    changes = _changes(Path(root), content, since) if since else None
    common = {"content": content, "languages": languages, "manifest": manifest, "version": __version__, "root": "", "has_changes": changes is not None}

    def page(name: str, layout: str, **extra: Any) -> None:
        site.files[name] = render(layout, **common, **extra).encode("utf-8")

    groups = []
    for rtype, heading in GROUP_HEADINGS.items():
        members = [{"resource": r, "page": page_of(r), "title": content.title(r)} for r in content.resources if r.get("resourceType") == rtype]
        if members:
            groups.append({"type": rtype, "heading": heading, "resources": members})
    others = [{"resource": r, "page": page_of(r), "title": content.title(r)} for r in content.resources if r.get("resourceType") not in GROUP_HEADINGS]
    if others:
        groups.append({"type": "other", "heading": "Other resources", "resources": others})
    page("index.html", "pages/index.html", page_title="Package", validation=_validation(package) if validate else None, resource_groups=groups)

    for resource in content.resources:  # resources whose pages show no routes, while the routes are computed
        if resource.get("resourceType") != "Questionnaire":
            page(page_of(resource), "pages/resource.html", page_title=f"{resource.get('resourceType')}/{resource.get('id')}", resource=resource,
                 template=resource_template(str(resource.get("resourceType"))), questionnaire=None, site=True, diagram=None, fill=None, outcome_by_key={})
    content.add_routes()
    outcome_by_key = {(o.ref.system, o.ref.code): o for o in content.outcomes}
    diagrams = {name: job.result() for name, job in jobs.items()}
    for q in content.questionnaires:
        resource = q.resource
        name = q.page
        diagram_page = None
        if name in diagrams:
            diagram = diagrams[name]
            stem = name[: -len(".html")]
            diagram_page = f"{stem}-diagram.html"
            if diagram.svg:
                site.files[f"{stem}-diagram.svg"] = (diagram.svg + "\n").encode("utf-8")
            else:
                site.notes.append(f"{resource.get('id')}: {diagram.note}")
            site.files[f"{stem}-diagram.dot"] = diagram.dot.encode("utf-8")
            page(diagram_page, "pages/diagram.html", page_title=f"Routing diagram of {resource.get('id')}", questionnaire=q, diagram={**diagram.__dict__, "file": f"{stem}-diagram.svg"})
        page(
            name, "pages/resource.html", page_title=f"{resource.get('resourceType')}/{resource.get('id')}", resource=resource,
            template=resource_template(str(resource.get("resourceType"))), questionnaire=q, site=True, diagram=diagram_page,
            fill=f"fill/{resource.get('id')}" if fill else None, outcome_by_key=outcome_by_key,
        )
    outcome_groups = []
    for system in dict.fromkeys(o.ref.system for o in content.outcomes):
        codesystem = content.by_url[system]
        outcome_groups.append({"id": codesystem.get("id"), "page": page_of(codesystem), "title": content.title(codesystem), "outcomes": [o for o in content.outcomes if o.ref.system == system]})
    page("outcomes.html", "pages/outcomes.html", page_title="Outcomes", outcome_groups=outcome_groups)
    for o in content.outcomes:
        label = o.items[0][1] if o.items else f"{o.codesystem_title.first} {o.ref.code}"
        page(o.ref.page, "pages/outcome.html", page_title=f"Outcome {o.ref.code}", outcome=o, title_label=label)
    if changes is not None:
        page("changes.html", "pages/changes.html", page_title=f"Changes since {since}", changes=changes)
    site.files["site.css"] = (STATIC / "site.css").read_bytes()
    return site


def _validation(package: Package) -> dict:
    from ..issues import ERROR, FATAL
    from ..validate.pipeline import validate_package

    result = validate_package(package)
    root = package.manifest.root if package.manifest is not None else None
    shown = []
    for issue in result.issues[:ISSUES_SHOWN]:
        shown.append({"severity": issue.severity, "code": issue.code, "file": _relative(issue.file, root), "expression": issue.expression, "message": issue.message})
    return {
        "summary": result.summary,
        "clean": not any(i.severity in (ERROR, FATAL) for i in result.issues),
        "issues": shown,
        "more": max(0, len(result.issues) - ISSUES_SHOWN),
    }


def _relative(file: str, root: Path | None) -> str:
    """A file name relative to the project, so that pages do not depend on where it was built."""
    if not file or root is None:
        return file
    try:
        return str(Path(file).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return Path(file).name


def _changes(root: Path, content: SiteContent, since: str) -> dict:
    from ..release.diff import diff_resources
    from ..release.trees import TreeError, load_tree

    try:
        before = load_tree(since, root)
    except TreeError as exc:
        raise SiteError(f"--since {since}: {exc}") from None
    result = diff_resources(before.resources, content.resources)
    groups: dict[str, list[dict]] = {}
    for change in result["changes"]:
        groups.setdefault(change["resource"], []).append(change)
    return {
        "since": since,
        "old_version": before.version,
        "recommended": result["recommended"],
        "changes": result["changes"],
        "groups": [{"resource": key, "page": content.page_for_url(key), "changes": changes} for key, changes in groups.items()],
        "notes": [f"{issue.file}: {issue.message} (left out of the comparison)" for issue in before.issues],
    }


def write_site(site: Site, out: Path | str) -> Path:
    """Write every file of `site` under `out`, replacing an earlier build as a whole.

    The pages go to a new folder beside `out`, which then takes `out`'s place: a reader sees the
    old site or the new one, never a mix. A non-empty `out` that `fhirrug site` did not write is
    refused rather than replaced.
    """
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise SiteError(f"{out}: exists and is not a folder")
        if any(out.iterdir()) and not (out / MARKER).is_file():
            raise SiteError(f"{out}: not empty and not a site fhirrug built (no {MARKER}); choose another --out or empty it")
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".fhirrug-new", dir=parent))
    try:
        for name, data in sorted(site.files.items()):
            path = fresh / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            os.chmod(path, 0o644)
        (fresh / MARKER).write_text(f"fhirrug {__version__}\n", encoding="utf-8")
        os.chmod(fresh, 0o755)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".fhirrug-old", dir=parent))
            os.rmdir(old)
            os.replace(out, old)
        os.replace(fresh, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return out
