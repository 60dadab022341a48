"""A synthetic bulk $export of QuestionnaireResponses, for the Spark tests and scripts/bench_spark.py.

`make_package(folder)` writes a content package: this repository's Questionnaires, CodeSystems
and ValueSets, plus an older version (0.0.9) of the self-diagnosis Questionnaire without its
alarm questions, so that `url|0.1.0`, `url|0.0.9` and the bare `url` resolve to different plans.

`write_export(folder, n, broken=...)` writes n lines over three NDJSON files (one with a space in
its name, one in a subfolder, without a final newline), made from the example responses with:
new ids (some none), every kind of `questionnaire` reference (url|version, bare url, the older
version, an unknown version, a CodeSystem's url, none), answers flipped or dropped, and a
fraction `broken` of lines that are not a response: cut-off JSON, arrays, strings, bytes that are
not UTF-8, a Patient, two objects on one line, NaN, a lone surrogate escape, a byte-order mark,
blank and whitespace-only lines, CRLF line ends.

Deterministic for a seed. Importable without pyspark.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SELF_DIAGNOSIS = "Questionnaire-zelfdiagnose-lage-rugklachten.json"
OLD_VERSION = "0.0.9"

BROKEN = [
    b'{"resourceType": "QuestionnaireResponse", "id": "afgebroken", "status": "compl',
    b"[1, 2, 3]",
    b'"alleen tekst"',
    b"\xff\xfe{\"resourceType\": \"QuestionnaireResponse\"}",
    b'{"resourceType": "Patient", "id": "p1"}',
    b'{"resourceType": "QuestionnaireResponse"}{"resourceType": "QuestionnaireResponse"}',
    b'{"resourceType": "QuestionnaireResponse", "id": "nan", "extension": [{"valueDecimal": NaN}]}',
    b'{"resourceType": "QuestionnaireResponse", "id": "surrogaat", "questionnaire": "\\ud800"}',
    b"\xef\xbb\xbf{\"resourceType\": \"QuestionnaireResponse\", \"id\": \"bom\", \"status\": \"completed\"}",
    b"",
    b"   \t",
    b"null",
]


def make_package(folder: Path) -> Path:
    """A content package in `folder` (created); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "fhirrug.toml", folder / "fhirrug.toml")
    for name in ("definitions", "questionnaires", "valuesets"):
        shutil.copytree(ROOT / name, folder / name, dirs_exist_ok=True)
    questionnaire = json.loads((ROOT / "questionnaires" / SELF_DIAGNOSIS).read_text(encoding="utf-8"))
    old = copy.deepcopy(questionnaire)
    old["id"] = f"{old['id']}-{OLD_VERSION.replace('.', '')}"
    old["version"] = OLD_VERSION
    old["item"] = [item for item in old["item"] if item.get("linkId") != "alarm"]
    (folder / "questionnaires" / f"Questionnaire-{old['id']}.json").write_text(json.dumps(old, ensure_ascii=False, indent=2), encoding="utf-8")
    return folder


def _templates() -> list[str]:
    # As compact JSON text: json.loads of it is a faster deep copy than copy.deepcopy.
    return [json.dumps(json.loads(p.read_text(encoding="utf-8")), ensure_ascii=False) for p in sorted((ROOT / "examples").glob("QuestionnaireResponse-*.json"))]


def _codesystem_url() -> str:
    return json.loads((ROOT / "valuesets" / "CodeSystem-zelfdiagnose-antwoord.json").read_text(encoding="utf-8"))["url"]


def _answers(items: list, found: list) -> None:
    for item in items:
        for answer in item.get("answer") or ():
            found.append(answer)
            _answers(answer.get("item") or (), found)
        _answers(item.get("item") or (), found)


def _reference(rnd: random.Random, canonical: str, wrong_type: str) -> str | None:
    url, _, version = canonical.partition("|")
    roll = rnd.random()
    if roll < 0.70:
        return canonical
    if roll < 0.80:
        return url
    if roll < 0.88:
        return f"{url}|{OLD_VERSION}"  # resolves for the self-diagnosis only
    if roll < 0.92:
        return f"{url}|9.9.9"
    if roll < 0.96:
        return wrong_type
    return None


def _response(rnd: random.Random, template: str, k: int, wrong_type: str) -> dict:
    response = json.loads(template)
    if rnd.random() < 0.03:
        response.pop("id", None)
    else:
        response["id"] = f"r{k}"
    reference = _reference(rnd, response["questionnaire"], wrong_type)
    if reference is None:
        response.pop("questionnaire", None)
    else:
        response["questionnaire"] = reference
    if rnd.random() < 0.10:
        answers: list = []
        _answers(response.get("item") or (), answers)
        booleans = [a for a in answers if "valueBoolean" in a]
        if booleans:
            chosen = rnd.choice(booleans)
            chosen["valueBoolean"] = not chosen["valueBoolean"]
    if rnd.random() < 0.05 and response.get("item"):
        response["item"].pop(rnd.randrange(len(response["item"])))
    return response


def lines(n: int, *, broken: float = 0.02, seed: int = 20261203):
    """n NDJSON lines (bytes, without their line end)."""
    rnd = random.Random(seed)
    templates = _templates()
    wrong_type = _codesystem_url()
    for k in range(n):
        if rnd.random() < broken:
            line = rnd.choice(BROKEN)
        else:
            line = json.dumps(_response(rnd, rnd.choice(templates), k, wrong_type), ensure_ascii=False).encode("utf-8")
        yield line + (b"\r" if rnd.random() < 0.01 else b"")


def write_export(folder: Path, n: int, *, broken: float = 0.02, seed: int = 20261203) -> list[Path]:
    """n lines over three files in `folder`; returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sub").mkdir(exist_ok=True)
    files = [folder / "QuestionnaireResponse.ndjson", folder / "deel twee.ndjson", folder / "sub" / "QuestionnaireResponse-3.jsonl"]
    shares = [int(n * 0.80), int(n * 0.15)]
    shares.append(n - sum(shares))
    source = lines(n, broken=broken, seed=seed)
    for path, share in zip(files, shares):
        with open(path, "wb") as handle:
            for k in range(share):
                handle.write(next(source))
                if k < share - 1 or path.suffix == ".ndjson":
                    handle.write(b"\n")
    return files
