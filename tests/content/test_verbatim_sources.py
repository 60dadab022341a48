"""The source passages the package ships for fhirrug-verbatim (sources/*.toml) against the seeds.

The rule compares the content with these passages at run time; here every passage is checked
against the raw seed it names, with the normalisation of the other content tests (whitespace
collapsed, line-end hyphenation rejoined, and hyphens ignored where the PDF's hyphenation is
ambiguous), independently of scripts/make_verbatim_sources.py. A stitched passage is checked
piece by piece at the seed lines it names.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "sources"


def normalise_seed(text: str) -> str:
    # as tests/content/test_terminology.py: line-end hyphenation (also a line ending in '/') rejoined, whitespace collapsed
    text = re.sub(r"(?<=[a-zà-ÿ])-[ \t]*\n\s*(?=[a-zà-ÿ])", "", text)
    text = re.sub(r"/[ \t]*\n\s*", "/", text)
    return " ".join(text.split())


def squeezed(text: str) -> str:
    return re.sub(r"[\s\-]", "", text)


def source_files() -> list[Path]:
    return sorted(SOURCES.glob("*.toml"))


@pytest.fixture(scope="module")
def seeds(shared_dir) -> Path:
    return shared_dir / "seeds"


def test_the_package_ships_passages_for_the_sources_it_quotes():
    codes = {tomllib.loads(p.read_text(encoding="utf-8"))["code"] for p in source_files()}
    assert codes == {"spreekuur-thuis", "st-antonius-rughernia", "ischias-faq-blog"}
    manifest = tomllib.loads((REPO / "fhirrug.toml").read_text(encoding="utf-8"))
    assert manifest["content"]["sources"] == "sources"


@pytest.mark.parametrize("path", source_files(), ids=lambda p: p.stem)
def test_every_passage_is_in_its_seed(seeds, path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    seed = seeds / data["seed"]
    raw = seed.read_text(encoding="utf-8")
    assert hashlib.sha256(seed.read_bytes()).hexdigest() == data["seed_sha256"]
    assert data["code"] == path.stem and data["copyright"] and data["title"]
    book = normalise_seed(raw)
    raw_lines = raw.split("\n")
    assert data["passage"]
    for passage in data["passage"]:
        text = passage["text"]
        if passage["match"] == "exact":
            assert text in book or (text[0].swapcase() + text[1:]) in book, text[:80]
        elif passage["match"] == "hyphenation":
            assert squeezed(text) in squeezed(book), text[:80]
        else:
            assert passage["match"] == "stitched"
            pieces = re.findall(r"L(\d+)(?:-L(\d+))?", passage["lines"])
            assert len(pieces) > 1
            joined = "".join(squeezed(normalise_seed("\n".join(raw_lines[int(a) - 1: int(b or a)]))) for a, b in pieces)
            # the passage is made of those seed lines, in order (the pieces may start and end mid-line)
            assert re.search(".*".join(re.escape(squeezed(text)[i: i + 40]) for i in range(0, len(squeezed(text)), 40)), joined), text[:80]


def test_passages_are_up_to_date_with_the_content(shared_dir):
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "make_verbatim_sources.py"), "--check"], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
