"""A FHIR R4 OperationOutcome, so FHIR tooling can read fhirrug's findings (and fhirrug validates it).

Each finding becomes one `issue`:
- `severity`: the finding's severity (fatal | error | warning | information: IssueSeverity as is);
- `code`: the IssueType (required binding) the HL7 Java validator gives the same problem
  (`ISSUE_TYPE_BY_CODE`, then the globs of `ISSUE_TYPE_BY_RULE`);
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
  on any element; `diagnostics` stays free for what it is meant for;
- line and column, when known, in `http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line`
  and `...-issue-col` (valueInteger, 1-based), as the HL7 Java validator writes them.

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
LINE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"
COLUMN_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col"

# The IssueType (http://hl7.org/fhir/issue-type) of each finding, as the HL7 Java validator gives it
# for the same message key (read from its expected outcomes in fhir-test-cases and from
# QuestionnaireValidator.java), so that a pipeline switching from Java sees the same codes.
# Exact codes first, then globs; first match wins.
ISSUE_TYPE_BY_CODE: dict[str, str] = {
    # the enableWhen engine and the response checks (Java's message keys)
    "Questionnaire_QR_Item_NotEnabled": "invalid",
    "Questionnaire_QR_Item_Missing": "required",
    "Questionnaire_QR_Item_MissingGroup": "invariant",
    "Questionnaire_QR_Item_NotFound": "not-found",
    "Questionnaire_QR_Item_NoLinkId": "required",
    "Questionnaire_QR_Item_Order": "structure",
    "Questionnaire_QR_Item_OnlyOneI": "invalid",
    "Questionnaire_QR_Item_OnlyOneA": "invalid",
    "Questionnaire_QR_Item_Group": "structure",
    "Questionnaire_QR_Item_Display": "structure",
    "Questionnaire_QR_Item_GroupAnswer": "structure",
    "Questionnaire_QR_Item_WrongType": "invariant",
    "Questionnaire_QR_Item_NoCoding": "invariant",
    "Questionnaire_QR_Item_NoOptions": "invariant",
    "Questionnaire_QR_Item_NoOptionsCoding": "invariant",
    "Questionnaire_QR_Item_NotInOptions": "invariant",
    "Questionnaire_QR_Item_BadOption": "code-invalid",
    "Questionnaire_QR_Item_Text": "invalid",
    "Questionnaire_QR_Q_None": "required",
    "Questionnaire_QR_Q_NotFound": "required",
    "Questionnaire_QR_Q_WrongType": "invalid",
    "Questionnaire_Q_EnableWhen_After": "business-rule",
    "Questionnaire_Q_EnableWhen_IsInner": "business-rule",
    "Questionnaire_Q_EnableWhen_Self": "business-rule",
    "Questionnaire_Q_EnableWhen_NoTarget": "business-rule",
    "fhirrug-qr-value": "invariant",  # Java's value constraints (minValue, maxLength, ...) are invariants
    "fhirrug-qr-structure": "structure",
    "fhirrug-qr-item-wrong-group": "structure",  # Java: "Structural Error: item ... is in the wrong place"
    "fhirrug-qr-valueset-unknown": "code-invalid",  # Java: "ValueSet 'X' not found"
    "fhirrug-qr-questionnaire-mismatch": "invalid",
    "fhirrug-not-a-response": "invalid",
    "fhirrug-qr-too-deep": "too-costly",
    # stages 1-4
    "fhirrug-internal-error": "exception",
    "fhirrug-file-unreadable": "exception",
    "fhirrug-file-too-large": "too-costly",
    "fhirrug-json-too-deep": "too-costly",
    "fhirrug-package-unsafe": "security",
    "fhirrug-schema-required": "required",
    "fhirrug-model-required": "required",
    "Validation_VAL_Profile_Minimum": "structure",  # Java: "minimum required = 1, but only found 0"
    "fhirrug-schema-additional-property": "structure",  # Java: "Unrecognized property"
    "fhirrug-schema-enum": "code-invalid",
    "fhirrug-schema-pattern": "value",
    "fhirrug-empty-value": "value",
    "fhirrug-primitive-type": "value",
    "Terminology_TX_NoValid_16": "code-invalid",
    "fhirrug-model-unavailable": "not-supported",
    "fhirrug-stage-unavailable": "exception",
    # package rules
    "fhirrug-canonical-unresolved": "not-found",  # Java: "A definition for CodeSystem 'X' could not be found"
    "fhirrug-code-unknown": "code-invalid",  # Java: "Unknown code 'X' in the CodeSystem 'X'"
    "fhirrug-code-display": "invalid",  # Java: "Wrong Display Name 'X' for ..."
    "fhirrug-canonical-duplicate": "duplicate",
    "fhirrug-id-duplicate": "duplicate",
    "fhirrug-enablewhen-target-missing": "business-rule",  # = Questionnaire_Q_EnableWhen_NoTarget
}
ISSUE_TYPE_BY_RULE: tuple[tuple[str, str], ...] = (
    ("fhirrug-json-*", "structure"),
    ("fhirrug-resource-type*", "structure"),
    ("fhirrug-schema*", "structure"),
    ("fhirrug-model*", "structure"),
    ("Terminology_*", "code-invalid"),
    ("fhirrug-binding*", "code-invalid"),
    ("Questionnaire_QR_*", "invalid"),
    ("Questionnaire_Q_*", "business-rule"),
    ("fhirrug-enablewhen-*", "business-rule"),  # Java's enableWhen checks on a Questionnaire
    ("fhirrug-item-never-enabled", "business-rule"),
    ("[a-z][a-z]-[0-9]*", "invariant"),  # FHIR invariants: que-1, qrs-2, vsd-1, csd-1, cmd-1 ...
    ("[a-z][a-z][a-z]-[0-9]*", "invariant"),
    ("[a-z][a-z][a-z][a-z]-[0-9]*", "invariant"),
    ("fhirrug-*", "business-rule"),  # the package's own conventions (file names, translations, ...)
)


def issue_type(code: str, severity: str) -> str:
    """The IssueType for a rule id: its entry in ISSUE_TYPE_BY_CODE, else the first matching glob,
    else `informational` for information-level findings and `invalid` (the generic "content
    invalid") for the rest."""
    if code in ISSUE_TYPE_BY_CODE:
        return ISSUE_TYPE_BY_CODE[code]
    for pattern, kind in ISSUE_TYPE_BY_RULE:
        if fnmatch.fnmatchcase(code, pattern):
            return kind
    return "informational" if severity == INFORMATION else "invalid"


def _issue(issue) -> dict:
    extensions = [{"url": MESSAGE_ID_EXTENSION, "valueCode": issue.code}]
    file = display_path(issue.file)
    if file:
        extensions.append({"url": FILE_EXTENSION, "valueString": file})
    if issue.line:  # as the HL7 Java validator writes them: valueInteger, 1-based
        extensions.append({"url": LINE_EXTENSION, "valueInteger": issue.line})
        extensions.append({"url": COLUMN_EXTENSION, "valueInteger": issue.column or 1})
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
