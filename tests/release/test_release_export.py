from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug import exitcodes
from fhirrug.cli import main
from fhirrug.release import bump as bump_module
from fhirrug.release import tarsafe
from fhirrug.release.export import export
from release_tree import BASE, structural_validator

NAME = "fhirrug.test.nl-0.1.0"


@pytest.fixture(autouse=True)
def _no_epoch(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def _read(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_export_is_byte_for_byte_reproducible(tree: Path, tmp_path: Path):
    export(tree, tmp_path / "one")
    os.utime(tree / "questionnaires/Questionnaire-zelftest.json", (0, 0))  # file times never leak in
    export(tree, tmp_path / "two")
    one, two = _read(tmp_path / "one"), _read(tmp_path / "two")
    assert set(one) == {f"{NAME}.tgz", f"{NAME}.bundle.json", "SHA256SUMS"}
    assert one == two


def test_sha256sums_match_the_files(tree: Path, tmp_path: Path):
    export(tree, tmp_path / "out")
    files = _read(tmp_path / "out")
    lines = files["SHA256SUMS"].decode().splitlines()
    assert lines == sorted(lines, key=lambda l: l.split("  ")[1])
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256(files[name]).hexdigest() == digest


def test_timestamps_from_source_date_epoch_or_the_release_date(tree: Path, tmp_path: Path, monkeypatch):
    export(tree, tmp_path / "a", "npm")
    with tarfile.open(tmp_path / f"a/{NAME}.tgz") as archive:
        assert {m.mtime for m in archive} == {1795564800}  # 2026-11-25T00:00:00Z, fhirrug.toml date
        assert {(m.mode, m.uid, m.gid, m.uname, m.gname) for m in archive} == {(0o644, 0, 0, "", "")}
    with gzip.open(tmp_path / f"a/{NAME}.tgz") as _:
        pass
    assert int.from_bytes((tmp_path / f"a/{NAME}.tgz").read_bytes()[4:8], "little") == 1795564800
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    export(tree, tmp_path / "b", "npm")
    with tarfile.open(tmp_path / f"b/{NAME}.tgz") as archive:
        assert {m.mtime for m in archive} == {1700000000}


def test_npm_package_layout(tree: Path, tmp_path: Path):
    export(tree, tmp_path / "out", "npm")
    files = tarsafe.read_archive(tmp_path / f"out/{NAME}.tgz")
    assert set(files) == {
        "package/package.json",
        "package/.index.json",
        "package/CodeSystem-antwoord.json",
        "package/ValueSet-antwoord.json",
        "package/ConceptMap-uitkomst.json",
        "package/Questionnaire-zelftest.json",
        "package/example/.index.json",
        "package/example/QuestionnaireResponse-zelftest-antwoord-01.json",
    }
    manifest = json.loads(files["package/package.json"])
    assert manifest["name"] == "fhirrug.test.nl" and manifest["version"] == "0.1.0"
    assert manifest["fhirVersions"] == ["4.0.1"]
    assert manifest["dependencies"] == {"hl7.fhir.r4.core": "4.0.1"}
    assert manifest["canonical"] == BASE and manifest["url"] == BASE
    for key in ("title", "description", "author", "license", "jurisdiction"):
        assert manifest[key], key
    index = json.loads(files["package/.index.json"])
    assert index["index-version"] == 1
    entry = next(f for f in index["files"] if f["filename"] == "Questionnaire-zelftest.json")
    assert entry == {"filename": "Questionnaire-zelftest.json", "resourceType": "Questionnaire", "id": "zelftest", "url": f"{BASE}/Questionnaire/zelftest", "version": "0.1.0"}
    for f in index["files"]:
        assert json.loads(files[f"package/{f['filename']}"])["id"] == f["id"]
    # the invalid examples are not part of the package
    assert not any("fout" in name for name in files)


def test_bundle_is_a_transaction_of_conditional_updates(tree: Path, tmp_path: Path):
    export(tree, tmp_path / "out", "bundle")
    bundle = json.loads((tmp_path / f"out/{NAME}.bundle.json").read_text())
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types == ["CodeSystem", "ValueSet", "ConceptMap", "Questionnaire"]  # referred-to first; no examples
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert "id" not in resource  # the server's id is kept; a new version never overwrites an old one
        assert entry["request"]["method"] == "PUT"
        rtype, _, query = entry["request"]["url"].partition("?")
        assert rtype == resource["resourceType"]
        from urllib.parse import parse_qs

        assert parse_qs(query) == {"url": [resource["url"]], "version": [resource["version"]]}
        assert entry["fullUrl"].startswith("urn:uuid:")


def test_cli_export(tree: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(bump_module, "validate_content", structural_validator)
    result = CliRunner().invoke(main, ["export", "--root", str(tree), "--out", str(tmp_path / "out")])
    assert result.exit_code == exitcodes.OK, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([f"{NAME}.tgz", f"{NAME}.bundle.json", "SHA256SUMS"])


def test_cli_export_refuses_invalid_content(tree: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(bump_module, "validate_content", structural_validator)
    (tree / "valuesets/ValueSet-kapot.json").write_text("{", encoding="utf-8")
    result = CliRunner().invoke(main, ["export", "--root", str(tree), "--out", str(tmp_path / "out")])
    assert result.exit_code == exitcodes.FINDINGS, result.output
    assert not (tmp_path / "out").exists()


# --- reading packages back safely -------------------------------------------------------------


def _tgz(members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for info in members:
            payload = (data or {}).get(info.name)
            archive.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return raw.getvalue()


def _file(name: str, payload: bytes = b"{}") -> tuple[tarfile.TarInfo, dict]:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    return info, {name: payload}


@pytest.mark.parametrize("name", ["../evil.json", "/etc/evil.json", "package/../../evil.json", "C:/evil.json", "package\\..\\evil.json"])
def test_paths_outside_the_target_are_refused(tmp_path: Path, name: str):
    info, data = _file(name)
    path = tmp_path / "bad.tgz"
    path.write_bytes(_tgz([info], data))
    with pytest.raises(tarsafe.UnsafeArchive):
        tarsafe.extract(path, tmp_path / "dest")
    assert not (tmp_path / "evil.json").exists() and not (tmp_path / "dest").exists()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE, tarfile.CHRTYPE])
def test_links_and_special_files_are_refused(tmp_path: Path, kind):
    info = tarfile.TarInfo("package/link.json")
    info.type = kind
    info.linkname = "/etc/passwd"
    path = tmp_path / "bad.tgz"
    path.write_bytes(_tgz([info]))
    with pytest.raises(tarsafe.UnsafeArchive):
        tarsafe.read_archive(path)


def test_decompression_bomb_is_refused_on_actual_bytes(tmp_path: Path):
    info, data = _file("package/big.json", b"0" * 300_000)  # compresses to a few hundred bytes
    path = tmp_path / "bomb.tgz"
    path.write_bytes(_tgz([info], data))
    assert path.stat().st_size < 2_000
    with pytest.raises(tarsafe.UnsafeArchive, match="bytes"):
        tarsafe.read_archive(path, tarsafe.Limits(member_bytes=100_000))
    with pytest.raises(tarsafe.UnsafeArchive, match="bytes"):
        tarsafe.read_archive(path, tarsafe.Limits(total_bytes=100_000))


def test_too_many_members_is_refused(tmp_path: Path):
    members, data = [], {}
    for i in range(20):
        info, payload = _file(f"package/f{i}.json")
        members.append(info)
        data.update(payload)
    path = tmp_path / "many.tgz"
    path.write_bytes(_tgz(members, data))
    with pytest.raises(tarsafe.UnsafeArchive, match="members"):
        tarsafe.read_archive(path, tarsafe.Limits(members=10))


def test_not_an_archive_is_reported(tmp_path: Path):
    path = tmp_path / "fake.tgz"
    path.write_bytes(b"this is not gzip")
    package, issues = tarsafe.load_archive(path)
    assert [(i.code, i.severity) for i in issues] == [("fhirrug-package-unsafe", "fatal")]
    assert package.resources == []


def test_an_exported_package_loads_back(tree: Path, tmp_path: Path):
    export(tree, tmp_path / "out", "npm")
    package, issues = tarsafe.load_archive(tmp_path / f"out/{NAME}.tgz")
    assert issues == []
    assert sorted(r.data["resourceType"] for r in package.resources) == ["CodeSystem", "ConceptMap", "Questionnaire", "QuestionnaireResponse", "ValueSet"]
    written = tarsafe.extract(tmp_path / f"out/{NAME}.tgz", tmp_path / "dest")
    assert all(p.is_relative_to((tmp_path / "dest").resolve()) for p in written)
    assert (tmp_path / "dest/package/package.json").is_file()


# --- outside a project, releases kept in the repository, leftovers (issues 12 and 17) ---------


def test_cli_export_outside_a_project_refuses_unless_embedded(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["export", "--out", str(tmp_path / "out")])
    assert result.exit_code == exitcodes.USAGE, result.output
    assert "not in a fhirrug project" in result.output and "--embedded" in result.output
    assert not (tmp_path / "out").exists()
    result = CliRunner().invoke(main, ["export", "--embedded", "--no-validate", "--format", "bundle", "--out", str(tmp_path / "out")])
    assert result.exit_code == exitcodes.OK, result.output
    assert "embedded" in result.stderr  # said, not silent
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.endswith(".bundle.json")]


def test_cli_publish_outside_a_project_refuses_unless_embedded(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["publish", "--server", "http://127.0.0.1:9/fhir"])
    assert result.exit_code == exitcodes.USAGE and "not in a fhirrug project" in result.output and "--embedded" in result.output


def test_root_and_embedded_exclude_each_other(tree: Path, tmp_path: Path):
    result = CliRunner().invoke(main, ["export", "--root", str(tree), "--embedded", "--out", str(tmp_path / "out")])
    assert result.exit_code == exitcodes.USAGE


def test_cli_export_keeps_the_release_in_the_repository(tree: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(bump_module, "validate_content", structural_validator)
    result = CliRunner().invoke(main, ["export", "--root", str(tree), "--out", str(tmp_path / "out")])
    assert result.exit_code == exitcodes.OK, result.output
    kept = tree / "releases" / f"{NAME}.tgz"
    assert kept.read_bytes() == (tmp_path / f"out/{NAME}.tgz").read_bytes()
    assert "commit it" in result.stderr
    # exporting the same release again changes nothing
    again = CliRunner().invoke(main, ["export", "--root", str(tree), "--out", str(tmp_path / "again")])
    assert again.exit_code == exitcodes.OK and "commit it" not in again.stderr


def test_cli_export_never_keeps_other_content_under_a_released_version(tree: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(bump_module, "validate_content", structural_validator)
    assert CliRunner().invoke(main, ["export", "--root", str(tree), "--out", str(tmp_path / "one")]).exit_code == exitcodes.OK
    kept = (tree / "releases" / f"{NAME}.tgz").read_bytes()
    from release_tree import edit_json

    edit_json(tree / "questionnaires/Questionnaire-zelftest.json", lambda q: q["item"][0].update(text="Heeft u rugpijn?"))
    for extra in ([], ["--no-validate"]):
        result = CliRunner().invoke(main, ["export", "--root", str(tree), "--out", str(tmp_path / "two"), *extra])
        assert result.exit_code == exitcodes.OK, result.output
        assert "WARNING: this is not release 0.1.0" in result.stderr and "fhirrug bump" in result.stderr
        assert (tmp_path / "two" / f"{NAME}.tgz").read_bytes() != kept  # written, to look at
        assert (tree / "releases" / f"{NAME}.tgz").read_bytes() == kept  # never kept


def test_cli_publish_refuses_other_content_under_a_released_version(tree: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(bump_module, "validate_content", structural_validator)
    assert CliRunner().invoke(main, ["export", "--root", str(tree), "--out", str(tmp_path / "one")]).exit_code == exitcodes.OK
    from release_tree import edit_json

    edit_json(tree / "questionnaires/Questionnaire-zelftest.json", lambda q: q["item"][0].update(text="Heeft u rugpijn?"))
    result = CliRunner().invoke(main, ["publish", "--root", str(tree), "--server", "http://127.0.0.1:9/fhir"])
    assert result.exit_code == exitcodes.FINDINGS and "already released" in result.output and "nothing sent" in result.output


def test_export_removes_what_a_killed_export_left(tree: Path, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".{NAME}.bundle.json.k3j2l1.tmp"  # atomic_write's temp name, left by a SIGKILL
    stale.write_bytes(b"x" * 100_000)
    unrelated = out / ".notes.tmp"
    unrelated.write_text("mine", encoding="utf-8")
    export(tree, out)
    assert not stale.exists() and unrelated.exists()


def test_a_bundle_file_that_is_not_json_is_a_usage_error(tmp_path: Path):
    path = tmp_path / "b.json"
    path.write_text("[" * 100_000, encoding="utf-8")
    result = CliRunner().invoke(main, ["publish", "--server", "http://127.0.0.1:9/fhir", "--bundle", str(path)])
    assert result.exit_code == exitcodes.USAGE and "Traceback" not in result.output and str(path) in result.output
