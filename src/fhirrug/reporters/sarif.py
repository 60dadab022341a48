"""SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning, Azure DevOps, VS Code viewers).

One run; `tool.driver` carries name, version, informationUri and the rule metadata of every
registered rule (id, shortDescription, fullDescription, helpUri, default level) plus any id that
was reported without being registered. Each result has ruleId/ruleIndex, level
(fatal and error -> error, warning -> warning, information -> note), message.text, a
physicalLocation whose artifactLocation.uri is relative to `%SRCROOT%` (the working directory,
declared in originalUriBaseIds) with a `region` (startLine, startColumn) when the position is
known, so dashboards annotate the line, and a logicalLocation whose fullyQualifiedName is the FHIRPath
expression. Files outside the working directory get an absolute `file:` URI.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from urllib.parse import quote

from ._report import HOMEPAGE, Report, display_path

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
LEVEL_BY_SEVERITY = {"fatal": "error", "error": "error", "warning": "warning", "information": "note"}


def _artifact(file: str) -> dict:
    shown = display_path(file)
    path = Path(shown)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": quote(path.as_posix()), "uriBaseId": SRCROOT}


def _rule_descriptor(rule) -> dict:
    descriptor = {
        "id": rule.id,
        "shortDescription": {"text": rule.summary or rule.id},
        "helpUri": rule.spec or HOMEPAGE,
        "defaultConfiguration": {"level": LEVEL_BY_SEVERITY.get(rule.severity, "warning")},
    }
    doc = inspect.cleandoc(getattr(rule, "doc", "") or "")
    if doc and doc != rule.summary:
        descriptor["fullDescription"] = {"text": doc}
    return descriptor


def sarif_log(report: Report) -> dict:
    descriptors: list[dict] = []
    index: dict[str, int] = {}
    for rule in report.rules:
        if rule.id not in index:
            index[rule.id] = len(descriptors)
            descriptors.append(_rule_descriptor(rule))
    results = []
    for issue in report.sorted_issues():
        if issue.code not in index:
            index[issue.code] = len(descriptors)
            descriptors.append({"id": issue.code, "shortDescription": {"text": issue.code}, "helpUri": HOMEPAGE})
        result: dict = {
            "ruleId": issue.code,
            "ruleIndex": index[issue.code],
            "level": LEVEL_BY_SEVERITY.get(issue.severity, "warning"),
            "message": {"text": issue.message or issue.code},
        }
        location: dict = {}
        if issue.file:
            location["physicalLocation"] = {"artifactLocation": _artifact(issue.file)}
            if issue.line:
                location["physicalLocation"]["region"] = {"startLine": issue.line, "startColumn": issue.column or 1}
        if issue.expression:
            location["logicalLocations"] = [{"fullyQualifiedName": issue.expression, "kind": "element"}]
        if location:
            result["locations"] = [location]
        results.append(result)
    run = {
        "tool": {
            "driver": {
                "name": "fhirrug",
                "version": report.version,
                "semanticVersion": report.version,
                "informationUri": HOMEPAGE,
                "rules": descriptors,
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().resolve().as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(report: Report) -> str:
    return json.dumps(sarif_log(report), ensure_ascii=False, indent=2) + "\n"
