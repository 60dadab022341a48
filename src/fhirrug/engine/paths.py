"""Every route through a Questionnaire's enableWhen logic, and the outcomes it ends in.

The decision table a content owner reviews against the source: starting from an empty response,
take the first enabled, unanswered *gating* question in questionnaire order (a boolean or choice
item that some enableWhen refers to), branch on each of its answers (boolean: ja, nee; choice:
each answerOption, or each code of a package answerValueSet), and repeat until no gating
question is left open. Answers of one question that leave the same items enabled make one
branch (the others are listed as `alternatives`). Questions nothing depends on do not change the route and are not asked.
Each route ends in the enabled outcomes (`fhirrug.model.Item.outcome`, as `Evaluation.outcomes`).
The Questionnaire is read through the plan's model: options, outcomes and targets are the ones
every other command uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..issues import WARNING, Issue
from .plan import Node, Plan
from .run import _enable_loop, _Walk

MAX_ROUTES = 50_000


@dataclass
class PathsResult:
    routes: list[dict] = field(default_factory=list)
    unreached: list[dict] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    truncated: bool = False

    def to_dict(self) -> dict:
        return {"routes": self.routes, "unreached": self.unreached, "truncated": self.truncated, "issues": [i.to_dict() for i in self.issues]}


def _choices(plan: Plan, node: Node) -> list[tuple[dict, dict]] | None:
    """(answer dict as in a response, step answer as in the table) for each possible answer."""
    if node.type == "boolean":
        return [({"valueBoolean": True}, {"boolean": True, "display": "ja"}), ({"valueBoolean": False}, {"boolean": False, "display": "nee"})]
    if node.type not in ("choice", "open-choice"):
        return None
    options = node_options(plan, node)
    if not options:
        return None
    return [({"valueCoding": c}, {"system": c.get("system"), "code": c.get("code"), "display": c.get("display")}) for c in options]


def node_options(plan: Plan, node: Node) -> list[dict]:
    """The Codings a choice question offers: its answerOptions, else its package answerValueSet."""
    options = node.model.options
    out = options.coding_dicts() if options is not None else []
    if not out and node.answer_value_set and plan.valuesets:
        codes = plan.valuesets.get(node.answer_value_set) or plan.valuesets.get(node.answer_value_set.partition("|")[0])
        out = [{"system": s, "code": c} for s, c in sorted(codes or ())]
    return out


def routes(plan: Plan, max_routes: int = MAX_ROUTES) -> PathsResult:
    result = PathsResult()
    if not plan.flat:
        result.issues.append(Issue("fhirrug-paths-repeating", WARNING, "the Questionnaire has repeating groups; routes are computed for their first repetition only", plan.file, "Questionnaire"))
    n = len(plan.nodes)
    targets = {c.target.index for node in plan.nodes for c in (node.conds or ()) if c.target is not None}
    gating: list[tuple[Node, list]] = []
    for node in plan.nodes:
        if node.index not in targets:
            continue
        choices = _choices(plan, node)
        if choices is None:
            result.issues.append(Issue("fhirrug-paths-not-enumerable", WARNING, f"enableWhen refers to '{node.linkId}' of type {node.type}, whose answers cannot be enumerated; routes treat it as unanswered", plan.file, node.expression))
            continue
        gating.append((node, choices))
    walk = _Walk(plan, plan.file)
    where = [None] * n

    def flags(answers: list) -> list:
        if plan.enable is not None:
            return plan.enable(answers)
        return _enable_loop(plan, answers, where, walk)

    answers: list = [None] * n
    reached: set[int] = set()
    stack_steps: list[dict] = []

    def dfs() -> None:
        if len(result.routes) >= max_routes:
            result.truncated = True
            return
        enabled = flags(answers)
        for node, choices in gating:
            if enabled[node.index] and answers[node.index] is None:
                break
        else:
            outcomes = [dict(o.outcome) for o in plan.outcome_nodes if enabled[o.index]]
            reached.update(o.index for o in plan.outcome_nodes if enabled[o.index])
            result.routes.append({"steps": list(stack_steps), "outcomes": outcomes})
            return
        # Answers that leave the same items enabled lead to the same route: one branch, the
        # other answers listed as alternatives.
        groups: dict[tuple, list] = {}
        for answer, step in choices:
            answers[node.index] = [answer]
            groups.setdefault(tuple(flags(answers)), []).append((answer, step))
        for group in groups.values():
            answer, step = group[0]
            answers[node.index] = [answer]
            entry = {"linkId": node.linkId, "text": node.text, "answer": step}
            if len(group) > 1:
                entry["alternatives"] = [s for _, s in group[1:]]
            stack_steps.append(entry)
            dfs()
            stack_steps.pop()
        answers[node.index] = None

    dfs()
    result.unreached = [dict(o.outcome) for o in plan.outcome_nodes if o.index not in reached]
    if result.truncated:
        result.issues.append(Issue("fhirrug-paths-truncated", WARNING, f"more than {max_routes} routes; the table is cut off", plan.file, "Questionnaire"))
    return result
