"""Evaluating one QuestionnaireResponse against a compiled Plan.

Two walkers share every check:
- the flat walker (every item has at most one instance: no repeating item has children) keeps
  answers and enabled flags in arrays indexed by the item's position in the plan and decides
  enabledness in the plan's precomputed dependency order: no per-item objects, no recursion
  over conditions;
- the instance walker (repeating groups, repeating questions with nested items) builds one
  instance per repetition and resolves each enableWhen to the nearest occurrence of its target,
  scoped to the repetition of the item being evaluated.

Issues are created only when something is wrong; the common, valid response allocates little
beyond the two arrays.

Before either walker, `Plan.evaluate` tries the plan's fast path (`fast.py`, flat plans only): a
walker specialised per Questionnaire for the ordinary response, which declines anything
unusual; the general walkers here then evaluate the response from scratch.

This module reads plans (`plan.py`) but does not import them: `plan.py` imports the walkers.
"""

from __future__ import annotations

import copy
from itertools import chain, compress
from typing import Any

from typing import TYPE_CHECKING

from ..issues import ERROR, FATAL, INFORMATION, WARNING, Issue
from ..jsontypes import bad_coding_part, coding_key, is_hashable_scalar, json_type
from ..jsontypes import shown as _shown
from ..model.constraints import check_item
from ..model.types import VALUE_TYPE_NAMES, VALUE_TYPE_OK
from .findings import QR
from .findings import missing as _missing
from .findings import not_enabled as _not_enabled

if TYPE_CHECKING:  # annotations only: plan.py imports this module
    from .plan import Node, Plan
EMPTY: list = []
_PROGRESS = 2  # an instance whose enabledness is being decided (cycle guard)


