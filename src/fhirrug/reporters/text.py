"""Text for people: one line per finding, `file:line:col:` first as compilers and linters write
it (editors and terminals jump to it), in document order per file, then a summary line.

    questionnaires/Questionnaire-x.json:41:19: error que-2 Questionnaire.item[3].linkId: linkId 'a' is used twice
    (package): information fhirrug-x: a finding about no file
    1 file, 1 error, 0 warnings, 0 information

Coloured with rich only when `report.color` is set (the command sets it on a terminal without
NO_COLOR); rich is imported only then, so plain output costs no rich import.
"""

from __future__ import annotations

from ..issues import Issue
from ._report import Report, display_path, summary_line

_STYLE = {"fatal": "bold red", "error": "red", "warning": "yellow", "information": "cyan"}
PACKAGE_HEADING = "(package)"


def location(issue: Issue) -> str:
    """`file:line:col`, `file` when the position is unknown, `(package)` without a file."""
    file = display_path(issue.file) or PACKAGE_HEADING
    return f"{file}:{issue.line}:{issue.column}" if issue.line else file


def _plain(report: Report) -> str:
    out: list[str] = []
    for issue in report.sorted_issues():
        where = f" {issue.expression}" if issue.expression else ""
        out.append(f"{location(issue)}: {issue.severity} {issue.code}{where}: {issue.message}")
    out.append(summary_line(report.summary))
    return "\n".join(out) + "\n"


def _coloured(report: Report) -> str:
    import io

    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", highlight=False, soft_wrap=True, width=200)
    for issue in report.sorted_issues():
        line = Text(location(issue), style="bold")
        line.append(": ")
        line.append(issue.severity, style=_STYLE.get(issue.severity, ""))
        line.append(" ")
        line.append(issue.code, style="bold")
        if issue.expression:
            line.append(" ")
            line.append(issue.expression, style="dim")
        line.append(": ")
        line.append(issue.message)
        console.print(line)
    failing = report.summary.get("fatal", 0) + report.summary.get("error", 0)
    console.print(Text(summary_line(report.summary), style="bold red" if failing else "bold green"))
    return buffer.getvalue()


def render(report: Report) -> str:
    return _coloured(report) if report.color else _plain(report)
