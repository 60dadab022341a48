"""`fhirrug paths QUESTIONNAIRE`: the decision table of a Questionnaire."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import exitcodes
from ._common import cli_errors, diagnostic, emit_stream, fail, output_option, package_option


def _answer_text(answer: dict) -> str:
    if "boolean" in answer:
        return answer.get("display") or str(answer["boolean"]).lower()
    if "code" in answer:
        return f"{answer['code']}" + (f" ({answer['display']})" if answer.get("display") else "")
    return str(answer.get("value"))


def render_route(number: int, route: dict) -> str:
    steps = " > ".join(
        f"{s['linkId']}=" + "|".join(_answer_text(a) for a in [s["answer"], *s.get("alternatives", [])]) for s in route["steps"]
    ) or "(no questions)"
    outcomes = ", ".join(f"{o['code']}" + (f" {o['display']}" if o.get("display") else "") for o in route["outcomes"]) or "no outcome"
    return f"{number:>4}. {steps}\n      => {outcomes}\n"


def render_end(count: int, truncated: bool, unreached: list[dict]) -> str:
    lines = [f"{count} routes" + (" (truncated)" if truncated else "")]
    if unreached:
        lines.append("Outcomes no route reaches:")
        lines += [f"  {o['system']}|{o['code']}" + (f" {o['display']}" if o.get("display") else "") for o in unreached]
    return "\n".join(lines) + "\n"


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def stream_json(walk, write) -> None:
    """The json table, route by route: {"items": {linkId: {"text"?}}, "routes": [{"steps":
    [{"linkId", "answer", "alternatives"?}], "outcomes": [Coding]}], "unreached", "truncated",
    "issues"}. Each question's text is given once, in `items` (a route's steps name items by
    linkId), and each route is one line, written as it is found: memory does not grow with the
    routes. Outcomes stay whole Codings, as `evaluate` reports them and `unreached` lists them."""
    items = {}
    for node, _ in walk.gating:
        items.setdefault(node.linkId, {} if node.text is None else {"text": node.text})
    write('{"items": ' + _dumps(items) + ',\n "routes": [')
    first = True
    for route in walk:
        steps = [{key: value for key, value in step.items() if key != "text"} for step in route["steps"]]
        write(("\n  " if first else ",\n  ") + _dumps({"steps": steps, "outcomes": route["outcomes"]}))
        first = False
    write(("\n " if not first else "") + '],\n "unreached": ' + _dumps(walk.unreached) + ',\n "truncated": ' + _dumps(walk.truncated)
          + ',\n "issues": ' + _dumps([i.to_dict() for i in walk.issues]) + "}\n")


@click.command()
@click.argument("questionnaire", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "-f", "output_format", type=click.Choice(("text", "json"), case_sensitive=False), default="text", show_default=True)
@package_option("Package whose CodeSystems define outcomes and whose ValueSets give choice answers (a folder with or without fhirrug.toml, or a .tgz); default: the project around the Questionnaire, else the embedded content.")
@click.option("--max-routes", type=click.IntRange(1), default=None, help="Stop after this many routes (default 50000); the table then says it is cut off.")
@output_option()
def paths(questionnaire, output_format, package, max_routes, output):
    """Print every route through QUESTIONNAIRE's enableWhen logic and the outcomes it ends in.

    For Questionnaires whose gating questions are boolean or choice. The json form is
    {"items": {linkId: {"text"}}, "routes": [{"steps": [{"linkId", "answer"}], "outcomes": [...]}],
    "unreached": [...]}, one route a line; both forms are written as the routes are found.
    Exit codes: 0 the table was produced and every outcome is reachable, 1 some outcome is
    unreachable (or the table was cut off), 2 usage.
    """
    with cli_errors():
        from ..engine import Engine
        from ..engine.paths import MAX_ROUTES, RouteWalk
        from ..jsonio import read_json
        from ..manifest import embedded_root, find_project_root
        from ..package import load_context

        data, issues = read_json(questionnaire)
        if data is None or data.get("resourceType") != "Questionnaire":
            fail(f"{questionnaire}: not a Questionnaire" + (f" ({issues[0].message})" if issues else ""))
        root = package or find_project_root(questionnaire.resolve().parent) or embedded_root()
        engine = Engine(load_context(root).package)
        plan = engine.plan_for(data)
        walk = RouteWalk(plan, max_routes or MAX_ROUTES)
        with emit_stream(output) as write:
            if output_format.lower() == "json":
                stream_json(walk, write)
            else:
                for number, route in enumerate(walk, 1):
                    write(render_route(number, route))
                write(render_end(walk.count, walk.truncated, walk.unreached))
        for issue in plan.issues + walk.issues:
            if issue.severity in ("error", "warning") and issue.code != "Questionnaire_Q_EnableWhen_After":
                diagnostic(f"{issue.severity} {issue.code}: {issue.message} @ {issue.expression}")
        raise SystemExit(exitcodes.FINDINGS if walk.unreached or walk.truncated else exitcodes.OK)