class Evaluation:
    """The result of evaluating one QuestionnaireResponse.

    enabled: linkIds of the items enabled (in at least one repetition), in questionnaire order.
    enabled_at: linkId -> the positions at which it is enabled; a position is the tuple of
      repetition numbers (0-based) of the repeating items around it, () outside repeating groups.
    issues: Issue records (the same record as `fhirrug validate`).
    outcomes: the enabled display items with a code, as {"system", "code", "display"}, in
      questionnaire order.
    valid: no issue of severity error or fatal.
    flags: flat plans: each item's enabledness by plan index (`plan.nodes`); None with repeating groups.
    """

    __slots__ = ("plan", "response", "file", "_raw", "_issues", "_flags", "_instances", "_item_enabled", "_outcomes", "_any", "_general")

    def __init__(self, plan: Plan, response: Any, issues: list, file: str = "", flags=None, instances=None, item_enabled=None, outcomes=None, any_flags=None, general=None):
        self.plan = plan
        self.response = response
        self.file = file
        self._raw = issues  # Issue records, or (severity, make, args): make(*args) builds one Issue, or a list of them of that severity, on first access
        self._issues: list[Issue] | None = None
        # flat: list[bool] by node index, or (inline.py) a tuple of the flags per top-level
        # item, joined into that list when first read (`flags`)
        self._flags = flags
        self._instances = instances  # general: list of (node, position, enabled)
        self._item_enabled = item_enabled  # general: id(QR item dict) -> enabled
        self._outcomes = outcomes  # the fast path: the plan's outcome dicts reached (copied on access)
        # The fast path of repeating groups (repeats.py): flags by node index, enabled in at least
        # one repetition; what is per repetition comes from the general walker, when asked.
        self._any = any_flags
        self._general = general  # [the general walker's Evaluation, once made] (see `repetitions`)

    @property
    def flags(self) -> list[bool] | None:
        """Flat plans: each item's enabledness by plan index (None: a plan with repeating groups)."""
        flags = self._flags
        if flags.__class__ is tuple:  # per top-level item (inline.py): a pipeline asking only
            flags = self._flags = list(chain.from_iterable(flags))  # .valid and .outcomes never joins them
        return flags

    @property
    def response_id(self) -> str | None:
        rid = self.response.get("id") if isinstance(self.response, dict) else None
        return rid if isinstance(rid, str) else None

    @property
    def issues(self) -> list[Issue]:
        """The issues, in the order found. Built on first access: a pipeline that only asks
        `.valid` and `.outcomes` never pays for formatting messages."""
        if self._issues is None:
            built: list[Issue] = []
            for i in self._raw:
                if type(i) is Issue:
                    built.append(i)
                    continue
                made = i[1](*i[2])
                if type(made) is list:
                    built += made
                else:
                    built.append(made)
            self._issues = built
        return self._issues

    @property
    def questionnaire(self) -> str:
        return self.plan.canonical

    @property
    def valid(self) -> bool:
        for issue in self._raw:
            severity = issue.severity if type(issue) is Issue else issue[0]
            if severity == ERROR or severity == FATAL:
                return False
        return True

    def _repetitions(self) -> Evaluation:
        return repetitions(self.plan, self.response, self.file, self._general)

    @property
    def enabled(self) -> list[str]:
        nodes = self.plan.nodes
        flags = self._flags
        if flags.__class__ is tuple:  # per top-level item (inline.py): those left out are the empty response's
            enabled: list[str] = []
            for part, (empty, links, empty_enabled) in zip(flags, self.plan.flag_parts):
                enabled += empty_enabled if part is empty else compress(links, part)
            return enabled
        if flags is not None:
            return list(compress(self.plan.link_ids, flags))
        if self._any is not None:
            return list(compress(self.plan.link_ids, self._any))
        seen = {node.index for node, _, on in self._instances or () if on}
        return [n.linkId for n in nodes if n.index in seen]

    @property
    def enabled_at(self) -> dict[str, list[tuple]]:
        if self._any is not None:
            return self._repetitions().enabled_at
        result: dict[str, list[tuple]] = {}
        if self._flags is not None:
            flags = self.flags
            for node in self.plan.nodes:
                if flags[node.index]:
                    result.setdefault(node.linkId, []).append(())
            return result
        for node, position, on in self._instances or ():
            if on:
                result.setdefault(node.linkId, []).append(position)
        return result

    def is_enabled(self, link_id: str, position: tuple = ()) -> bool:
        """Whether `link_id` is enabled (at `position` inside repeating groups)."""
        if self._flags is not None:
            node = self.plan.by_linkid.get(link_id)
            return node is not None and self.flags[node.index]
        return position in self.enabled_at.get(link_id, ())

    @property
    def outcomes(self) -> list[dict]:
        if self._outcomes is not None:
            return list(map(dict, self._outcomes)) if self._outcomes else []
        if self._flags is not None:
            flags = self.flags
            getter = self.plan.outcome_getter
            if getter is not None:
                return list(map(dict, compress(self.plan.outcome_values, getter(flags))))
            return [dict(n.outcome) for n in self.plan.outcome_nodes if flags[n.index]]
        on = {node.index for node, _, enabled in self._instances or () if enabled}
        return [dict(n.outcome) for n in self.plan.outcome_nodes if n.index in on]

    def to_dict(self, position: int | None = None) -> dict:
        return {
            "response": self.response_id if self.response_id is not None else position,
            "questionnaire": self.questionnaire,
            "valid": self.valid,
            "enabled": self.enabled,
            "outcomes": self.outcomes,
            "issues": [i.to_dict() for i in self.issues],
        }

    def item_enabled(self, item: dict, node: Node | None) -> bool | None:
        """Enabledness of one QR item dict of this response (None: not matched to the questionnaire)."""
        if self._flags is not None:
            return None if node is None else self.flags[node.index]
        if self._any is not None:
            return self._repetitions().item_enabled(item, node)
        return (self._item_enabled or {}).get(id(item))


def repetitions(plan: Plan, response: dict, file: str, kept: list) -> Evaluation:
    """The general instance walker's evaluation of a response whose repeating groups the fast
    path decided (repeats.py): what it says per repetition, and its issues. Made once, kept in
    `kept` (a one-slot list shared by the Evaluation and its lazy issue record, so that neither
    refers to the other: no reference cycle keeps a batch's responses alive)."""
    if kept[0] is None:
        kept[0] = evaluate_instances(plan, response, _Walk(plan, file))
    return kept[0]


