"""Static analysis of a Questionnaire's enableWhen logic, shared by the enableWhen rules.

`analyse(questionnaire, package)` resolves every enableWhen once (target, answer type, value)
and answers: which conditions point nowhere, at the item itself or inside it, after it; which
items form a dependency cycle; and which items no combination of answers can ever enable.

"Never enabled" is decided per target question: the answers one question can hold are
enumerated (unanswered; one value, or for a repeating question every subset, drawn from its
answerOption / answerValueSet when those close the list, else from the values the conditions
mention plus one value none of them mention), and the conditions on that question are tested
against each. Conditions on different questions are taken as independent; a condition this
analysis cannot decide (a date ordering, a type error reported elsewhere) counts as satisfiable,
so the warning is only given when it is certain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from ..package import Package
from .terminology import resolve, valueset_codes
from .walk import ItemNode, ItemTree, dicts, item_tree, text

ANSWER_KEYS = (
    "answerBoolean",
    "answerDecimal",
    "answerInteger",
    "answerDate",
    "answerDateTime",
    "answerTime",
    "answerString",
    "answerCoding",
    "answerQuantity",
    "answerReference",
)
ORDERING = frozenset({">", "<", ">=", "<="})
NOT_ORDERABLE = frozenset({"answerBoolean", "answerCoding", "answerReference"})
NO_ANSWERS = frozenset({"group", "display"})

# answerOption.value[x] -> the enableWhen.answer[x] that compares with it
_OPTION_TO_ANSWER = {
    "valueInteger": "answerInteger",
    "valueDate": "answerDate",
    "valueTime": "answerTime",
    "valueString": "answerString",
    "valueCoding": "answerCoding",
    "valueReference": "answerReference",
}
_FIXED_ANSWER_KEYS = {
    "boolean": {"answerBoolean"},
    "decimal": {"answerDecimal", "answerInteger"},
    "integer": {"answerInteger", "answerDecimal"},
    "date": {"answerDate"},
    "dateTime": {"answerDateTime"},
    "time": {"answerTime"},
    "string": {"answerString"},
    "text": {"answerString"},
    "url": {"answerString"},
    "quantity": {"answerQuantity"},
    "reference": {"answerReference"},
    "attachment": set(),
}
_MAX_SUBSET_DOMAIN = 10
_MAX_VALUESET_DOMAIN = 500
_OTHER = ("other",)


def answer_of(enable_when: dict) -> tuple[str, Any] | None:
    """(answer[x] key, value) of an enableWhen, or None when it has none."""
    for key in ANSWER_KEYS:
        if enable_when.get(key) is not None:
            return key, enable_when[key]
    return None


def allowed_answer_keys(target: dict) -> set[str] | None:
    """The enableWhen.answer[x] types that can compare with this item's answers (None: unknown type)."""
    item_type = text(target.get("type"))
    if item_type in ("choice", "open-choice"):
        keys = {_OPTION_TO_ANSWER[k] for _, option in dicts(target.get("answerOption")) for k in option if k in _OPTION_TO_ANSWER}
        if not keys:
            keys = {"answerCoding"}
        if item_type == "open-choice":
            keys = keys | {"answerString"}
        return keys
    if item_type in NO_ANSWERS:
        return set()
    return _FIXED_ANSWER_KEYS.get(item_type) if item_type else None


def normalise(key: str, value: Any) -> tuple | None:
    """A comparable form of an answer or option value; None when malformed."""
    if key.endswith("Boolean"):
        return ("boolean", value) if isinstance(value, bool) else None
    if key.endswith(("Integer", "Decimal")):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return ("number", float(value))
    if key.endswith("Coding"):
        if not isinstance(value, dict) or not isinstance(value.get("code"), str):
            return None
        return ("coding", text(value.get("system")), value["code"])
    if key.endswith("Reference"):
        return ("reference", text(value.get("reference"))) if isinstance(value, dict) else None
    if key.endswith("Quantity"):
        if not isinstance(value, dict):
            return None
        return ("quantity", value.get("value"), text(value.get("system")), text(value.get("code")))
    kind = key.removeprefix("answer").removeprefix("value").lower()
    return (kind, value) if isinstance(value, str) else None


def values_equal(answer: tuple, wanted: tuple) -> bool:
    """An answer equals the enableWhen value (Coding: system and code; code only without system)."""
    if answer[0] != wanted[0]:
        return False
    if wanted[0] == "coding":
        return answer[2] == wanted[2] and (wanted[1] is None or answer[1] == wanted[1])
    return answer == wanted


