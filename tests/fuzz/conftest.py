"""The fuzz suite: Hypothesis mutants of the package's own files (mutants.py) through validate and
evaluate (harness.py). Bounded here; `scripts/fuzz.py --minutes N` is the long run."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# Every mutant is new: the model stage's verdict cache would only fill ~/.cache.
os.environ.setdefault("FHIRRUG_NO_CACHE", "1")

# Bounded: few examples, no deadline (the machine is shared), the big mutants allowed.
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example], derandomize=False)


@pytest.fixture(scope="module")
def project():
    import harness

    copy = harness.Project()
    yield copy
    copy.close()
