"""`fhirrug export`: the release as a FHIR NPM package and as a transaction Bundle, reproducibly.

The NPM package (`<name>-<version>.tgz`) has the layout the IG Publisher and SUSHI produce and
HAPI, Firely and the HL7 validator load:

    package/package.json           name, version, fhirVersions, dependencies, canonical, ...
    package/.index.json            filename, resourceType, id, url, version (+ kind, type, content)
    package/<Type>-<id>.json       every canonical resource of the package
    package/example/.index.json
    package/example/<Type>-<id>.json   the example QuestionnaireResponses

The transaction Bundle (`<name>-<version>.bundle.json`) imports the release idempotently: each
canonical resource is a conditional update `PUT <Type>?url=<url>&version=<version>`; the resource
carries no id, so the server keeps the id it gave the first import (importing twice creates
nothing new) and a new version is a new resource beside the old one (never an overwrite of it).
Example responses are not part of the Bundle: they are test material, not release content.

Reproducible: member order fixed (sorted), timestamps fixed (SOURCE_DATE_EPOCH, else the
release date at 00:00 UTC), owner 0/0 with empty names, modes 0644, gzip header without name
or time. `SHA256SUMS` lists every file written, sorted, in `sha256sum -c` format.
"""

from __future__ import annotations

import calendar
import gzip
import hashlib
import io
import os
import tarfile
import time
import uuid
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path
from urllib.parse import quote

from ..jsonio import atomic_write, dumps, read_json
from ..manifest import Manifest
from ..package import Package, load_package
from .diff import CANONICAL_TYPES

FORMATS = ("npm", "bundle", "all")
# Import order: what is referred to comes before what refers to it.
_ORDER = {t: i for i, t in enumerate(("StructureDefinition", "CodeSystem", "ValueSet", "ConceptMap", "Questionnaire"))}
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://fhir.fhirrug.nl/release")  # fixed: fullUrls are reproducible


class ExportError(Exception):
    """The release cannot be exported (content unreadable, ids clash)."""


@dataclass
class Release:
    manifest: Manifest
    resources: list[dict]  # canonical resources, in import order
    examples: list[dict]
    epoch: int
    files: dict[str, bytes] = field(default_factory=dict)  # output file name -> bytes


def release_epoch(manifest: Manifest) -> int:
    """SOURCE_DATE_EPOCH if set, else the release date (fhirrug.toml `date`) at 00:00 UTC."""
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if env:
        if not env.isdigit():
            raise ExportError(f"SOURCE_DATE_EPOCH={env!r} is not a number of seconds")
        return int(env)
    if manifest.date:
        try:
            year, month, day = (int(x) for x in manifest.date.split("-"))
            return calendar.timegm((year, month, day, 0, 0, 0))
        except ValueError:
            raise ExportError(f"fhirrug.toml date {manifest.date!r} is not YYYY-MM-DD") from None
    return 315532800  # 1980-01-01, the earliest time zip and many tools accept


def collect(root: Path | str, package: Package | None = None) -> Release:
    """The release from the content tree (or from its already loaded `package`)."""
    package = package if package is not None else load_package(root)
    if package.read_issues:
        raise ExportError("; ".join(f"{i.file}: {i.message}" for i in package.read_issues))
    resources, examples, seen = [], [], {}
    for resource in package.resources:
        data = resource.data
        name = f"{data.get('resourceType')}-{data.get('id')}.json"
        if name in seen:
            raise ExportError(f"{resource.path} and {seen[name]} would both be {name}")
        seen[name] = resource.path
        (resources if data.get("resourceType") in CANONICAL_TYPES else examples).append(data)
    resources.sort(key=lambda r: (_ORDER.get(r.get("resourceType"), 99), r.get("url", ""), r.get("id", "")))
    examples.sort(key=lambda r: (r.get("resourceType", ""), r.get("id", "")))
    return Release(package.manifest, resources, examples, release_epoch(package.manifest))


def package_json(manifest: Manifest, epoch: int) -> dict:
    stamp = _dt_stamp(epoch)
    out = {
        "name": manifest.name,
        "version": manifest.version,
        "type": "fhir.ig",
        "date": stamp,
        "title": manifest.title,
        "description": manifest.description,
        "author": manifest.publisher,
        "license": manifest.license,
        "canonical": manifest.canonical,
        "url": manifest.canonical,
        "fhirVersions": [manifest.fhir_version],
        "dependencies": {"hl7.fhir.r4.core": manifest.fhir_version},
        "jurisdiction": f"urn:iso:std:iso:3166#{manifest.jurisdiction}" if manifest.jurisdiction else "",
        "language": manifest.language,
    }
    return {k: v for k, v in out.items() if v not in ("", None)}


def _dt_stamp(epoch: int) -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(epoch))