def repetition_issues(plan: Plan, response: dict, file: str, kept: list) -> list[Issue]:
    return repetitions(plan, response, file, kept).issues


# -- checks shared by both walkers ----------------------------------------------------------


class _Walk:
    """The state of one walk: issues, the response file, and the per-answer checks."""

    __slots__ = ("plan", "file", "issues", "held")

    def __init__(self, plan: Plan, file: str):
        self.plan = plan
        self.file = file
        self.issues: list[Issue] = []
        self.held: list | None = None  # value-constraint issues until enabledness is known

    def constrain(self, node: Node, item: dict, items: list, path: str, i: int, response: dict) -> None:
        """Value constraints of one response item (model/constraints.py), held until `release`:
        they apply to enabled items only (an answer on a disabled item is NotEnabled, not more)."""
        completed = response.get("status") in ("completed", "amended")
        found = check_item(node.constraints, item, items, path, i, completed, self.plan.valuesets, self.file)
        if found:
            if self.held is None:
                self.held = []
            self.held.append((node, item, found))

    def release(self, is_enabled) -> None:
        if self.held:
            for node, item, found in self.held:
                if is_enabled(node, item):
                    self.issues += found

    def issue(self, code: str, severity: str, message: str, expression: str) -> None:
        self.issues.append(Issue(code, severity, message, self.file, expression))

    def unknown(self, link_id: Any, parent: Node | None, path: str, i: int) -> None:
        elsewhere = self.plan.by_linkid.get(link_id) if isinstance(link_id, str) else None
        if link_id is None or link_id == "":
            self.issue("Questionnaire_QR_Item_NoLinkId", ERROR, "item has no linkId", f"{path}.item[{i}]")
        elif not isinstance(link_id, str):
            self.issue("fhirrug-qr-structure", ERROR, f"linkId is a JSON {json_type(link_id)}, not a string", f"{path}.item[{i}].linkId")
        elif elsewhere is not None:
            where = f"under '{elsewhere.parent.linkId}'" if elsewhere.parent is not None else "at the top level"
            here = f"under '{parent.linkId}'" if parent is not None else "at the top level"
            self.issue("fhirrug-qr-item-wrong-group", ERROR, f"LinkId '{link_id}' belongs {where} in the questionnaire, not {here}", f"{path}.item[{i}]")
        else:
            # The Java validator reports this on the list's owner, not on the item.
            self.issue("Questionnaire_QR_Item_NotFound", ERROR, f"LinkId '{link_id}' not found in questionnaire", path)

    def answers(self, node: Node, item: dict, ans: Any, path: str, i: int, into: list) -> list | None:
        """Check an item's answer list; append the well-typed answers to `into`.

        Returns the answer dicts that carry nested items (answer.item), for the caller to walk.
        """
        here = f"{path}.item[{i}]"
        if type(ans) is not list:
            self.issue("fhirrug-qr-structure", ERROR, "answer is not a list", f"{here}.answer")
            return None
        keys = node.value_keys
        if not keys:
            if ans:
                self.issue("Questionnaire_QR_Item_Group" if node.type == "group" else "Questionnaire_QR_Item_Display", ERROR, f"Items of type '{node.type}' cannot have answers", here)
            return None
        if len(ans) > 1 and not node.repeats:
            self.issue("Questionnaire_QR_Item_OnlyOneA", ERROR, "Only one response answer item with this linkId allowed", here)
        nested = None
        key = node.main_key
        simple = len(keys) == 1 and not node.has_options and node.answer_value_set is None
        for j, a in enumerate(ans):
            if type(a) is not dict:
                self.issue("fhirrug-qr-structure", ERROR, "answer is not an object", f"{here}.answer[{j}]")
                continue
            if simple and len(a) == 1 and key in a and VALUE_TYPE_OK[key](a[key]):
                into.append(a)
                continue
            if self.answer(node, a, f"{here}.answer[{j}]"):
                into.append(a)
            if "item" in a:
                if nested is None:
                    nested = []
                nested.append((j, a))
        return nested

    def answer(self, node: Node, a: dict, here: str) -> bool:
        """The slow path for one answer: type, options, value set. True when it counts as an answer."""
        present = [k for k in a if k.startswith("value")]
        if not present:
            if "item" not in a:
                self.issue("fhirrug-qr-structure", ERROR, "answer has no value[x]", here)
            return False
        if len(present) > 1:
            self.issue("fhirrug-qr-structure", ERROR, f"answer has several value[x]: {', '.join(present)}", here)
            return False
        key = present[0]
        value = a[key]
        found = VALUE_TYPE_NAMES.get(key, key[5:])
        if key not in node.value_keys:
            expected = VALUE_TYPE_NAMES.get(node.main_key, node.type) if node.type not in ("choice", "open-choice") else "/".join(VALUE_TYPE_NAMES.get(k, k) for k in node.value_keys)
            self.issue("Questionnaire_QR_Item_WrongType", ERROR, f"Answer value must be of the type {expected} not {found}", f"{here}.value.ofType({found})")
            return False
        if not VALUE_TYPE_OK[key](value):
            self.issue("fhirrug-qr-value", ERROR, f"{key} {_shown(value)} is not a valid {found}", f"{here}.value.ofType({found})")
            return False
        if key == "valueCoding":
            return self.coding(node, value, here)
        if node.has_options and node.option_values is not None:
            probe = (key, value if not isinstance(value, dict) else value.get("reference"))
            if not is_hashable_scalar(probe[1]) or probe not in node.option_values:
                if node.type == "open-choice" and key == "valueString":
                    return True
                if not any(k == key for k, _ in node.option_values):
                    self.issue("Questionnaire_QR_Item_NoOptions", ERROR, f"Option list has no option values of type {found}", here)
                else:
                    shown = value.get("reference") if isinstance(value, dict) else value
                    self.issue("Questionnaire_QR_Item_NotInOptions", ERROR, f"The {found} {shown} is not in the set of permitted values", f"{here}.value.ofType({found})")
                return False
        return True

    def coding(self, node: Node, coding: dict, here: str) -> bool:
        system, code = coding.get("system"), coding.get("code")
        expression = f"{here}.value.ofType(Coding)"
        bad = bad_coding_part(coding)
        if bad is not None:  # untrusted JSON: a system or code that is a list or object
            self.issue("fhirrug-qr-value", ERROR, f"Coding.{bad} is a JSON {json_type(coding[bad])}, not a string", f"{expression}.{bad}")
            return False
        if node.has_options:
            if not node.options and not node.option_codes:
                self.issue("Questionnaire_QR_Item_NoOptionsCoding", ERROR, "Option list has no option values of type coding", here)
                return False
            if (system, code) in node.options or code in node.option_codes:
                return True
            self.issue("Questionnaire_QR_Item_NoCoding", ERROR, f"The code {system}::{code} is not in the set of permitted values", here)
            return False
        if node.answer_value_set is not None:
            valuesets = self.plan.valuesets
            codes = None
            if valuesets is not None:
                codes = valuesets.get(node.answer_value_set)
                if codes is None:
                    codes = valuesets.get(node.answer_value_set.partition("|")[0])
            if codes is None:
                # Not in the package: fhirrug has no terminology server, and says so.
                self.issue("fhirrug-qr-valueset-unknown", INFORMATION, f"answerValueSet {node.answer_value_set} is not in the package; the code is not checked", expression)
                return True
            if (system, code) in codes:
                return True
            if system is None:  # a code without a system names no concept: it cannot be looked up
                self.issue("Coding_has_no_system__cannot_validate", WARNING, "Coding has no system. A code with no system has no defined meaning, and it cannot be validated against the answerValueSet. A system should be provided", here)
                return True
            self.issue("Questionnaire_QR_Item_BadOption", ERROR, f"The code '{code}' in the system '{system}' is not in the options value set ({node.answer_value_set}) specified by the questionnaire", expression)
            return False
        return True

    def item_shape(self, node: Node, item: dict, ans: Any, sub: Any, path: str, i: int) -> None:
        here = f"{path}.item[{i}]"
        if ans and sub:
            self.issue("qrs-1", ERROR, "Constraint failed: qrs-1: 'Nested item can't be beneath both item and answer'", here)
        if sub and node.type != "group":
            if node.type == "display":
                self.issue("Questionnaire_QR_Item_Display", ERROR, "Items of type display should not have items", here)
            else:
                self.issue("Questionnaire_QR_Item_GroupAnswer", ERROR, "Items not of type group should not have items outside answers (use answer.item not .item)", here)

    def text(self, node: Node, text: Any, path: str, i: int) -> None:
        if text != node.text:
            self.issue("Questionnaire_QR_Item_Text", WARNING, f"If text exists, it must match the questionnaire definition for linkId {node.linkId}", f"{path}.item[{i}].text")

    def indeterminate(self, node: Node, cond, expression: str) -> None:
        self.issue(
            "fhirrug-enablewhen-indeterminate",
            WARNING,
            f"enableWhen of '{node.linkId}' on '{cond.question}' cannot compare the answer (different date precision or units); the condition is false",
            expression,
        )

    def required_missing(self, node: Node, expression: str, completed: bool) -> None:
        severity = ERROR if completed else WARNING
        self.issues.append((severity, _missing, (node, expression, severity, self.file)))

    def not_enabled(self, node: Node, path: str, i: int) -> None:
        self.issues.append((ERROR, _not_enabled, (node, path, i, self.file)))


