"""Text for people: findings grouped by file, one line each, then a summary line.

    questionnaires/Questionnaire-x.json
      error que-2 Questionnaire.item[3].linkId: linkId 'a' is used twice
    1 file, 1 error, 0 warnings, 0 information

Coloured with rich only when `report.color` is set (the command sets it on a terminal without
NO_COLOR); rich is imported only then, so plain output costs no rich import.
"""

from __future__ import annotations

from itertools import groupby

from ..issues import Issue
from ._report import Report, display_path, summary_line

_STYLE = {"fatal": "bold red", "error": "red", "warning": "yellow", "information": "cyan"}
PACKAGE_HEADING = "(package)"


def _line(issue: Issue) -> tuple[str, str, str, str]:
    return issue.severity, issue.code, issue.expression, issue.message


def _plain(report: Report) -> str:
    out: list[str] = []
    for file, group in groupby(report.sorted_issues(), key=lambda i: i.file):
        out.append(display_path(file) or PACKAGE_HEADING)
        for issue in group:
            severity, code, expression, message = _line(issue)
            where = f" {expression}" if expression else ""
            out.append(f"  {severity} {code}{where}: {message}")
    out.append(summary_line(report.summary))
    return "\n".join(out) + "\n"


def _coloured(report: Report) -> str:
    import io

    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", highlight=False, soft_wrap=True, width=200)
    for file, group in groupby(report.sorted_issues(), key=lambda i: i.file):
        console.print(Text(display_path(file) or PACKAGE_HEADING, style="bold underline"))
        for issue in group:
            severity, code, expression, message = _line(issue)
            line = Text("  ")
            line.append(severity, style=_STYLE.get(severity, ""))
            line.append(" ")
            line.append(code, style="bold")
            if expression:
                line.append(" ")
                line.append(expression, style="dim")
            line.append(": ")
            line.append(message)
            console.print(line)
    failing = report.summary.get("fatal", 0) + report.summary.get("error", 0)
    console.print(Text(summary_line(report.summary), style="bold red" if failing else "bold green"))
    return buffer.getvalue()


def render(report: Report) -> str:
    return _coloured(report) if report.color else _plain(report)
