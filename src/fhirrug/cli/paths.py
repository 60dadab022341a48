"""`fhirrug paths QUESTIONNAIRE`: the decision table of a Questionnaire."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import exitcodes
from ._common import cli_errors, diagnostic, emit, fail, output_option, package_option


def _answer_text(answer: dict) -> str:
    if "boolean" in answer:
        return answer.get("display") or str(answer["boolean"]).lower()
    if "code" in answer:
        return f"{answer['code']}" + (f" ({answer['display']})" if answer.get("display") else "")
    return str(answer.get("value"))


def render_text(table: dict) -> str:
    lines = []
    for number, route in enumerate(table["routes"], 1):
        steps = " > ".join(
            f"{s['linkId']}=" + "|".join(_answer_text(a) for a in [s["answer"], *s.get("alternatives", [])]) for s in route["steps"]
        ) or "(no questions)"
        outcomes = ", ".join(f"{o['code']}" + (f" {o['display']}" if o.get("display") else "") for o in route["outcomes"]) or "no outcome"
        lines.append(f"{number:>4}. {steps}\n      => {outcomes}")
    lines.append(f"{len(table['routes'])} routes" + (" (truncated)" if table.get("truncated") else ""))
    if table["unreached"]:
        lines.append("Outcomes no route reaches:")
        lines += [f"  {o['system']}|{o['code']}" + (f" {o['display']}" if o.get("display") else "") for o in table["unreached"]]
    return "\n".join(lines) + "\n"


@click.command()
@click.argument("questionnaire", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "-f", "output_format", type=click.Choice(("text", "json"), case_sensitive=False), default="text", show_default=True)
@package_option("Package whose CodeSystems define outcomes and whose ValueSets give choice answers (a folder with or without fhirrug.toml, or a .tgz); default: the project around the Questionnaire, else the embedded content.")
@click.option("--max-routes", type=click.IntRange(1), default=None, help="Stop after this many routes (default 50000); the table then says it is cut off.")
@output_option()
def paths(questionnaire, output_format, package, max_routes, output):
    """Print every route through QUESTIONNAIRE's enableWhen logic and the outcomes it ends in.

    For Questionnaires whose gating questions are boolean or choice. The json form is
    {"routes": [{"steps": [{"linkId", "text", "answer"}], "outcomes": [...]}], "unreached": [...]}.
    Exit codes: 0 the table was produced and every outcome is reachable, 1 some outcome is
    unreachable (or the table was cut off), 2 usage.
    """
    with cli_errors():
        from ..engine import Engine
        from ..engine.paths import MAX_ROUTES, routes
        from ..jsonio import read_json
        from ..manifest import embedded_root, find_project_root
        from ..package import load_context

        data, issues = read_json(questionnaire)
        if data is None or data.get("resourceType") != "Questionnaire":
            fail(f"{questionnaire}: not a Questionnaire" + (f" ({issues[0].message})" if issues else ""))
        root = package or find_project_root(questionnaire.resolve().parent) or embedded_root()
        engine = Engine(load_context(root).package)
        plan = engine.plan_for(data)
        result = routes(plan, max_routes or MAX_ROUTES)
        for issue in plan.issues + result.issues:
            if issue.severity in ("error", "warning") and issue.code != "Questionnaire_Q_EnableWhen_After":
                diagnostic(f"{issue.severity} {issue.code}: {issue.message} @ {issue.expression}")
        table = result.to_dict()
        if output_format.lower() == "json":
            emit(json.dumps(table, ensure_ascii=False, indent=2) + "\n", output)
        else:
            emit(render_text(table), output)
        raise SystemExit(exitcodes.FINDINGS if result.unreached or result.truncated else exitcodes.OK)