def _items_of(walk: _Walk, items: Any, path: str) -> list | None:
    if items is None:
        return None
    if type(items) is not list:
        walk.issue("fhirrug-qr-structure", ERROR, "item is not a list", f"{path}.item")
        return None
    return items


# -- flat evaluation -----------------------------------------------------------------------


def evaluate_flat(plan: Plan, response: dict, walk: _Walk) -> Evaluation:
    n = len(plan.nodes)
    answers: list = [None] * n  # the well-typed answer dicts of each item present in the response
    where: list = [None] * n  # (path of the list holding it, position) of the item's first occurrence
    answered: list = []  # node indexes of items that carry any answer (typed right or not)
    filled: set = set()  # groups present with child items

    def visit(items: list, parent: Node | None, path: str) -> None:
        index = parent.child_by_linkid if parent is not None else plan.top_by_linkid
        last = -1
        for i, item in enumerate(items):
            if type(item) is not dict:
                walk.issue("fhirrug-qr-structure", ERROR, "item is not an object", f"{path}.item[{i}]")
                continue
            link_id = item.get("linkId")
            node = index.get(link_id) if type(link_id) is str else None
            if node is None:
                walk.unknown(link_id, parent, path, i)
                continue
            if node.constraints is not None:  # value constraints (model/constraints.py)
                walk.constrain(node, item, items, path, i, response)
            k = node.index
            if node.pos < last:
                walk.issue("Questionnaire_QR_Item_Order", ERROR, f"Structural Error: item '{node.linkId}' is out of order", f"{path}.item[{i}]")
            else:
                last = node.pos
            prev = answers[k]
            if prev is None:
                answers[k] = ()  # present; its answers follow
                where[k] = (path, i)
            elif not node.repeats:
                walk.issue("Questionnaire_QR_Item_OnlyOneI", ERROR, f"Only one response item with linkId '{node.linkId}' allowed", f"{path}.item[{i}]")
            ans = item.get("answer")
            sub = item.get("item")
            if ans is not None:
                fast_key = node.fast_key
                if fast_key is not None and type(ans) is list and len(ans) == 1:
                    # The common case: one answer holding only a well-typed value.
                    a = ans[0]
                    if type(a) is dict and len(a) == 1:
                        value = a.get(fast_key)
                        if type(value) is node.fast_type and (node.fast_options is None or coding_key(value) in node.fast_options):
                            answered.append(k)
                            # The response's own one-answer list is the answer list (never mutated).
                            answers[k] = ans if not prev else prev + ans
                            if sub is not None:
                                walk.item_shape(node, item, ans, sub, path, i)
                                inner = sub if type(sub) is list else _items_of(walk, sub, f"{path}.item[{i}]")
                                if inner:
                                    filled.add(k)
                                    visit(inner, node, f"{path}.item[{i}]")
                            text = item.get("text")
                            if text is not None and text != node.text:
                                walk.text(node, text, path, i)
                            continue
                if ans:
                    answered.append(k)
                into = answers[k] = list(prev or ())
                nested = walk.answers(node, item, ans, path, i, into)
                if nested:
                    for j, a in nested:
                        inner = _items_of(walk, a["item"], f"{path}.item[{i}].answer[{j}]")
                        if inner:
                            visit(inner, node, f"{path}.item[{i}].answer[{j}]")
            if sub is not None:
                if ans or node.type != "group":
                    walk.item_shape(node, item, ans, sub, path, i)
                inner = sub if type(sub) is list else _items_of(walk, sub, f"{path}.item[{i}]")
                if inner:
                    filled.add(k)
                    visit(inner, node, f"{path}.item[{i}]")
            text = item.get("text")
            if text is not None:
                walk.text(node, text, path, i)

    items = _items_of(walk, response.get("item"), QR)
    if items:
        visit(items, None, QR)
    # A nested function that calls itself refers to itself through its closure: a reference
    # cycle (holding the response) that only the garbage collector would free. Broken here, so
    # a batch frees each response as soon as it is done with.
    visit = None

    if plan.enable is not None:
        enabled = plan.enable(answers)
    else:
        enabled = _enable_loop(plan, answers, where, walk)
    _after(plan, response, walk, enabled, where, answered, filled)
    walk.release(lambda node, item: enabled[node.index])
    return Evaluation(plan, response, walk.issues, walk.file, flags=enabled)


