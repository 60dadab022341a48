"""The one place where the site reads a Questionnaire's logic.

Everything the site shows about enableWhen, outcomes and routes, and every decision of the fill
page, comes through this module: the Questionnaire's model (`fhirrug.model`: items, resolved
conditions, outcomes, the one reading every command shares), the routes of `fhirrug paths`
(`fhirrug.engine.paths`) and the engine's evaluation. The pages never touch the model or a Plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..engine import Engine
from ..engine.paths import RouteWalk, node_options, routes


@dataclass(frozen=True)
class Condition:
    """One enableWhen of an item: `question` is the target linkId; `answer_key` the answer[x] name
    (`answerBoolean`, `answerCoding`, ...) and `answer` its value; `known` is False when the target
    linkId is not in the Questionnaire (the engine then sees no answer)."""

    question: str
    operator: str
    answer_key: str
    answer: Any
    known: bool


@dataclass
class ItemLogic:
    link_id: str
    type: str
    required: bool
    repeats: bool
    parent: str | None
    behavior: str  # "all" or "any" (how several conditions combine)
    conditions: tuple[Condition, ...] = ()
    dependents: list[str] = field(default_factory=list)  # linkIds whose enableWhen names this item
    outcome: dict | None = None  # {"system", "code", "display"} when the item is an outcome
    options: list[dict] = field(default_factory=list)  # the Codings a choice item offers (answerOption or package ValueSet)
    gating: bool = False  # a boolean/choice question some enableWhen refers to (a branch of the routes)


@dataclass
class Routes:
    """The decision table of `fhirrug paths`: routes as {"steps": [...], "outcomes": [...]}."""

    routes: list[dict]
    unreached: list[dict]
    truncated: bool


@dataclass
class RouteSummary:
    """The routes of `fhirrug paths`, summed up per outcome: how many routes end in each outcome
    and the shortest few of them (ties keep the table's order)."""

    total: int
    truncated: bool
    unreached: list[dict]
    counts: dict[tuple, int]  # (system, code) -> routes ending in it
    shortest: dict[tuple, list[dict]]  # (system, code) -> up to `shown` routes, shortest first


@dataclass
class FillResult:
    """One evaluation of a response on the fill page."""

    enabled: set[str]
    outcomes: list[dict]
    valid: bool
    issues: list
    response: dict  # the response without the answers of disabled items (what is stored)


class QuestionnaireLogic:
    """The logic of one Questionnaire, read from its model (and the engine's plan of it for the
    routes and the fill page)."""

    def __init__(self, engine: Engine, questionnaire: dict):
        self._engine = engine
        self._plan = engine.plan_for(questionnaire)
        plan = self._plan
        self.questionnaire = questionnaire
        self.url = plan.url
        self.canonical = plan.canonical
        self.flat = plan.flat
        self.issues = list(plan.issues)
        model = plan.model
        targets = {c.target.index for c in model.conditions if c.target is not None}
        self.items: dict[str, ItemLogic] = {}
        for item in model.items:
            if not item.link_id or item.link_id in self.items:
                continue
            conditions = []
            for condition in item.conditions:
                if condition.broken:
                    operator, key, value = "?", "", None
                else:
                    key = condition.answer_keys[0]
                    operator, value = condition.operator, condition.element[key]
                conditions.append(Condition(condition.question or "", operator, key, value, condition.target is not None))
            node = plan.nodes[item.index]
            outcome = item.outcome(plan.codesystems)
            logic = ItemLogic(
                item.link_id,
                item.type or "",
                node.required,
                item.repeats,
                item.parent.link_id or "" if item.parent is not None else None,
                "any" if item.any else "all",
                tuple(conditions),
                outcome=dict(outcome) if outcome else None,
                options=[dict(o) for o in node_options(plan, node)] if item.type in ("choice", "open-choice") else [],
                gating=item.index in targets and item.type in ("boolean", "choice", "open-choice"),
            )
            self.items[item.link_id] = logic
        for logic in self.items.values():
            for condition in logic.conditions:
                target = self.items.get(condition.question)
                if target is not None and logic.link_id not in target.dependents:
                    target.dependents.append(logic.link_id)

    @property
    def outcomes(self) -> list[tuple[str, dict]]:
        """(linkId, outcome) of every outcome item, in questionnaire order."""
        return [(link_id, logic.outcome) for link_id, logic in self.items.items() if logic.outcome]

    def routes(self, max_routes: int) -> Routes:
        result = routes(self._plan, max_routes)
        return Routes(result.routes, result.unreached, result.truncated)

    def route_summary(self, max_routes: int, shown: int) -> RouteSummary:
        table = RouteWalk(self._plan, max_routes)  # one route at a time: memory flat in the routes
        counts: dict[tuple, int] = {}
        shortest: dict[tuple, list[dict]] = {}
        for route in table:
            for outcome in route["outcomes"]:
                key = (outcome.get("system"), outcome.get("code"))
                counts[key] = counts.get(key, 0) + 1
                best = shortest.setdefault(key, [])
                if len(best) < shown or len(route["steps"]) < len(best[-1]["steps"]):
                    best.append(route)
                    best.sort(key=lambda r: len(r["steps"]))
                    del best[shown:]
        return RouteSummary(table.count, table.truncated, table.unreached, counts, shortest)

    def route_inputs(self) -> list:
        """What the routes are computed from, as JSON: the Questionnaire and the expansions and
        code systems its plan was compiled with (the key of `routecache`)."""
        plan = self._plan
        valuesets = None if plan.valuesets is None else sorted(
            [str(url), sorted(([str(s), str(c)] for s, c in codes), key=tuple) if codes is not None else None]
            for url, codes in plan.valuesets.items()
        )
        codesystems = None if plan.codesystems is None else sorted(str(c) for c in plan.codesystems)
        return [plan.questionnaire, valuesets, codesystems]

    def evaluate(self, response: dict) -> FillResult:
        plan = self._plan
        evaluation = plan.evaluate(response)
        stripped = plan.strip(response, evaluation)
        return FillResult(set(evaluation.enabled), evaluation.outcomes, evaluation.valid, list(evaluation.issues), stripped)


class PackageLogic:
    """The engine over one package: a QuestionnaireLogic per Questionnaire, compiled once."""

    def __init__(self, package: Any):
        self.engine = Engine(package)
        self._logic: dict[int, QuestionnaireLogic] = {}

    @property
    def valuesets(self) -> dict:
        """canonical -> frozenset of (system, code): the package's ValueSets the engine can expand."""
        return self.engine.valuesets

    def questionnaire(self, questionnaire: dict) -> QuestionnaireLogic:
        logic = self._logic.get(id(questionnaire))
        if logic is None:
            logic = self._logic[id(questionnaire)] = QuestionnaireLogic(self.engine, questionnaire)
        return logic
