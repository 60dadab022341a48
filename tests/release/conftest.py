from __future__ import annotations

from pathlib import Path

import pytest

from release_tree import write_tree
from sekmet_fixture import start_server, stop_server


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A fresh small content tree (see release_tree.py)."""
    return write_tree(tmp_path / "content")


@pytest.fixture(scope="module")
def fhir_server(tmp_path_factory):
    """sekmet-fhir on 127.0.0.1 with the standard R4 url/version search parameters (see sekmet_server.py)."""
    server = start_server(tmp_path_factory.mktemp("sekmet"))
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def plain_fhir_server(tmp_path_factory):
    """sekmet-fhir 0.1.1 as shipped: no search by url on canonical resources."""
    server = start_server(tmp_path_factory.mktemp("sekmet-plain"), "--plain")
    try:
        yield server
    finally:
        stop_server(server)
