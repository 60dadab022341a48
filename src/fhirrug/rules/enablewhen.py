"""Static analysis of a Questionnaire's enableWhen logic, shared by the enableWhen rules.

`analyse(questionnaire, package)` reads the Questionnaire's model (`fhirrug.model`: every
enableWhen already resolved to its target, typed answer, compiled comparison and problems) and
answers what only the whole logic can tell: which items form a dependency cycle, and which items
no combination of answers can ever enable.

"Never enabled" is decided per target question: the answers one question can hold are
enumerated (unanswered; one value, or for a repeating question every subset, drawn from its
answerOption / answerValueSet when those close the list, else from the values the conditions
mention plus one value none of them mention), and the conditions on that question are tested
against each with the engine's own comparisons (`Condition.test`). Conditions on different
questions are taken as independent; a condition this analysis cannot decide (a date ordering, a
type error reported elsewhere) counts as satisfiable, so the warning is only given when it is
certain.

The analysis is kept in the package's memo (`Package.memo`): every rule of a validation run asks
in turn, and it is built once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from ..model import Condition, Item, QuestionnaireModel, model_for
from ..model.graph import components
from ..model.types import NO_ANSWERS, ORDERING, UNORDERED, typed, value_key
from ..model.types import allowed_answer_keys as _allowed_for
from ..package import Package
from .terminology import resolve, valueset_codes

NOT_ORDERABLE = frozenset(UNORDERED)
_MAX_SUBSET_DOMAIN = 10
_MAX_VALUESET_DOMAIN = 500
_OTHER: dict = {}  # an answer with a value no condition mentions: equals nothing, but is an answer


def allowed_answer_keys(target: Item) -> set[str] | None:
    """The enableWhen.answer[x] types that can compare with this item's answers (None: unknown type)."""
    return _allowed_for(target.type, target.option_keys)


@dataclass
class Analysis:
    tree: QuestionnaireModel
    conditions: list[Condition]
    by_owner: dict[int, list[Condition]] = field(default_factory=dict)
    cycles: list[list[Item]] = field(default_factory=list)
    never_enabled: dict[int, str] = field(default_factory=dict)  # item.order -> reason


def analyse(questionnaire: dict, package: Package | None = None) -> Analysis:
    """The enableWhen analysis of a Questionnaire (kept in `package`'s memo when there is one)."""
    memo = getattr(package, "memo", None)
    if memo is None:
        return _analyse(questionnaire, package)
    return memo("enablewhen-analysis", questionnaire, lambda q: _analyse(q, package))


def _analyse(questionnaire: dict, package: Package | None) -> Analysis:
    model = model_for(questionnaire, package)
    analysis = Analysis(model, model.conditions)
    for condition in model.conditions:
        analysis.by_owner.setdefault(condition.owner.order, []).append(condition)
    analysis.cycles = _cycles(model)
    analysis.never_enabled = _never_enabled(analysis, package)
    return analysis


def _cycles(model: QuestionnaireModel) -> list[list[Item]]:
    """Strongly connected components of 'depends on' (enableWhen targets and the parent item)."""
    edges: dict[int, list[int]] = {n.order: [] for n in model.items}
    for node in model.items:
        if node.parent is not None:
            edges[node.order].append(node.parent.order)
    for condition in model.conditions:
        if condition.checked_target is not None:
            edges[condition.owner.order].append(condition.target.order)
    cyclic = [sorted(c) for c in components(edges, edges.__getitem__) if len(c) > 1]
    return [[model.items[i] for i in component] for component in cyclic]


def _holds(condition: Condition, state: tuple) -> bool | None:
    """Is the condition true for a question holding `state` (a tuple of answers)? None: undecidable."""
    if condition.operator == "exists":
        return (len(state) > 0) == condition.answer if isinstance(condition.answer, bool) else None
    if condition.value is None or condition.broken:
        return None
    if condition.operator in ORDERING and condition.value[0] != "number":
        return None
    return condition.test(list(state))


def _key(answer: dict) -> tuple:
    """What makes two candidate answers the same (their typed value)."""
    return next(((k, typed(k, v)) for k, v in answer.items()), ())


def _is_number(answer: dict) -> bool:
    return any((typed(k, v) or ("",))[0] == "number" for k, v in answer.items())