def _compare(answer: tuple, operator: str, wanted: tuple) -> bool:
    if answer[0] != "number" or wanted[0] != "number":
        return False
    a, b = answer[1], wanted[1]
    return {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[operator]


@dataclass(eq=False)
class Condition:
    """One enableWhen of one item, resolved against the item tree."""

    owner: ItemNode
    index: int
    element: dict
    path: str  # Questionnaire.item[0].enableWhen[1]
    question: str | None
    operator: str | None
    answer_key: str | None
    answer: Any
    target: ItemNode | None = None
    problem: str | None = None  # "no-target", "self", "inner", "type" (why it cannot be decided)

    @property
    def wanted(self) -> tuple | None:
        return normalise(self.answer_key, self.answer) if self.answer_key else None

    def holds(self, state: tuple) -> bool | None:
        """Is the condition true for a question holding `state` (a tuple of answers)? None: undecidable."""
        operator = self.operator
        if operator == "exists":
            return bool(state) == self.answer if isinstance(self.answer, bool) else None
        wanted = self.wanted
        if wanted is None:
            return None
        if operator == "=":
            return any(values_equal(a, wanted) for a in state)
        if operator == "!=":
            return not any(values_equal(a, wanted) for a in state)
        if operator in ORDERING:
            if wanted[0] != "number":
                return None
            return any(_compare(a, operator, wanted) for a in state)
        return None


@dataclass
class Analysis:
    tree: ItemTree
    conditions: list[Condition]
    by_owner: dict[int, list[Condition]] = field(default_factory=dict)
    cycles: list[list[ItemNode]] = field(default_factory=list)
    never_enabled: dict[int, str] = field(default_factory=dict)  # node.order -> reason


_CACHE: list = []  # [(questionnaire, package, analysis)]: the rules of one resource share one analysis


def analyse(questionnaire: dict, package: Package | None = None) -> Analysis:
    """The enableWhen analysis of a Questionnaire (the last one is cached: every rule asks in turn)."""
    if _CACHE and _CACHE[0][0] is questionnaire and _CACHE[0][1] is package:
        return _CACHE[0][2]
    analysis = _analyse(questionnaire, package)
    _CACHE[:] = [(questionnaire, package, analysis)]
    return analysis


def _analyse(questionnaire: dict, package: Package | None) -> Analysis:
    tree = item_tree(questionnaire)
    conditions: list[Condition] = []
    for node in tree.nodes:
        for index, element in dicts(node.item.get("enableWhen")):
            answer = answer_of(element)
            condition = Condition(
                owner=node,
                index=index,
                element=element,
                path=f"{node.path}.enableWhen[{index}]",
                question=text(element.get("question")),
                operator=text(element.get("operator")),
                answer_key=answer[0] if answer else None,
                answer=answer[1] if answer else None,
            )
            _resolve_target(condition, node, tree)
            conditions.append(condition)
    analysis = Analysis(tree, conditions)
    for condition in conditions:
        analysis.by_owner.setdefault(condition.owner.order, []).append(condition)
    analysis.cycles = _cycles(tree, conditions)
    analysis.never_enabled = _never_enabled(analysis, package)
    return analysis


def _resolve_target(condition: Condition, node: ItemNode, tree: ItemTree) -> None:
    question = condition.question
    if question is None:
        condition.problem = "no-target"
        return
    if any(d.link_id == question for d in node.descendants()):
        condition.problem = "inner"
        return
    if node.link_id == question:
        condition.problem = "self"
        return
    target = tree.by_link_id.get(question)
    if target is None:
        condition.problem = "no-target"
        return
    condition.target = target
    allowed = allowed_answer_keys(target.item)
    if condition.operator != "exists" and allowed is not None and condition.answer_key not in allowed:
        condition.problem = "type"
    elif condition.operator == "exists" and not isinstance(condition.answer, bool):
        condition.problem = "type"
    elif target.type in NO_ANSWERS:
        condition.problem = "type"


def _cycles(tree: ItemTree, conditions: list[Condition]) -> list[list[ItemNode]]:
    """Strongly connected components of 'depends on' (enableWhen targets and the parent item)."""
    edges: dict[int, list[int]] = {n.order: [] for n in tree.nodes}
    for node in tree.nodes:
        if node.parent is not None:
            edges[node.order].append(node.parent.order)
    for condition in conditions:
        if condition.target is not None:
            edges[condition.owner.order].append(condition.target.order)
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for start in edges:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            recursed = False
            successors = edges[v]
            while i < len(successors):
                w = successors[i]
                i += 1
                if w not in index:
                    work.append((v, i))
                    work.append((w, 0))
                    recursed = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if recursed:
                continue
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return [[tree.nodes[i] for i in component] for component in components]


def _never_enabled(analysis: Analysis, package: Package | None) -> dict[int, str]:
    tree = analysis.tree
    in_cycle = {n.order for cycle in analysis.cycles for n in cycle}
    own: dict[int, bool] = {}  # node.order -> its own enableWhen can be satisfied
    reasons: dict[int, str] = {}
    busy: set[int] = set()
    domains: dict[int, list[tuple] | None] = {}

    def effective(node: ItemNode) -> bool:
        return own_possible(node) and all(own_possible(a) for a in node.ancestors())

    def own_possible(node: ItemNode) -> bool:
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

    def _decide(node: ItemNode) -> tuple[bool, str]:
        conditions = analysis.by_owner.get(node.order, [])
        if not conditions:
            return True, ""
        behaviour = node.item.get("enableBehavior")
        by_target: dict[int, list[Condition]] = {}
        for condition in conditions:
            if condition.problem is None and condition.target is not None:
                by_target.setdefault(condition.target.order, []).append(condition)
        if behaviour == "any":
            if any(c.problem is not None or c.target is None for c in conditions):
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

    def _explain(target: ItemNode, group: list[Condition]) -> str:
        name = target.link_id
        if target.type in NO_ANSWERS or not effective(target):
            return f"it needs an answer to '{name}', which is itself never enabled"
        if len(group) == 1:
            return f"its condition on '{name}' asks for an answer that question cannot have"
        return f"its {len(group)} conditions on '{name}' contradict each other"

    def _satisfiable(target: ItemNode, group: list[Condition]) -> bool:
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
            verdicts = [c.holds(state) for c in group]
            if any(v is None for v in verdicts):
                return True
            if all(verdicts):
                return True
        return False

    def domain_of(target: ItemNode, group: list[Condition]) -> list[tuple] | None:
        """The answers worth trying for `target`; None when the analysis cannot say."""
        if any(c.operator in ORDERING and (c.wanted or ("",))[0] != "number" for c in group):
            return None
        closed = closed_options(target)
        wanted = [w for w in (c.wanted for c in group if c.operator != "exists") if w is not None]
        if closed is not None:
            relevant = [o for o in closed if any(values_equal(o, w) for w in wanted) or any(_orderable(o, c) for c in group)]
            spare = next((o for o in closed if o not in relevant), None)
            domain = relevant + ([spare] if spare is not None else [])
            if target.type == "open-choice":
                domain.append(("string", "\x00other"))
            return domain
        domain: list[tuple] = []
        for w in wanted:
            domain.append(w)
            if w[0] == "number":
                domain += [("number", w[1] + d) for d in (-1.0, -0.5, 0.5, 1.0)]
        if target.type == "boolean":
            domain = [("boolean", True), ("boolean", False)]
        else:
            domain.append(_OTHER)
        unique: list[tuple] = []
        for value in domain:
            if value not in unique:
                unique.append(value)
        return unique

    def _orderable(option: tuple, condition: Condition) -> bool:
        return condition.operator in ORDERING and option[0] == "number"

    def closed_options(target: ItemNode) -> list[tuple] | None:
        """The complete list of answers a choice question offers, when the package can tell."""
        if target.order in domains:
            return domains[target.order]
        options: list[tuple] | None = None
        if target.type in ("choice", "open-choice"):
            listed = []
            for _, option in dicts(target.item.get("answerOption")):
                for key, answer_key in _OPTION_TO_ANSWER.items():
                    if key in option:
                        value = normalise(answer_key, option[key])
                        if value is not None:
                            listed.append(value)
            if listed:
                options = listed
            elif isinstance(target.item.get("answerValueSet"), str):
                found = resolve(package, target.item["answerValueSet"], "ValueSet")
                codes = valueset_codes(package, found.data) if found is not None else None
                if codes is not None and len(codes) <= _MAX_VALUESET_DOMAIN:
                    options = [("coding", s, c) for s, c in sorted(codes)]
        domains[target.order] = options
        return options

    for node in tree.nodes:
        own_possible(node)
    return reasons


def offered_codings(target: dict, package: Package | None) -> tuple[list[tuple], bool] | None:
    """The Codings a choice question offers and whether that list is known to be complete.

    From answerOption.valueCoding, or the expansion of an answerValueSet found in the package.
    None when the question has no list this package can compute.
    """
    listed = [normalise("valueCoding", o.get("valueCoding")) for _, o in dicts(target.get("answerOption")) if "valueCoding" in o]
    listed = [v for v in listed if v is not None]
    if listed:
        return listed, True
    canonical = target.get("answerValueSet")
    if isinstance(canonical, str):
        found = resolve(package, canonical, "ValueSet")
        if found is not None:
            codes = valueset_codes(package, found.data)
            if codes is not None:
                return [("coding", s, c) for s, c in sorted(codes)], True
    return None


__all__ = ["Analysis", "Condition", "analyse", "answer_of", "allowed_answer_keys", "offered_codings", "values_equal"]