def index_json(resources: list[dict]) -> dict:
    files = []
    for r in resources:
        entry = {"filename": f"{r['resourceType']}-{r['id']}.json", "resourceType": r["resourceType"], "id": r["id"]}
        for key in ("url", "version", "kind", "type", "supplements", "content"):
            if isinstance(r.get(key), str):
                entry[key] = r[key]
        files.append(entry)
    return {"index-version": 1, "files": sorted(files, key=lambda f: f["filename"])}


def bundle_id(manifest: Manifest) -> str:
    return f"{manifest.name}-{manifest.version}".replace("_", "-")[:64]


def transaction_bundle(release: Release) -> dict:
    """A transaction Bundle of conditional updates on url and version."""
    entries = []
    for resource in release.resources:
        body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
        url, version, rtype = resource["url"], resource.get("version", ""), resource["resourceType"]
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{url}|{version}')}",
                "resource": body,
                "request": {"method": "PUT", "url": f"{rtype}?url={quote(url, safe='')}&version={quote(version, safe='')}"},
            }
        )
    return {
        "resourceType": "Bundle",
        "id": bundle_id(release.manifest),
        "meta": {"lastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(release.epoch))},
        "identifier": {"system": f"{release.manifest.canonical}/release", "value": f"{release.manifest.name}|{release.manifest.version}"},
        "type": "transaction",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(release.epoch)),
        "entry": entries,
    }


def npm_members(release: Release) -> dict[str, bytes]:
    members = {
        "package/package.json": dumps(package_json(release.manifest, release.epoch)).encode(),
        "package/.index.json": dumps(index_json(release.resources)).encode(),
    }
    for r in release.resources:
        members[f"package/{r['resourceType']}-{r['id']}.json"] = dumps(r).encode()
    if release.examples:
        members["package/example/.index.json"] = dumps(index_json(release.examples)).encode()
        for r in release.examples:
            members[f"package/example/{r['resourceType']}-{r['id']}.json"] = dumps(r).encode()
    return members


def tgz_bytes(members: dict[str, bytes], epoch: int) -> bytes:
    """A byte-for-byte reproducible .tgz of `members`."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            info.mtime = epoch
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            archive.addfile(info, io.BytesIO(members[name]))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=epoch, compresslevel=9) as zipped:
        zipped.write(raw.getvalue())
    return out.getvalue()


def build(root: Path | str, fmt: str = "all", package: Package | None = None) -> Release:
    """Everything `export` writes, in memory."""
    if fmt not in FORMATS:
        raise ExportError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    release = collect(root, package)
    _add_narratives(release)
    stem = f"{release.manifest.name}-{release.manifest.version}"
    if fmt in ("npm", "all"):
        release.files[package_name(release)] = tgz_bytes(npm_members(release), release.epoch)
    if fmt in ("bundle", "all"):
        release.files[f"{stem}.bundle.json"] = dumps(transaction_bundle(release)).encode()
    release.files["SHA256SUMS"] = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(release.files.items())
    ).encode()
    return release


def _add_narratives(release: Release) -> None:
    """Every exported resource gets a generated narrative (text.status = generated), rendered by
    the review site's templates (fhirrug.site.narrative)."""
    from ..site.build import languages_of
    from ..site.narrative import with_narratives

    context = release.resources + release.examples
    narrated = with_narratives(context, context, languages_of(release.manifest))
    release.resources, release.examples = narrated[: len(release.resources)], narrated[len(release.resources) :]


def export(root: Path | str, out: Path | str, fmt: str = "all", package: Package | None = None) -> list[Path]:
    return write(build(root, fmt, package), out)


def write(release: Release, out: Path | str) -> list[Path]:
    """Write the built files into `out`, each atomically, SHA256SUMS last. Temporary files an
    earlier run left when it was killed mid-write (`.<name>.*.tmp`, up to the Bundle's size)
    are removed first."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in release.files:
        for stale in out.glob(f".{glob_escape(name)}.*.tmp"):
            stale.unlink(missing_ok=True)
    written = []
    for name, data in sorted(release.files.items(), key=lambda kv: kv[0] == "SHA256SUMS"):  # the sums last
        path = out / name
        atomic_write(path, data)
        os.chmod(path, 0o644)
        written.append(path)
    return written


def package_name(release: Release) -> str:
    """The file name of the release's NPM package."""
    return f"{release.manifest.name}-{release.manifest.version}.tgz"


def package_bytes(release: Release) -> bytes:
    """The NPM package of the release (built if the release was built without it)."""
    return release.files.get(package_name(release)) or tgz_bytes(npm_members(release), release.epoch)


def load_bundle(path: Path | str) -> dict:
    """A Bundle written by `export`, read with the strict parser and its size limit."""
    data, issues = read_json(path)
    if data is None:
        raise ExportError(f"{issues[0].file}: {issues[0].message}" if issues else f"{path}: unreadable")
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise ExportError(f"{path}: not a Bundle")
    return data
