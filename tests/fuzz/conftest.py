"""The fuzz suite: Hypothesis mutants of the package's own files (mutants.py) through validate and
evaluate (harness.py). Bounded here; `scripts/fuzz.py --minutes N` is the long run."""

from __future__ import annotations

import os

import pytest

# Every mutant is new: the model stage's verdict cache would only fill ~/.cache.
os.environ.setdefault("FHIRRUG_NO_CACHE", "1")


@pytest.fixture(scope="module")
def project():
    import harness

    copy = harness.Project()
    yield copy
    copy.close()
