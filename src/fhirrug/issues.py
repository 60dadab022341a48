"""The one record for every finding, from parsing to package rules to response evaluation."""

from __future__ import annotations

from dataclasses import dataclass

FATAL = "fatal"
ERROR = "error"
WARNING = "warning"
INFORMATION = "information"

# FHIR's IssueSeverity, most severe first.
SEVERITIES = (FATAL, ERROR, WARNING, INFORMATION)
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding. Returned, never raised.

    code: a stable id: the FHIR invariant id (`que-4`), the HL7 validator's message key
      (`Questionnaire_QR_Item_NotEnabled`) or a fhirrug id (`fhirrug-...`).
    severity: fatal | error | warning | information.
    file: the file the finding is about ('' when there is none, e.g. stdin is '-').
    expression: a FHIRPath location, e.g. `Questionnaire.item[2].enableWhen[0].question`.
    line, column: where `expression` is in `file`, 1-based (column in Unicode code points); 0 when
      unknown. Filled in by `fhirrug.positions` after validation, only for files with findings.
    """

    code: str
    severity: str
    message: str
    file: str = ""
    expression: str = ""
    # Last and defaulted, so that every positional construction above keeps working.
    line: int = 0
    column: int = 0

    def to_dict(self) -> dict:
        # By hand: dataclasses.asdict deep-copies recursively and dominated `evaluate --format json`.
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "expression": self.expression,
            "line": self.line,
            "column": self.column,
        }


def severity_rank(severity: str) -> int:
    """0 for fatal … 3 for information; lower is worse."""
    return _RANK[severity]


def is_at_least(severity: str, threshold: str) -> bool:
    return _RANK[severity] <= _RANK[threshold]


def sort_key(issue: Issue) -> tuple:
    return (issue.file, _RANK[issue.severity], issue.expression, issue.code)
