"""Properties that must hold for any input, checked with hypothesis."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from hypothesis import given, settings
from hypothesis import strategies as st

from fhirrug.release import tarsafe
from fhirrug.release.diff import diff_changes
from fhirrug.release.versions import Version, VersionError
from release_tree import questionnaire

names = st.lists(st.sampled_from(["a", "b", ".", "/", "\\", ":", "..", "package/", "C:", "~"]), max_size=12).map("".join)


@given(names)
def test_a_member_name_is_refused_or_stays_inside_the_target(name: str):
    try:
        safe = tarsafe.safe_name(name)
    except tarsafe.UnsafeArchive:
        return
    target = Path("/dest")
    resolved = PurePosixPath("/dest") / safe
    assert not PurePosixPath(safe).is_absolute()
    assert ".." not in PurePosixPath(safe).parts
    assert str(resolved).startswith(str(target) + "/")


versions = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)).map(lambda t: Version(*t))


@given(versions, st.sampled_from(["major", "minor", "patch"]))
def test_every_bump_is_greater(version: Version, part: str):
    assert version.bumped(part) > version
    assert Version.parse(str(version.bumped(part))) == version.bumped(part)


@given(versions, versions)
def test_version_order_is_total_and_agrees_with_tuples(a: Version, b: Version):
    assert (a < b) == ((a.major, a.minor, a.patch) < (b.major, b.minor, b.patch))
    assert (a < b) + (a > b) + (a.key() == b.key()) == 1


@given(st.text(max_size=12))
def test_parse_never_raises_anything_but_version_error(text: str):
    try:
        Version.parse(text)
    except VersionError:
        pass


@settings(max_examples=50)
@given(st.lists(st.sampled_from(["pijn", "been", "toelichting"]), unique=True, min_size=3, max_size=3))
def test_a_permutation_of_items_is_never_less_than_major_unless_unchanged(order: list[str]):
    old = questionnaire()
    new = questionnaire()
    by_id = {i["linkId"]: i for i in new["item"]}
    new["item"] = [by_id[l] for l in order]
    changes = diff_changes([old], [new])
    if order == ["pijn", "been", "toelichting"]:
        assert changes == []
    else:
        assert changes and all(c.kind == "item-reordered" and c.level == "major" for c in changes)
