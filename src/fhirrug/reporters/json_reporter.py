"""JSON for programs: a versioned envelope.

    {"fhirrug": "0.1.0", "issues": [{"code", "severity", "message", "file", "expression", "line", "column"}],
     "summary": {"files", "fatal", "error", "warning", "information"}, "files": [...]}

`fhirrug` is the version of the tool that wrote it; consumers should check its major version.
Files are relative to the working directory when they lie under it. `line` and `column` (1-based,
column in Unicode code points) are null when the position is unknown.
"""

from __future__ import annotations

import json

from ._report import Report, display_path


def render(report: Report) -> str:
    envelope = {
        "fhirrug": report.version,
        "issues": [
            {
                "code": i.code,
                "severity": i.severity,
                "message": i.message,
                "file": display_path(i.file),
                "expression": i.expression,
                "line": i.line or None,
                "column": i.column or None,
            }
            for i in report.sorted_issues()
        ],
        "summary": dict(report.summary),
        "files": [display_path(f) for f in report.files],
    }
    return json.dumps(envelope, ensure_ascii=False, indent=2) + "\n"
