"""The route summaries kept between builds: a second build of the same content computes no
routes and gives the same bytes; any change of what the routes come from misses; a damaged
cache is ignored; FHIRRUG_NO_CACHE=1 keeps nothing."""

from __future__ import annotations

import copy

import pytest

from fhirrug.site import adapter, routecache
from fhirrug.site.build import build_site
from fhirrug.site.views import MAX_ROUTES, ROUTES_SHOWN

from site_helpers import ROOT


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FHIRRUG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FHIRRUG_NO_CACHE", raising=False)
    return tmp_path / "cache" / "site-routes"


def _no_routes(monkeypatch):
    def refuse(self, max_routes, shown):
        raise AssertionError("routes computed although the cache holds them")

    monkeypatch.setattr(adapter.QuestionnaireLogic, "route_summary", refuse)
    monkeypatch.setenv("FHIRRUG_WORKERS", "0")  # in this process, where the patch applies


def test_a_second_build_reads_the_routes_and_gives_the_same_bytes(cache, site, monkeypatch):
    first = build_site(ROOT, validate=False)
    stored = sorted(cache.glob("*.json"))
    assert len(stored) == 1, "one summary: the self-diagnosis (the others have no outcomes)"
    _no_routes(monkeypatch)
    second = build_site(ROOT, validate=False)
    assert second.files == first.files
    # and the same pages as a build that never saw this cache (the session's site)
    assert {k: v for k, v in second.files.items() if k != "index.html"} == {k: v for k, v in site.files.items() if k != "index.html"}


def test_what_the_routes_come_from_is_in_the_key(site):
    q = next(q for q in site.content.questionnaires if q.logic.outcomes)
    inputs = q.logic.route_inputs()
    base = routecache.key(inputs, MAX_ROUTES, ROUTES_SHOWN)
    assert base == routecache.key(copy.deepcopy(inputs), MAX_ROUTES, ROUTES_SHOWN)
    questionnaire, valuesets, codesystems = copy.deepcopy(inputs)
    first = next(i for i in questionnaire["item"] if i.get("item"))
    first["item"].pop()
    assert routecache.key([questionnaire, valuesets, codesystems], MAX_ROUTES, ROUTES_SHOWN) != base
    assert valuesets, "the self-diagnosis answers from package ValueSets"
    questionnaire, valuesets, codesystems = copy.deepcopy(inputs)
    valuesets[0][1] = valuesets[0][1][1:]
    assert routecache.key([questionnaire, valuesets, codesystems], MAX_ROUTES, ROUTES_SHOWN) != base
    assert routecache.key(inputs, MAX_ROUTES, ROUTES_SHOWN + 1) != base
    assert routecache.key(inputs, MAX_ROUTES - 1, ROUTES_SHOWN) != base


def test_a_stored_summary_reads_back_equal(cache, site):
    q = next(q for q in site.content.questionnaires if q.logic.outcomes)
    summary = q.logic.route_summary(MAX_ROUTES, ROUTES_SHOWN)
    routecache.store("k" * 64, summary)
    assert routecache.load("k" * 64) == summary
    assert summary.total > 1000 and summary.counts


def test_a_damaged_cache_is_ignored_and_replaced(cache, monkeypatch):
    first = build_site(ROOT, validate=False)
    (stored,) = cache.glob("*.json")
    stored.write_text('{"total": 3', encoding="utf-8")
    monkeypatch.setenv("FHIRRUG_WORKERS", "0")
    again = build_site(ROOT, validate=False)
    assert again.files == first.files
    assert routecache.load(stored.stem) is not None, "the damaged file was written anew"


def test_no_cache_keeps_nothing(cache, monkeypatch):
    monkeypatch.setenv("FHIRRUG_NO_CACHE", "1")
    build_site(ROOT, validate=False)
    assert not cache.exists()