def _never_enabled(analysis: Analysis, package: Package | None) -> dict[int, str]:
    tree = analysis.tree
    in_cycle = {n.order for cycle in analysis.cycles for n in cycle}
    own: dict[int, bool] = {}  # node.order -> its own enableWhen can be satisfied
    reasons: dict[int, str] = {}
    busy: set[int] = set()
    domains: dict[int, list[dict] | None] = {}

    def effective(node: Item) -> bool:
        return own_possible(node) and all(own_possible(a) for a in node.ancestors())

    def own_possible(node: Item) -> bool:
        key = node.order
        if key in own:
            return own[key]
        if key in busy or key in in_cycle:
            return True  # a cycle is reported on its own; do not guess here
        busy.add(key)
        try:
            result, reason = _decide(node)
        finally:
            busy.discard(key)
        own[key] = result
        if not result:
            reasons[key] = reason
        return result

    def _decide(node: Item) -> tuple[bool, str]:
        conditions = analysis.by_owner.get(node.order, [])
        if not conditions:
            return True, ""
        behaviour = node.item.get("enableBehavior")
        by_target: dict[int, list[Condition]] = {}
        for condition in conditions:
            if condition.problem is None and condition.checked_target is not None:
                by_target.setdefault(condition.target.order, []).append(condition)
        if behaviour == "any":
            if any(c.problem is not None or c.checked_target is None for c in conditions):
                return True, ""
            for group in by_target.values():
                for condition in group:
                    if _satisfiable(condition.target, [condition]):
                        return True, ""
            return False, "none of its enableWhen conditions can ever be true"
        for group in by_target.values():
            target = group[0].target
            if not _satisfiable(target, group):
                return False, _explain(target, group)
        return True, ""

    def _explain(target: Item, group: list[Condition]) -> str:
        name = target.link_id
        if target.type in NO_ANSWERS or not effective(target):
            return f"it needs an answer to '{name}', which is itself never enabled"
        if len(group) == 1:
            return f"its condition on '{name}' asks for an answer that question cannot have"
        return f"its {len(group)} conditions on '{name}' contradict each other"

    def _satisfiable(target: Item, group: list[Condition]) -> bool:
        answerable = target.type not in NO_ANSWERS and effective(target)
        if not answerable:
            states: list[tuple] = [()]
        else:
            domain = domain_of(target, group)
            if domain is None:
                return True
            if target.repeats:
                if len(domain) > _MAX_SUBSET_DOMAIN:
                    return True
                states = [tuple(s) for r in range(len(domain) + 1) for s in combinations(domain, r)]
            else:
                states = [()] + [(v,) for v in domain]
        for state in states:
            verdicts = [_holds(c, state) for c in group]
            if any(v is None for v in verdicts):
                return True
            if all(verdicts):
                return True
        return False

    def domain_of(target: Item, group: list[Condition]) -> list[dict] | None:
        """The answers worth trying for `target`; None when the analysis cannot say."""
        if any(c.operator in ORDERING and (c.value or ("",))[0] != "number" for c in group):
            return None
        closed = closed_options(target)
        wanted = [c for c in group if c.operator != "exists" and c.value is not None]
        if closed is not None:
            relevant = [o for o in closed if any(c.matches(o) for c in wanted) or any(c.operator in ORDERING and _is_number(o) for c in group)]
            spare = next((o for o in closed if o not in relevant), None)
            domain = relevant + ([spare] if spare is not None else [])
            if target.type == "open-choice":
                domain.append({"valueString": "\x00other"})
            return domain
        domain: list[dict] = []
        for c in wanted:
            if c.value[0] == "number":
                domain.append({"valueDecimal": c.value[1]})
                domain += [{"valueDecimal": c.value[1] + d} for d in (-1.0, -0.5, 0.5, 1.0)]
            else:
                domain.append({value_key(c.answer_key): c.answer})
        if target.type == "boolean":
            domain = [{"valueBoolean": True}, {"valueBoolean": False}]
        else:
            domain.append(_OTHER)
        unique: dict[tuple, dict] = {}
        for answer in domain:
            unique.setdefault(_key(answer), answer)
        return list(unique.values())

    def closed_options(target: Item) -> list[dict] | None:
        """The complete list of answers a choice question offers, when the package can tell."""
        if target.order in domains:
            return domains[target.order]
        options: list[dict] | None = None
        if target.type in ("choice", "open-choice"):
            listed = target.options.answers() if target.options is not None else []
            if listed:
                options = listed
            elif target.answer_value_set is not None:
                found = resolve(package, target.answer_value_set, "ValueSet")
                codes = valueset_codes(package, found.data) if found is not None else None
                if codes is not None and len(codes) <= _MAX_VALUESET_DOMAIN:
                    options = [{"valueCoding": {"system": s, "code": c}} for s, c in sorted(codes)]
        domains[target.order] = options
        return options

    for node in tree.items:
        own_possible(node)
    return reasons


def offered_codings(target: Item, package: Package | None) -> list[dict] | None:
    """The Codings a choice question offers, all of them: its answerOption.valueCoding, or the
    expansion of an answerValueSet found in the package. None when the question has no list
    this package can compute."""
    listed = [o for o in (target.options.coding_dicts() if target.options is not None else []) if typed("valueCoding", o) is not None]
    if listed:
        return listed
    if target.answer_value_set is not None:
        found = resolve(package, target.answer_value_set, "ValueSet")
        if found is not None:
            codes = valueset_codes(package, found.data)
            if codes is not None:
                return [{"system": s, "code": c} for s, c in sorted(codes)]
    return None


__all__ = ["Analysis", "Condition", "NOT_ORDERABLE", "ORDERING", "allowed_answer_keys", "analyse", "offered_codings"]