def _enable_loop(plan: Plan, answers: list, where: list, walk: _Walk) -> list:
    """The generic enable pass (plans with conditions that can be indeterminate)."""
    enabled = [False] * len(plan.nodes)
    for node in plan.order:
        parent = node.parent
        if parent is not None and not enabled[parent.index]:
            continue
        conds = node.conds
        if conds is None:
            enabled[node.index] = True
            continue
        if node.any:
            on = False
            for cond in conds:
                target = cond.target
                seen = (answers[target.index] or EMPTY) if target is not None and enabled[target.index] else EMPTY
                result = cond.test(seen)
                if result:
                    on = True
                    break
                if result is None:
                    walk.indeterminate(node, cond, _path_of(where, node))
        else:
            on = True
            for cond in conds:
                target = cond.target
                seen = (answers[target.index] or EMPTY) if target is not None and enabled[target.index] else EMPTY
                result = cond.test(seen)
                if not result:
                    if result is None:
                        walk.indeterminate(node, cond, _path_of(where, node))
                    on = False
                    break
        enabled[node.index] = on
    return enabled


def _after(plan: Plan, response: dict, walk: _Walk, enabled: list, where: list, answered: list, filled: set) -> None:
    """Answers on disabled items; required items enabled and unanswered."""
    nodes = plan.nodes
    for k in answered:
        if not enabled[k]:
            path, i = where[k]
            walk.not_enabled(nodes[k], path, i)
    completed = None
    answered_set = None
    for k, p, group, node in plan.required_flat:
        # required applies only where the item is enabled and its parent is present
        if not enabled[k] or (p >= 0 and where[p] is None):
            continue
        if group:
            if k in filled:
                continue
        else:
            if answered_set is None:
                answered_set = set(answered)
            if k in answered_set:
                continue
        if completed is None:
            completed = response.get("status") in ("completed", "amended")
        walk.required_missing(node, _path_of(where, node), completed)


