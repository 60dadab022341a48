from __future__ import annotations

import pytest

from fhirrug.site.build import build_site

from site_helpers import ROOT


@pytest.fixture(scope="session")
def site():
    """The site of the shipped package, built once for the session."""
    return build_site(ROOT)
