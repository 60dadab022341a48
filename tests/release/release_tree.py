"""Helpers for the release tests: a small content tree in the project's conventions, built fresh in a tmp dir for each test
(the live content is being authored in parallel and must not be what release tests depend on)."""

from __future__ import annotations

import json
from pathlib import Path

from fhirrug.issues import ERROR, FATAL
from fhirrug.jsonio import dumps
from fhirrug.package import load_package

BASE = "https://fhir.fhirrug.nl"
VERSION = "0.1.0"

MANIFEST = """# The FHIR content package, declared once.
[package]
name = "fhirrug.test.nl"
version = "0.1.0"
date = "2026-11-25"
status = "draft"
canonical = "https://fhir.fhirrug.nl"
publisher = "fhirrug"
title = "Testpakket"
description = "A test package."
license = "CC0-1.0"
jurisdiction = "NL"
fhirVersion = "4.0.1"
language = "nl-NL"
translations = ["en"]

[content]
folders = ["definitions", "questionnaires", "valuesets", "examples"]
exclude = ["examples/invalid"]
"""

CHANGELOG = "# Changelog\n\nAll notable changes.\n\n## Unreleased\n"


def _meta(rtype: str, rid: str) -> dict:
    return {
        "resourceType": rtype,
        "id": rid,
        "url": f"{BASE}/{rtype}/{rid}",
        "version": VERSION,
        "name": rid.replace("-", "_").capitalize(),
        "title": f"Titel {rid}",
        "status": "draft",
        "experimental": False,
        "date": "2026-11-25",
        "publisher": "fhirrug",
        "jurisdiction": [{"coding": [{"system": "urn:iso:std:iso:3166", "code": "NL", "display": "Netherlands"}]}],
    }


def code_system() -> dict:
    cs = _meta("CodeSystem", "antwoord")
    cs.update(
        {
            "content": "complete",
            "concept": [
                {"code": "ja", "display": "Ja"},
                {"code": "nee", "display": "Nee"},
                {"code": "huisarts", "display": "Ga naar de huisarts"},
            ],
        }
    )
    return cs


def value_set() -> dict:
    vs = _meta("ValueSet", "antwoord")
    vs["compose"] = {"include": [{"system": f"{BASE}/CodeSystem/antwoord", "concept": [{"code": "ja"}, {"code": "nee"}]}]}
    return vs


def concept_map() -> dict:
    cm = _meta("ConceptMap", "uitkomst")
    cm.update(
        {
            "sourceCanonical": f"{BASE}/ValueSet/antwoord|{VERSION}",
            "targetCanonical": f"{BASE}/ValueSet/antwoord|{VERSION}",
            "group": [
                {
                    "source": f"{BASE}/CodeSystem/antwoord",
                    "sourceVersion": VERSION,
                    "target": f"{BASE}/CodeSystem/antwoord",
                    "element": [{"code": "ja", "target": [{"code": "huisarts", "equivalence": "relatedto"}]}],
                }
            ],
        }
    )
    return cm


def questionnaire() -> dict:
    q = _meta("Questionnaire", "zelftest")
    q.update(
        {
            "subjectType": ["Patient"],
            "item": [
                {
                    "linkId": "pijn",
                    "text": "Heeft u pijn in de rug?",
                    "type": "choice",
                    "required": True,
                    "answerValueSet": f"{BASE}/ValueSet/antwoord|{VERSION}",
                },
                {
                    "linkId": "been",
                    "text": "Straalt de pijn uit naar het been?",
                    "type": "choice",
                    "enableWhen": [{"question": "pijn", "operator": "=", "answerCoding": {"system": f"{BASE}/CodeSystem/antwoord", "code": "ja"}}],
                    "answerOption": [
                        {"valueCoding": {"system": f"{BASE}/CodeSystem/antwoord", "code": "ja", "display": "Ja"}},
                        {"valueCoding": {"system": f"{BASE}/CodeSystem/antwoord", "code": "nee", "display": "Nee"}},
                    ],
                },
                {"linkId": "toelichting", "text": "Toelichting", "type": "string"},
            ],
        }
    )
    return q


def response(rid: str = "zelftest-antwoord-01") -> dict:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": rid,
        "questionnaire": f"{BASE}/Questionnaire/zelftest|{VERSION}",
        "status": "completed",
        "item": [{"linkId": "pijn", "answer": [{"valueCoding": {"system": f"{BASE}/CodeSystem/antwoord", "code": "nee"}}]}],
    }


RESOURCES = {
    "valuesets/CodeSystem-antwoord.json": code_system,
    "valuesets/ValueSet-antwoord.json": value_set,
    "valuesets/ConceptMap-uitkomst.json": concept_map,
    "questionnaires/Questionnaire-zelftest.json": questionnaire,
    "examples/QuestionnaireResponse-zelftest-antwoord-01.json": response,
    "examples/invalid/QuestionnaireResponse-zelftest-fout-01.json": lambda: response("zelftest-fout-01"),
}


def write_tree(root: Path, extra: dict[str, dict] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "fhirrug.toml").write_text(MANIFEST, encoding="utf-8")
    (root / "CHANGELOG.md").write_text(CHANGELOG, encoding="utf-8")
    (root / "definitions").mkdir(exist_ok=True)
    for name, make in RESOURCES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(make()), encoding="utf-8")
    for name, data in (extra or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(data), encoding="utf-8")
    return root


def structural_validator(root: Path, package=None) -> list:
    """Stand-in for `fhirrug validate` in release tests: JSON that does not parse is an error.

    The release commands' contract is "refuse what the validator refuses"; the validator's own
    rules are tested by its own suite, and this tiny tree is not meant to satisfy every content
    rule (translations, text sources) of the real package.
    """
    package = package if package is not None else load_package(root)
    return [i for i in package.read_issues if i.severity in (FATAL, ERROR)]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root (content, manifest, changelog, and any journal or temp file)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(dumps(data), encoding="utf-8")