def _path_of(where: list, node: Node) -> str:
    """The response path of the item, else of its nearest ancestor present, else the root."""
    probe: Node | None = node
    while probe is not None:
        at = where[probe.index]
        if at is not None:
            return f"{at[0]}.item[{at[1]}]"
        probe = probe.parent
    return QR


# -- instance evaluation (repeating groups) -------------------------------------------------


class _Instance:
    __slots__ = ("node", "parent", "answers", "children", "state", "where", "answered", "filled", "position")

    def __init__(self, node: Node | None, parent: "_Instance | None", position: tuple):
        self.node = node
        self.parent = parent
        self.answers: list = []
        self.children: dict[int, list[_Instance]] = {}
        self.state: int | bool | None = None
        self.where: list = []  # (path, position) of every QR item merged into this instance
        self.answered = False
        self.filled = False
        self.position = position


def evaluate_instances(plan: Plan, response: dict, walk: _Walk) -> Evaluation:
    root = _Instance(None, None, ())
    root.state = True
    by_item: dict[int, _Instance] = {}

    def visit(items: list, parent: _Instance, path: str) -> None:
        pnode = parent.node
        index = pnode.child_by_linkid if pnode is not None else plan.top_by_linkid
        last = -1
        for i, item in enumerate(items):
            if type(item) is not dict:
                walk.issue("fhirrug-qr-structure", ERROR, "item is not an object", f"{path}.item[{i}]")
                continue
            link_id = item.get("linkId")
            node = index.get(link_id) if type(link_id) is str else None
            if node is None:
                walk.unknown(link_id, pnode, path, i)
                continue
            if node.constraints is not None:  # value constraints (model/constraints.py)
                walk.constrain(node, item, items, path, i, response)
            if node.pos < last:
                walk.issue("Questionnaire_QR_Item_Order", ERROR, f"Structural Error: item '{node.linkId}' is out of order", f"{path}.item[{i}]")
            else:
                last = node.pos
            siblings = parent.children.setdefault(node.index, [])
            if siblings and not node.repeats:
                walk.issue("Questionnaire_QR_Item_OnlyOneI", ERROR, f"Only one response item with linkId '{node.linkId}' allowed", f"{path}.item[{i}]")
            if node.scope or not siblings:
                position = parent.position + (len(siblings),) if node.scope else parent.position
                inst = _Instance(node, parent, position)
                siblings.append(inst)
            else:
                inst = siblings[0]
            inst.where.append((path, i))
            by_item[id(item)] = inst
            ans = item.get("answer")
            sub = item.get("item")
            if ans is not None:
                if ans:
                    inst.answered = True
                nested = walk.answers(node, item, ans, path, i, inst.answers)
                if nested:
                    for j, a in nested:
                        inner = _items_of(walk, a["item"], f"{path}.item[{i}].answer[{j}]")
                        if inner:
                            visit(inner, inst, f"{path}.item[{i}].answer[{j}]")
            if sub is not None:
                walk.item_shape(node, item, ans, sub, path, i)
                inner = _items_of(walk, sub, f"{path}.item[{i}]")
                if inner:
                    inst.filled = True
                    visit(inner, inst, f"{path}.item[{i}]")
            text = item.get("text")
            if text is not None:
                walk.text(node, text, path, i)

    items = _items_of(walk, response.get("item"), QR)
    if items:
        visit(items, root, QR)
    visit = None  # no reference cycle left behind (see evaluate_flat)

    # Complete the tree with an instance for every item the response leaves out, in
    # questionnaire order, so that enabledness is known for all of them.
    ordered: list[_Instance] = []

    def complete(inst: _Instance) -> None:
        children = inst.node.children if inst.node is not None else plan.top
        for child in children:
            found = inst.children.get(child.index)
            if not found:
                found = inst.children[child.index] = [_Instance(child, inst, inst.position + ((0,) if child.scope else ()))]
            for each in found:
                ordered.append(each)
                complete(each)

    complete(root)
    complete = None

    def enabled(inst: _Instance) -> bool:
        state = inst.state
        if state is True or state is False:
            return state
        if state == _PROGRESS:
            return False  # a cycle: the item reached again counts as disabled
        inst.state = _PROGRESS
        on = enabled(inst.parent)
        node = inst.node
        if on and node.conds is not None:
            on = not node.any
            for cond in node.conds:
                target = _resolve(inst, cond)
                # The target's enabledness first, answered or not: in a cycle (an item reached
                # again counts as disabled) the outcome then depends on the Questionnaire alone,
                # not on which items happen to hold answers (hypothesis found the difference).
                seen = target.answers if target is not None and enabled(target) and target.answers else EMPTY
                result = cond.test(seen)
                if result is None:
                    walk.indeterminate(node, cond, _instance_path(inst))
                if node.any and result:
                    on = True
                    break
                if not node.any and not result:
                    on = False
                    break
        inst.state = on
        return on

    completed = response.get("status") in ("completed", "amended")
    instances = []
    for inst in ordered:
        on = enabled(inst)
        instances.append((inst.node, inst.position, on))
        node = inst.node
        if inst.answered and not on:
            for path, i in inst.where:
                walk.not_enabled(node, path, i)
        parent_present = inst.parent.node is None or bool(inst.parent.where)
        if on and node.required and parent_present and not (inst.filled if node.type == "group" else inst.answered):
            walk.required_missing(node, _instance_path(inst), completed)
    item_enabled = {key: inst.state is True for key, inst in by_item.items()}
    walk.release(lambda node, item: item_enabled.get(id(item), False))
    # The instances refer to their parents and the parents to them: cut the upward links, and
    # the recursive `enabled`, so that reference counting frees them (see evaluate_flat).
    enabled = None
    for inst in ordered:
        inst.parent = None
    return Evaluation(plan, response, walk.issues, walk.file, instances=instances, item_enabled=item_enabled)


