"""Archive limits on tar header metadata: names, PAX and GNU long-name headers, sparse members,
all headers together, and archives without members (issue 17). The crafted archives are small
models of the hostile ones found (a 1.1 MB .tgz of 3,000 empty members with 300 KB PAX names made
`validate` use 4.4 GB): each limit must hold before tarfile reads the metadata it bounds."""

from __future__ import annotations

import io
import json
import tarfile
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug import exitcodes
from fhirrug.cli import main
from fhirrug.release import tarsafe


def _archive(path: Path, members: list[tarfile.TarInfo], fmt=tarfile.PAX_FORMAT) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz", format=fmt) as archive:
        for info in members:
            archive.addfile(info, io.BytesIO(b"") if info.isreg() else None)
    path.write_bytes(raw.getvalue())
    return path


def _empty_member(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 0
    return info


def test_huge_pax_names_are_refused(tmp_path: Path):
    # The hostile archive in miniature: empty members whose PAX header carries a 300 KB name.
    path = _archive(tmp_path / "pax-names.tgz", [_empty_member("package/" + "a" * 300_000 + f"{i}.json") for i in range(20)])
    with pytest.raises(tarsafe.UnsafeArchive, match="extended"):
        tarsafe.read_archive(path)


def test_a_pax_header_is_refused_before_it_is_read(tmp_path: Path):
    # One PAX header of 8 MB of records (a few KB compressed): refused on its declared size, so
    # the payload is never decompressed into memory.
    info = _empty_member("package/Questionnaire-x.json")
    info.pax_headers = {"comment": "x" * 8_000_000}
    path = _archive(tmp_path / "pax-big.tgz", [info])
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(tarsafe.UnsafeArchive, match="extended"):
            tarsafe.read_archive(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, f"{peak} bytes allocated to refuse an 8 MB header"


def test_gnu_long_names_are_refused(tmp_path: Path):
    path = _archive(tmp_path / "gnu-long.tgz", [_empty_member("package/" + "b" * 20_000 + ".json")], fmt=tarfile.GNU_FORMAT)
    with pytest.raises(tarsafe.UnsafeArchive, match="extended"):
        tarsafe.read_archive(path)


def test_a_member_name_longer_than_the_limit_is_refused(tmp_path: Path):
    path = _archive(tmp_path / "long-name.tgz", [_empty_member("package/" + "c" * 5_000 + ".json")])
    with pytest.raises(tarsafe.UnsafeArchive, match="member name"):
        tarsafe.read_archive(path)
    assert tarsafe.read_archive(path, tarsafe.Limits(name_bytes=10_000)) == {"package/" + "c" * 5_000 + ".json": b""}


def test_all_headers_together_are_bounded(tmp_path: Path):
    # Each PAX header is under the per-header limit; together they are not.
    members = []
    for i in range(40):
        info = _empty_member(f"package/f{i}.json")
        info.pax_headers = {"comment": "y" * 4_000}
        members.append(info)
    path = _archive(tmp_path / "many-headers.tgz", members)
    assert len(tarsafe.read_archive(path)) == 40  # within the default limits
    with pytest.raises(tarsafe.UnsafeArchive, match="headers take more than"):
        tarsafe.read_archive(path, tarsafe.Limits(header_bytes=64 * 1024))


def test_gnu_sparse_members_are_refused(tmp_path: Path):
    info = _empty_member("package/sparse.json")
    info.type = tarfile.GNUTYPE_SPARSE
    path = _archive(tmp_path / "sparse.tgz", [info], fmt=tarfile.GNU_FORMAT)
    with pytest.raises(tarsafe.UnsafeArchive, match="sparse"):
        tarsafe.read_archive(path)


def test_an_archive_held_in_memory_is_read_with_the_same_limits(tmp_path: Path):
    path = _archive(tmp_path / "pax-names.tgz", [_empty_member("package/" + "a" * 300_000 + ".json")])
    with pytest.raises(tarsafe.UnsafeArchive, match="extended"):
        tarsafe.read_bytes(path.read_bytes())


def _folder(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info


@pytest.mark.parametrize(
    "members",
    [[], [_folder("package")], [_empty_member("README.md")]],
    ids=["no members", "only a folder", "no resources"],
)
def test_an_archive_without_resources_is_a_finding(tmp_path: Path, members):
    path = _archive(tmp_path / "empty.tgz", members)
    package, issues = tarsafe.load_archive(path)
    assert package.resources == []
    assert [(i.code, i.severity) for i in issues] == [(tarsafe.CODE_EMPTY, "fatal")]
    result = CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
    assert result.exit_code == exitcodes.FINDINGS, result.output
    assert [i["code"] for i in json.loads(result.stdout)["issues"]] == [tarsafe.CODE_EMPTY]


def test_the_hostile_archive_through_validate_is_a_finding(tmp_path: Path):
    path = _archive(tmp_path / "hostile.tgz", [_empty_member("package/" + "a" * 300_000 + f"{i}.json") for i in range(20)])
    result = CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
    assert result.exit_code == exitcodes.FINDINGS, result.output
    assert [i["code"] for i in json.loads(result.stdout)["issues"]] == [tarsafe.CODE_UNSAFE]
