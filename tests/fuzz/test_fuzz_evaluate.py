"""`fhirrug evaluate` on mutated responses (NDJSON, stdin, files, a Bundle) and on the example
responses against mutated Questionnaires: no internal error, no response lost, every finding
located, the exit code as documented; and a mutation of what the engine never reads changes
no evaluation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import harness
from fhirrug.engine import inline
from mutants import encode, inert_mutants, mutants, seeds_of

RESPONSES = seeds_of("QuestionnaireResponse")


def _assert_clean(tally: harness.Tally) -> None:
    assert not tally.problems, "\n".join(f"{p.kind}: {p.detail}\n  from {p.mutant}" for p in tally.problems)


@harness.bounded(30)
@given(st.lists(mutants(RESPONSES), min_size=1, max_size=8), st.sampled_from(("ndjson", "stdin", "files", "bundle")))
def test_evaluate_mutated_responses(project, batch, form):
    tally = harness.Tally()
    harness.evaluate_responses(project, batch, tally, form)
    _assert_clean(tally)


@harness.bounded(30)
@given(st.lists(mutants(RESPONSES), min_size=1, max_size=8), st.sampled_from(("ndjson", "stdin", "files", "bundle")))
def test_evaluate_mutated_responses_through_the_generated_walker(project, batch, form):
    """The same, every plan taking the generated walker (fhirrug.engine.inline) after its first
    response: batches this small never reach it otherwise."""
    keep, inline.PROMOTE_AFTER = inline.PROMOTE_AFTER, 1
    try:
        tally = harness.Tally()
        harness.evaluate_responses(project, batch, tally, form)
    finally:
        inline.PROMOTE_AFTER = keep
    _assert_clean(tally)


@pytest.fixture(scope="module")
def examples(project):
    """The example responses per Questionnaire url, as NDJSON files."""
    found = {}
    for response in RESPONSES:
        found.setdefault(response.data["questionnaire"].partition("|")[0], []).append(response)
    out = {}
    for k, (url, group) in enumerate(found.items()):
        path = project.scratch / f"examples-{k}.ndjson"
        path.write_bytes(b"".join(encode(r.data) + b"\n" for r in group))
        out[url] = (path, len(group))
    return out


@harness.bounded(20)
@given(mutant=mutants(seeds_of("Questionnaire")))
def test_evaluate_against_mutated_questionnaires(project, examples, mutant):
    tally = harness.Tally()
    harness.evaluate_against(project, mutant, *examples[mutant.seed.data["url"]], tally)
    _assert_clean(tally)


@pytest.fixture(scope="module")
def engine():
    from fhirrug.engine import Engine
    from fhirrug.package import load_package

    return Engine(load_package(harness.REPO_ROOT))


@harness.bounded(60)
@given(mutant=inert_mutants())
def test_mutating_what_the_engine_never_reads_changes_nothing(engine, mutant):
    tally = harness.Tally()
    harness.check_inert(engine, mutant, tally)
    _assert_clean(tally)
