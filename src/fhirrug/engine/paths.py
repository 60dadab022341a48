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
from typing import Iterator

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


class RouteWalk:
    """The routes of a plan one at a time, in the table's order (depth first), so that a caller
    can write each and drop it: memory does not grow with the number of routes (the self-
    diagnosis has over 20,000). Iterate once; then `unreached` and `truncated` are known, and
    `issues` holds every issue (those known before the first route: at once).

        walk = RouteWalk(plan)
        walk.gating       # [(Node, choices)]: the questions routes branch on, in order
        for route in walk: ...   # {"steps": [{"linkId", "text", "answer", "alternatives"?}], "outcomes": [...]}
        walk.unreached, walk.truncated, walk.issues
    """

    def __init__(self, plan: Plan, max_routes: int = MAX_ROUTES):
        self.plan = plan
        self.max_routes = max_routes
        self.issues: list[Issue] = []
        self.unreached: list[dict] = []
        self.truncated = False
        self.count = 0
        if not plan.flat:
            self.issues.append(Issue("fhirrug-paths-repeating", WARNING, "the Questionnaire has repeating groups; routes are computed for their first repetition only", plan.file, "Questionnaire"))
        targets = {c.target.index for node in plan.nodes for c in (node.conds or ()) if c.target is not None}
        self.gating: list[tuple[Node, list]] = []
        for node in plan.nodes:
            if node.index not in targets:
                continue
            choices = _choices(plan, node)
            if choices is None:
                self.issues.append(Issue("fhirrug-paths-not-enumerable", WARNING, f"enableWhen refers to '{node.linkId}' of type {node.type}, whose answers cannot be enumerated; routes treat it as unanswered", plan.file, node.expression))
                continue
            self.gating.append((node, choices))

    def __iter__(self) -> Iterator[dict]:
        plan = self.plan
        n = len(plan.nodes)
        walk = _Walk(plan, plan.file)
        where = [None] * n

        def flags(answers: list) -> list:
            if plan.enable is not None:
                return plan.enable(answers)
            return _enable_loop(plan, answers, where, walk)

        answers: list = [None] * n
        reached: set[int] = set()
        steps: list[dict] = []
        # Depth first, by hand: each frame is [the question branched on, its branches, the next
        # branch]. A branch is the answers that leave the same items enabled (one route, the
        # other answers listed as alternatives).
        stack: list[list] = []
        descend = True
        while True:
            if descend:
                descend = False
                if self.count >= self.max_routes:
                    self.truncated = True
                    break
                enabled = flags(answers)
                for node, choices in self.gating:
                    if enabled[node.index] and answers[node.index] is None:
                        break
                else:
                    outcomes = [dict(o.outcome) for o in plan.outcome_nodes if enabled[o.index]]
                    reached.update(o.index for o in plan.outcome_nodes if enabled[o.index])
                    self.count += 1
                    yield {"steps": list(steps), "outcomes": outcomes}
                    node = None
                if node is not None:
                    groups: dict[tuple, list] = {}
                    for answer, step in choices:
                        answers[node.index] = [answer]
                        groups.setdefault(tuple(flags(answers)), []).append((answer, step))
                    stack.append([node, list(groups.values()), 0])
            if not stack:
                break
            frame = stack[-1]
            node, branches, at = frame
            if at:
                steps.pop()
            if at < len(branches):
                frame[2] = at + 1
                answer, step = branches[at][0]
                answers[node.index] = [answer]
                entry = {"linkId": node.linkId, "text": node.text, "answer": step}
                if len(branches[at]) > 1:
                    entry["alternatives"] = [s for _, s in branches[at][1:]]
                steps.append(entry)
                descend = True
            else:
                answers[node.index] = None
                stack.pop()
        self.unreached = [dict(o.outcome) for o in plan.outcome_nodes if o.index not in reached]
        if self.truncated:
            self.issues.append(Issue("fhirrug-paths-truncated", WARNING, f"more than {self.max_routes} routes; the table is cut off", plan.file, "Questionnaire"))


def routes(plan: Plan, max_routes: int = MAX_ROUTES) -> PathsResult:
    """Every route at once (see `RouteWalk` for one at a time)."""
    walk = RouteWalk(plan, max_routes)
    table = list(walk)
    return PathsResult(table, walk.unreached, walk.issues, walk.truncated)
