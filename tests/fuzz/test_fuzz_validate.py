"""`fhirrug validate` on mutants of every file of the package: no internal error, every finding
located (file, and a FHIRPath expression unless it is about the file as a whole), the exit code
as documented, the file listed in the report."""

from __future__ import annotations

from hypothesis import given

import harness
from mutants import mutants, seeds_of


def _assert_clean(tally: harness.Tally) -> None:
    assert not tally.problems, "\n".join(f"{p.kind}: {p.detail}\n  from {p.mutant}" for p in tally.problems)


@harness.bounded(25)
@given(mutants(seeds_of("Questionnaire", "CodeSystem", "ValueSet", "ConceptMap", "StructureDefinition")))
def test_validate_mutated_content(project, mutant):
    tally = harness.Tally()
    harness.validate_one(project, mutant, tally)
    _assert_clean(tally)


@harness.bounded(25)
@given(mutants(seeds_of("QuestionnaireResponse")))
def test_validate_mutated_responses(project, mutant):
    tally = harness.Tally()
    harness.validate_one(project, mutant, tally)
    _assert_clean(tally)
