"""JUnit XML for CI dashboards (GitLab, Jenkins, Azure, GitHub test reporters).

One `<testsuite name="fhirrug validate">` inside `<testsuites>`, one `<testcase>` per file
validated, so clean files show as passed; package-level findings (no file) form one extra
testcase named `(package)`. Each finding is written `file:line:col: severity code expression: message`.
A testcase fails (one `<failure>`, listing every failing finding) on
fatal and error findings, and on warnings with `--strict`; other findings go to `<system-out>`.
Written with xml.etree, which escapes; characters XML 1.0 cannot carry become U+FFFD.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from ._report import Report, clean_text, display_path

PACKAGE_CASE = "(package)"


def _line(issue) -> str:
    """`file:line:col: severity code expression: message`, as the text report writes a finding."""
    from .text import location

    where = f" {issue.expression}" if issue.expression else ""
    return clean_text(f"{location(issue)}: {issue.severity} {issue.code}{where}: {issue.message}")


def render(report: Report) -> str:
    issues_by_case: dict[str, list] = {}
    for issue in report.sorted_issues():
        issues_by_case.setdefault(display_path(issue.file) or PACKAGE_CASE, []).append(issue)
    names = list(dict.fromkeys([display_path(f) or PACKAGE_CASE for f in report.files] + list(issues_by_case)))
    cases = [(name, issues_by_case.get(name, [])) for name in names]

    failing = report.failing_severities()
    suites = ET.Element("testsuites", name="fhirrug")
    suite = ET.SubElement(suites, "testsuite", name="fhirrug validate")
    failures = 0
    for name, issues in cases:
        case = ET.SubElement(suite, "testcase", classname="fhirrug.validate", name=clean_text(name))
        bad = [i for i in issues if i.severity in failing]
        other = [i for i in issues if i.severity not in failing]
        if bad:
            failures += 1
            first = bad[0]
            failure = ET.SubElement(
                case,
                "failure",
                type=clean_text(first.code),
                message=clean_text(f"{len(bad)} finding{'s' if len(bad) != 1 else ''}: {first.code}: {first.message}"),
            )
            failure.text = "\n".join(_line(i) for i in bad)
        if other:
            ET.SubElement(case, "system-out").text = "\n".join(_line(i) for i in other)
    for element in (suites, suite):
        element.set("tests", str(len(cases)))
        element.set("failures", str(failures))
        element.set("errors", "0")
    suite.set("skipped", "0")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