def _resolve(inst: _Instance, cond) -> _Instance | None:
    """The occurrence of the condition's target this instance sees (see docs/enablewhen-semantics.md)."""
    if cond.target is None:
        return None
    anchor = inst
    lca = cond.lca
    while anchor is not None and anchor.node is not lca:
        anchor = anchor.parent
    if anchor is None:
        return None
    for step in cond.down:
        found = anchor.children.get(step.index)
        if not found:
            return None
        anchor = found[-1] if cond.before else found[0]
    return anchor


def _instance_path(inst: _Instance) -> str:
    probe: _Instance | None = inst
    while probe is not None and probe.node is not None:
        if probe.where:
            path, i = probe.where[0]
            return f"{path}.item[{i}]"
        probe = probe.parent
    return QR


# -- what a server should store -----------------------------------------------------------


def strip_disabled(plan: Plan, response: dict, evaluation: Evaluation | None = None) -> dict:
    """A copy of `response` without the items that are disabled (and so without their answers).

    This is what a server should store. Items the questionnaire does not know are kept.
    """
    evaluation = evaluation or plan.evaluate(response)
    result = copy.deepcopy(response) if isinstance(response, dict) else response
    if not isinstance(result, dict) or not isinstance(response.get("item"), list):
        return result

    def keep(original: list, copied: list, parent: Node | None) -> list:
        index = parent.child_by_linkid if parent is not None else plan.top_by_linkid
        out = []
        for item, twin in zip(original, copied):
            if not isinstance(item, dict):
                out.append(twin)
                continue
            link_id = item.get("linkId")
            node = index.get(link_id) if type(link_id) is str else None
            on = evaluation.item_enabled(item, node)
            if on is False:
                continue
            if node is not None:
                if isinstance(item.get("item"), list):
                    twin["item"] = keep(item["item"], twin["item"], node)
                    if not twin["item"]:
                        del twin["item"]
                answers = item.get("answer")
                if isinstance(answers, list):
                    for a, b in zip(answers, twin["answer"]):
                        if isinstance(a, dict) and isinstance(a.get("item"), list):
                            b["item"] = keep(a["item"], b["item"], node)
                            if not b["item"]:
                                del b["item"]
            out.append(twin)
        return out

    result["item"] = keep(response["item"], result["item"], None)
    keep = None  # no reference cycle left behind (see evaluate_flat)
    if not result["item"]:
        del result["item"]
    return result
