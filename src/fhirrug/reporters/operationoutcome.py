"""A FHIR R4 OperationOutcome, so FHIR tooling can read fhirrug's findings (and fhirrug validates it).

Each finding becomes one `issue`:
- `severity`: the finding's severity (fatal | error | warning | information: IssueSeverity as is);
- `code`: an IssueType (required binding) derived from the rule id by `ISSUE_TYPE_BY_RULE`;
- the rule id in the extension `http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id`
  (valueCode), where the HL7 Java validator and HAPI put their message keys: fhirrug reuses those
  keys (`Terminology_TX_NoValid_16`) and the FHIR invariant ids, so results can be compared
  one to one. (Not a `details.coding`: that needs a code system, and a system under the
  package's canonical without a CodeSystem resource would be an unresolvable canonical.)
- `details.text`: the message;
- `expression`: [the FHIRPath location] (R4's `location` is deprecated and XPath-flavoured, so it
  is not used);
- the file, in the extension `http://hl7.org/fhir/StructureDefinition/operationoutcome-file`
  (valueString): the URL the HL7 Java validator uses for the same purpose (there on the
  OperationOutcome of each file; here on each issue, because one OperationOutcome covers every
  file), so scripts written against the HL7 validator's output find it. An extension is R4-valid
  on any element; `diagnostics` stays free for what it is meant for.

R4 requires at least one issue: with no findings the single issue is
`information` / `informational` "All OK", as HL7 servers answer a clean `$validate`.
The narrative (`text`) summarises the run, so the resource also satisfies dom-6 (best practice).
"""

from __future__ import annotations

import fnmatch
import json
from html import escape

from ..issues import INFORMATION
from ._report import Report, display_path, summary_line

MESSAGE_ID_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"
FILE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-file"

# Rule id glob -> IssueType (http://hl7.org/fhir/issue-type), first match wins. The FHIR invariant
# ids (que-1, qrs-2, vsd-1 ...) are invariants; the HL7 validator keys keep their meaning.
ISSUE_TYPE_BY_RULE: tuple[tuple[str, str], ...] = (
    ("fhirrug-internal-error", "exception"),
    ("fhirrug-file-too-large", "too-costly"),
    ("fhirrug-json-too-deep", "too-costly"),
    ("fhirrug-file-unreadable", "exception"),
    ("fhirrug-json-*", "structure"),
    ("fhirrug-schema-required*", "required"),
    ("fhirrug-schema*", "structure"),
    ("fhirrug-model*", "structure"),
    ("fhirrug-resourcetype*", "structure"),
    ("fhirrug-empty-value*", "value"),
    ("fhirrug-primitive*", "value"),
    ("fhirrug-binding*", "code-invalid"),
    ("Terminology_*", "code-invalid"),
    ("*code-invalid*", "code-invalid"),
    ("*unknown-code*", "code-invalid"),
    ("*translation*", "business-rule"),
    ("*-missing", "not-found"),
    ("*not-found*", "not-found"),
    ("*unresolved*", "not-found"),
    ("*duplicate*", "duplicate"),
    ("Questionnaire_QR_*", "business-rule"),
    ("fhirrug-*", "business-rule"),
    ("[a-z][a-z]-[0-9]*", "invariant"),
    ("[a-z][a-z][a-z]-[0-9]*", "invariant"),
    ("[a-z][a-z][a-z][a-z]-[0-9]*", "invariant"),
)


def issue_type(code: str, severity: str) -> str:
    """The IssueType for a rule id: the first matching glob, else `informational` for
    information-level findings and `invalid` (the generic "content invalid") for the rest."""
    for pattern, kind in ISSUE_TYPE_BY_RULE:
        if fnmatch.fnmatchcase(code, pattern):
            return kind
    return "informational" if severity == INFORMATION else "invalid"


def _issue(issue) -> dict:
    extensions = [{"url": MESSAGE_ID_EXTENSION, "valueCode": issue.code}]
    file = display_path(issue.file)
    if file:
        extensions.append({"url": FILE_EXTENSION, "valueString": file})
    out: dict = {"extension": extensions, "severity": issue.severity, "code": issue_type(issue.code, issue.severity)}
    out["details"] = {"text": issue.message if issue.message.strip() else issue.code}
    if issue.expression.strip():
        out["expression"] = [issue.expression]
    return out


def outcome(report: Report) -> dict:
    issues = [_issue(i) for i in report.sorted_issues()]
    if not issues:
        issues = [{"severity": "information", "code": "informational", "details": {"text": "All OK"}}]
    div = f'<div xmlns="http://www.w3.org/1999/xhtml"><p>fhirrug {escape(report.version)}: {escape(summary_line(report.summary))}</p></div>'
    return {
        "resourceType": "OperationOutcome",
        "text": {"status": "generated", "div": div},
        "issue": issues,
    }


def render(report: Report) -> str:
    return json.dumps(outcome(report), ensure_ascii=False, indent=2) + "\n"
