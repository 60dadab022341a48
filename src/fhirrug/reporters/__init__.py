"""Reporters: pure functions from a `Report` (issues, summary, files, version) to text.

`REPORTER_BY_NAME` maps a `--format` name to its reporter, so adding a format means adding a
module and one line here; the command never changes. Every reporter is stdlib-only at import
time (the text reporter imports rich only when it colours), so importing this package is cheap.
"""

from __future__ import annotations

from typing import Callable

from ._report import Report, display_path, level_counts, summary_line
from .junit import render as render_junit
from .json_reporter import render as render_json
from .operationoutcome import render as render_operationoutcome
from .sarif import render as render_sarif
from .text import render as render_text

Reporter = Callable[[Report], str]

REPORTER_BY_NAME: dict[str, Reporter] = {
    "text": render_text,
    "json": render_json,
    "operationoutcome": render_operationoutcome,
    "sarif": render_sarif,
    "junit": render_junit,
}

__all__ = ["REPORTER_BY_NAME", "Report", "Reporter", "display_path", "level_counts", "summary_line"]
