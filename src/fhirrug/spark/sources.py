"""Which NDJSON files a Spark job reads, and the name each record carries for its file.

Local paths are listed here, as `fhirrug evaluate` lists them (a file as given; a folder's
*.ndjson and *.jsonl files, recursively, sorted), so that a record's `file` is the same string
in both. A folder that also holds documents (.json, .xml), which `fhirrug evaluate` would read
too, is refused rather than half read. Paths with a scheme (hdfs://, s3a://, abfss://, dbfs:/ …) are left to Spark, and their
records carry the path Spark reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..engine.batch import NDJSON_SUFFIXES
from . import SparkError

# Spark's file sources skip names starting with '_' or '.' (its own _SUCCESS, .crc files), even
# when they are given explicitly: such a file would be lost without a word.
_HIDDEN = re.compile(r"^[_.]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
GLOB = "*.{" + ",".join(s.lstrip(".") for s in NDJSON_SUFFIXES) + "}"
DOCUMENT_SUFFIXES = (".json", ".xml")  # what `fhirrug evaluate` reads from a folder besides NDJSON


class SourceError(SparkError):
    """An input Spark cannot read as NDJSON; the message names it."""


def is_remote(name: str) -> bool:
    """A URI Spark resolves itself (not a local path, not file:)."""
    return bool(_SCHEME.match(name)) and not name.startswith("file:")


@dataclass
class Sources:
    paths: list[str] = field(default_factory=list)  # what Spark is asked to read
    names: dict[str, str] = field(default_factory=dict)  # resolved local path -> record file name

    def name_for(self, spark_path: str) -> str:
        """The record's file for a path as Spark reports it (`file:/a/b%20c.ndjson`)."""
        if spark_path.startswith("file:"):
            local = str(Path(unquote(urlparse(spark_path).path)).resolve())
            return self.names.get(local, local)
        return spark_path


def list_sources(inputs: list[str]) -> Sources:
    """The files to read for `inputs`; SourceError for anything that is not NDJSON."""
    sources = Sources()
    for name in inputs:
        if name == "-":
            raise SourceError("-: standard input cannot be distributed; write it to an NDJSON file first")
        if is_remote(name):
            sources.paths.append(name)
            continue
        path = Path(unquote(urlparse(name).path)) if name.startswith("file:") else Path(name)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in NDJSON_SUFFIXES)
            skipped = sorted(p for p in path.rglob("*") if p.suffix in DOCUMENT_SUFFIXES and p.is_file())
            if skipped:
                raise SourceError(f"{skipped[0]}: a JSON or XML document, not NDJSON ({len(skipped)} in {path}); --spark reads NDJSON files only: evaluate documents without --spark")
        elif path.is_file():
            if path.suffix not in NDJSON_SUFFIXES:
                raise SourceError(f"{path}: not an NDJSON file ({', '.join(NDJSON_SUFFIXES)}); --spark reads NDJSON files only: evaluate it without --spark")
            files = [path]
        else:
            raise SourceError(f"{name}: no such file or folder")
        for file in files:
            if _HIDDEN.match(file.name):
                raise SourceError(f"{file}: Spark skips files whose name starts with '_' or '.'; rename it to evaluate it")
            resolved = str(file.resolve())
            if resolved in sources.names:
                raise SourceError(f"{file}: given twice (also as {sources.names[resolved]})")
            sources.names[resolved] = str(file)
            sources.paths.append(resolved)
    return sources
