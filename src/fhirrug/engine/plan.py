"""Compiling a Questionnaire into a Plan: the model's items as engine nodes, dependency order,
the enable pass as generated code, the fast path.

The Questionnaire is read once, by the model layer (`fhirrug.model`): item tree, resolved
enableWhen targets, typed answers and their compiled comparisons, answer options, outcomes. A
Plan adds what evaluation needs: per-level linkId indexes, the answer keys and fast-path types of
each item, the dependency order, and generated code. Compiling happens once per Questionnaire;
every response to it reuses the plan. The Questionnaire's own problems that matter to evaluation
(unknown targets, cycles, que-12, que-7, operators on the wrong type) are collected in
`Plan.issues`, under the codes `fhirrug validate` uses for them (`fhirrug.model.problems`), with
`Questionnaire.item[...]` expressions; they are reported once, not per response.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from ..issues import ERROR, FATAL, WARNING, Issue
from ..jsontypes import json_type, shown
from ..model import QuestionnaireModel, build
from ..model import problems as P
from ..model.compare import never
from ..model.constraints import check_response
from ..model.types import ITEM_VALUE_KEYS, VALUE_PYTHON_TYPES, VALUE_TYPE_NAMES, VALUE_TYPE_OK  # noqa: F401 - re-exported

from .fast import FALLBACK, compile_fast
from .inline import promoting
from .repeats import compile_repeats
from .run import QR, Evaluation, _Walk, evaluate_flat, evaluate_instances, repetition_issues, strip_disabled

_never = never


# Items plus enableWhen conditions beyond which a plan is not compiled to Python code (and so has
# no fast path): CPython's compiler is superlinear on long functions and long `and` chains, so a
# 30,000-condition Questionnaire took seconds to compile. The package's largest has 218.
GENERATE_LIMIT = 5000


class Cond:
    """One compiled enableWhen: the model's condition with the engine's view of its target."""

    __slots__ = ("target", "test", "expression", "question", "lca", "down", "before", "ew", "model")

    def __init__(self, target, test, expression, question, model=None):
        self.target = target  # Node or None (unknown linkId: condition never true, except != / exists=false)
        self.test = test
        self.expression = expression
        self.question = question
        self.lca = None  # deepest common ancestor Node of item and target (None: the root)
        self.down: tuple = ()  # nodes from below lca down to the target
        self.before = True  # the target's branch precedes the item's branch
        self.ew = None  # (operator, answer[x] key, expected value) of a well-formed enableWhen
        self.model = model  # the fhirrug.model Condition (None: the enableWhen is not an object)


class Node:
    """One Questionnaire item, compiled (its model item is `model`)."""

    __slots__ = (
        "index", "linkId", "type", "text", "required", "repeats", "parent", "children",
        "child_by_linkid", "pos", "expression", "conds", "any", "value_keys", "main_key",
        "options", "option_codes", "option_values", "answer_value_set", "outcome", "scope",
        "depth", "has_options", "ancestors", "fast_key", "fast_type", "fast_options", "model", "constraints",
    )

    def __init__(self, item, parent: "Node | None"):
        self.model = item
        self.index = item.index
        self.linkId = item.link_id or ""
        self.type = item.type or ""
        self.text = item.text
        self.required = item.required
        self.repeats = item.repeats
        self.parent = parent
        self.children: list[Node] = []
        self.child_by_linkid: dict[str, Node] = {}
        self.pos = item.pos
        self.expression = item.path
        self.conds: tuple[Cond, ...] | None = None
        self.any = item.any
        self.value_keys: tuple[str, ...] = ITEM_VALUE_KEYS.get(self.type, ())
        self.options: frozenset | None = None  # (system, code) of Coding options
        self.option_codes: frozenset = frozenset()  # codes of options without a system
        self.option_values: frozenset | None = None  # non-Coding option values
        self.has_options = item.options is not None
        if item.options is not None:
            self.options = item.options.codings
            self.option_codes = item.options.codes
            self.option_values = item.options.values
            if self.type in ("choice", "open-choice"):
                self.value_keys = self.value_keys + tuple(k for k in item.options.keys if k not in self.value_keys)
        self.main_key = self.value_keys[0] if self.value_keys else None
        self.answer_value_set = item.answer_value_set
        self.outcome: dict | None = None
        self.scope = False  # a repeating item with children: each repetition is its own scope
        self.depth = item.depth
        self.ancestors: tuple = () if parent is None else parent.ancestors + (parent,)
        # The fast path of the walker: one answer whose only key is fast_key, of Python type
        # fast_type, and (for Coding options) whose (system, code) is in fast_options.
        self.fast_key: str | None = None
        self.fast_type: type | None = None
        self.fast_options: frozenset | None = None
        # Value constraints (model/constraints.py): None for an item without any, the common case.
        # Items that have them are checked by the walkers (run.py) and leave the fast paths.
        self.constraints = item.constraints
        if self.constraints is not None and self.constraints.enable_expression is not None:
            self.required = False  # enabled by an expression fhirrug cannot evaluate: never "missing"
        key = self.main_key
        if key is not None and self.answer_value_set is None and self.constraints is None:
            if not self.has_options:
                self.fast_key, self.fast_type = key, VALUE_PYTHON_TYPES[key]
            elif key == "valueCoding" and self.options:
                self.fast_key, self.fast_type, self.fast_options = key, dict, self.options


ROOT_EXPRESSION = "Questionnaire"


class Plan:
    """A compiled Questionnaire. Build with `fhirrug.engine.compile`; reuse for every response."""

    def __init__(self, questionnaire: dict, codesystems=None, valuesets=None, file: str = "", model: QuestionnaireModel | None = None):
        self.questionnaire = questionnaire
        self.file = file
        url = questionnaire.get("url") if isinstance(questionnaire, dict) else None
        version = questionnaire.get("version") if isinstance(questionnaire, dict) else None
        self.url = url if isinstance(url, str) else ""
        self.version = version if isinstance(version, str) else ""
        self.canonical = f"{self.url}|{self.version}" if self.version else self.url
        self.codesystems = frozenset(codesystems) if codesystems is not None else None
        self.valuesets = valuesets  # canonical -> frozenset[(system, code)] | None (unknown)
        self.issues: list[Issue] = []
        self.nodes: list[Node] = []
        self.top: list[Node] = []
        self.top_by_linkid: dict[str, Node] = {}
        self.by_linkid: dict[str, Node] = {}
        self.order: list[Node] = []  # dependency order: parent and targets first (cycles broken)
        self.outcome_nodes: list[Node] = []
        self.outcome_values: tuple = ()
        self.link_ids: tuple = ()
        self.outcome_getter = None
        self.flat = True  # no repeating item has children: every item has at most one instance
        self.cyclic: set[int] = set()
        self.required: list[Node] = []
        self.required_flat: list[tuple] = []
        self.enable = None  # generated: answers -> list of enabled flags by node index (flat plans)
        self.fast = None  # generated: the fast path of the flat walker (see fast.py), or None
        self.response_constraints = None  # effectivePeriod (model/constraints.py), or None
        if not isinstance(questionnaire, dict) or questionnaire.get("resourceType") != "Questionnaire":
            self.model = build(None)
            self._issue("fhirrug-not-a-questionnaire", ERROR, "the resource given as Questionnaire is not a Questionnaire", ROOT_EXPRESSION)
            return
        self.model = model if model is not None and model.questionnaire is questionnaire else build(questionnaire)
        self._nodes()
        for node in self.nodes:
            self._compile_item(node)
        # Value constraints: compiled with the model, checked by the walkers (run.py);
        # effectivePeriod once per response (`_general`).
        self.response_constraints = self.model.response_constraints
        self._order()
        self.required = [n for n in self.nodes if n.required]
        self.link_ids = tuple(n.linkId for n in self.nodes)
        # The outcomes among flags by node index, in C: compress(outcome_values, outcome_getter(flags)).
        self.outcome_values = tuple(n.outcome for n in self.outcome_nodes)
        self.outcome_getter = itemgetter(*(n.index for n in self.outcome_nodes)) if len(self.outcome_nodes) > 1 else None
        # (index, parent index or -1, is a group, node) of each required item, for the walker.
        self.required_flat = [(n.index, n.parent.index if n.parent is not None else -1, n.type == "group", n) for n in self.required]
        try:
            self.enable = self._generate()
        except (RecursionError, MemoryError, SyntaxError):  # pragma: no cover - enormous plans use the loop
            self.enable = None
        if self.response_constraints is not None:
            self.fast = None
        elif self.flat:  # the table walker (fast.py), replaced by the generated one in a batch (inline.py)
            table = compile_fast(self)
            self.fast = promoting(self, table) if table is not None else None
        else:  # repeating groups (repeats.py)
            self.fast = compile_repeats(self)

    # -- evaluating -----------------------------------------------------------------------

    def evaluate(self, response: Any, file: str = "") -> Evaluation:
        """Evaluate one QuestionnaireResponse (a parsed JSON dict). Never raises: bad input gives
        issues, and a bug in fhirrug gives a `fhirrug-internal-error` issue on this response
        (so a batch goes on with the next one)."""
        try:
            fast = self.fast
            if fast is not None and response.__class__ is dict and response.get("resourceType") == "QuestionnaireResponse":
                # The fast path (fast.py): the common, ordinary response. It declines anything
                # unusual, and the general walker evaluates the response from scratch.
                issues: list = []
                reference = response.get("questionnaire")
                if reference != self.canonical and isinstance(reference, str) and self.url and reference.partition("|")[0] != self.url:
                    issues.append(Issue("fhirrug-qr-questionnaire-mismatch", WARNING, f"the response is for {reference}, evaluated against {self.canonical}", file, f"{QR}.questionnaire"))
                try:
                    found = fast(response, issues, file)
                except FALLBACK:  # a shape the fast path declines: the general path decides, and reports
                    pass
                else:
                    if self.flat:
                        return Evaluation(self, response, issues, file, found[0], None, None, found[1])
                    # Repeating groups: flags enabled in some repetition; the issues (their
                    # severity known) and what is per repetition from the general walker, when read.
                    kept: list = [None]
                    if found[2] is not None:
                        issues.append((found[2], repetition_issues, (self, response, file, kept)))
                    return Evaluation(self, response, issues, file, None, None, None, found[1], found[0], kept)
            return self._general(response, file)
        except Exception as exc:  # noqa: BLE001 - contained per response, reported, never hidden
            issue = Issue("fhirrug-internal-error", FATAL, f"evaluating the response failed (a bug in fhirrug; please report it): {type(exc).__name__}: {exc}", file, "")
            return Evaluation(self, response, [issue], file, flags=[False] * len(self.nodes))

    def _general(self, response: Any, file: str) -> Evaluation:
        """The general walkers (run.py): any response, every issue."""
        walk = _Walk(self, file)
        if not isinstance(response, dict) or response.get("resourceType") != "QuestionnaireResponse":
            kind = response.get("resourceType") if isinstance(response, dict) else type(response).__name__
            walk.issue("fhirrug-not-a-response", FATAL, f"expected a QuestionnaireResponse, found {shown(kind)}", QR)
            return Evaluation(self, response, walk.issues, file, flags=[False] * len(self.nodes))
        reference = response.get("questionnaire")
        if isinstance(reference, str) and self.url and reference.partition("|")[0] != self.url:
            walk.issue("fhirrug-qr-questionnaire-mismatch", WARNING, f"the response is for {reference}, evaluated against {self.canonical}", f"{QR}.questionnaire")
        if self.response_constraints is not None:  # effectivePeriod against authored (model/constraints.py)
            walk.issues += check_response(self.response_constraints, response, file)
        try:
            if self.flat:
                return evaluate_flat(self, response, walk)
            return evaluate_instances(self, response, walk)
        except RecursionError:
            walk.issue("fhirrug-qr-too-deep", FATAL, "items are nested too deeply to evaluate", QR)
            return Evaluation(self, response, walk.issues, file, flags=[False] * len(self.nodes))

    def strip(self, response: dict, evaluation: Evaluation | None = None) -> dict:
        """A copy of `response` without the items that are disabled (see `strip_disabled`)."""
        return strip_disabled(self, response, evaluation)

    # -- building -------------------------------------------------------------------------

    def _issue(self, code: str, severity: str, message: str, expression: str) -> None:
        self.issues.append(Issue(code, severity, message, self.file, expression))

    def _report(self, problem: P.Problem, message: str, expression: str) -> None:
        self.issues.append(Issue(problem.code, problem.severity, message, self.file, expression))

    def _nodes(self) -> None:
        """One Node per model item, and the model's notes on what it could not read as issues."""
        nodes = self.nodes
        for item in self.model.items:
            parent = nodes[item.parent.index] if item.parent is not None else None
            node = Node(item, parent)
            nodes.append(node)
            (parent.children if parent is not None else self.top).append(node)
            (parent.child_by_linkid if parent is not None else self.top_by_linkid).setdefault(node.linkId, node)
            if item.link_id and item.link_id not in self.by_linkid:
                self.by_linkid[item.link_id] = node
        for node in nodes:
            if node.repeats and node.children:
                node.scope = True
                self.flat = False
        deep = False
        for kind, item, expression in self.model.notes:
            if kind in ("item-not-a-list", "item-not-an-object"):
                self._report(P.WRONG_JSON_TYPE, "item is not a list" if kind == "item-not-a-list" else "item is not an object", expression)
            elif kind == "no-linkId":
                value = item.item.get("linkId")
                if value is None:
                    self._report(P.MISSING, "item has no linkId", f"{expression}.linkId")
                elif value == "":
                    self._report(P.EMPTY_VALUE, "item has an empty linkId", f"{expression}.linkId")
                else:
                    self._report(P.PRIMITIVE_TYPE, f"linkId {value!r} is not a string", f"{expression}.linkId")
            elif kind == "duplicate-linkId":
                self._report(P.DUPLICATE_LINK_ID, f"linkId '{item.link_id}' occurs more than once; the engine uses the first", expression)
            elif kind == "item-type":
                value = item.item.get("type")
                problem = P.MISSING if value is None else P.ABSTRACT_TYPE if value == "question" else P.NOT_IN_VALUESET if isinstance(value, str) else P.PRIMITIVE_TYPE
                self._report(problem, f"item type {item.type or ''!r} is not an R4 item type", expression)
            elif kind == "too-deep" and not deep:
                deep = True
                self._issue("fhirrug-questionnaire-too-deep", ERROR, "items are nested too deeply to compile; the deeper items are left out", ROOT_EXPRESSION)

    def _compile_item(self, node: Node) -> None:
        item = node.model
        # Value constraints (maxLength, minValue, regex, ...): their problems, from the model.
        for problem in item.constraint_problems:
            self.issues.append(Issue(problem.code, problem.severity, problem.message, self.file, problem.expression))
        outcome = item.outcome(self.codesystems)
        if outcome is not None:
            node.outcome = outcome
            self.outcome_nodes.append(node)
        # enableWhen.
        conditions = item.item.get("enableWhen")
        if conditions is None:
            return
        if not isinstance(conditions, list):
            self._report(P.WRONG_JSON_TYPE, "enableWhen is not a list", f"{node.expression}.enableWhen")
            return
        behavior = item.item.get("enableBehavior")
        if behavior not in (None, "all", "any"):
            self._report(P.NOT_IN_VALUESET, f"enableBehavior {behavior!r} is neither 'all' nor 'any'; evaluated as 'all'", f"{node.expression}.enableBehavior")
        elif item.needs_enable_behavior:
            self._report(P.ENABLE_BEHAVIOR, "more than one enableWhen and no enableBehavior (que-12); evaluated as 'all'", node.expression)
        resolved = {c.index: c for c in item.conditions}
        compiled = []
        for k, ew in enumerate(conditions):
            expression = f"{node.expression}.enableWhen[{k}]"
            condition = resolved.get(k)
            if condition is None:
                self._report(P.WRONG_JSON_TYPE, "enableWhen is not an object", expression)
                compiled.append(Cond(None, never, expression, ""))
                continue
            compiled.append(self._compile_condition(node, condition, expression))
        node.conds = tuple(compiled)

    def _compile_condition(self, node: Node, condition, expression: str) -> Cond:
        question = condition.question
        target = self.nodes[condition.target.index] if condition.target is not None else None
        for problem in condition.problems:
            self._report(P.CONDITION[problem], self._message(problem, node, condition, target), self._where(problem, node, condition, expression))
        if condition.broken:
            return Cond(target, never, expression, question or "", condition)
        cond = Cond(target, condition.test, expression, question, condition)
        key = condition.answer_keys[0]
        cond.ew = (condition.operator, key, condition.element[key])
        if target is not None:
            mine = node.ancestors + (node,)
            theirs = target.ancestors + (target,)
            depth = 0
            while depth < len(mine) and depth < len(theirs) and mine[depth] is theirs[depth]:
                depth += 1
            cond.lca = mine[depth - 1] if depth else None
            cond.down = theirs[depth:]
            if depth < len(mine) and depth < len(theirs):
                cond.before = theirs[depth].pos < mine[depth].pos
        return cond

    @staticmethod
    def _where(problem: str, node: Node, condition, expression: str) -> str:
        if problem in ("no-target", "self"):
            return f"{expression}.question"
        if problem in ("inner", "after"):
            return node.expression
        if problem in ("no-operator", "operator", "not-orderable"):
            return f"{expression}.operator"
        if problem == "no-answer":
            return f"{expression}.answer"
        if problem in ("answer-not-object", "answer-json-type"):
            return f"{expression}.{condition.answer_keys[0]}"
        if problem == "type":
            if condition.target is not None and condition.target.type in ("group", "display"):
                return f"{expression}.question"
            return f"{expression}.{condition.answer_keys[0]}"
        return expression

    @staticmethod
    def _message(problem: str, node: Node, condition, target: Node | None) -> str:
        question, operator = condition.element.get("question"), condition.element.get("operator")
        key = condition.answer_keys[0] if condition.answer_keys else None
        if problem == "no-target":
            return f"enableWhen.question {question!r} is not a linkId of this Questionnaire; the condition sees no answer"
        if problem == "self":
            return "the target of this enableWhen rule is the item itself"
        if problem == "inner":
            return "Questions with an enableWhen cannot refer to an inner question for its enableWhen condition"
        if problem == "after":
            return f"The target of this enableWhen rule ({question}) comes after the question itself"
        if problem in ("no-operator", "operator"):
            return f"operator {operator!r} is not an enableWhen operator; the condition is false"
        if problem in ("no-answer", "answers"):
            return "enableWhen needs exactly one answer[x] of an R4 type; the condition is false"
        if problem == "exists-not-boolean":
            return "operator 'exists' needs answerBoolean (que-7); the condition is false"
        if problem == "not-orderable":
            return f"operator {operator!r} cannot order {key[6:]} values; the condition is false"
        if problem == "answer-not-object":
            return f"{key} is not an object; the condition is false"
        if problem == "answer-json-type":
            return f"{key} is a JSON {json_type(condition.element[key])}, not a {VALUE_TYPE_NAMES['value' + key[6:]]}; the condition is false"
        if target is not None and target.type in ("group", "display"):
            return f"enableWhen on the {target.type} item '{target.linkId}', which never has answers; the condition sees none"
        return f"{key} cannot match an answer of the {target.type} item '{target.linkId}'; no answer ever equals it"

    def _order(self) -> None:
        """Dependency order by depth-first search; a back edge is a cycle (reported, then broken)."""
        WHITE, GREY, BLACK = 0, 1, 2
        colour = [WHITE] * len(self.nodes)
        order = self.order
        reported: set[int] = set()
        for start in self.nodes:
            if colour[start.index] != WHITE:
                continue
            stack = [(start, iter(self._deps(start)))]
            colour[start.index] = GREY
            while stack:
                node, deps = stack[-1]
                advanced = False
                for dep in deps:
                    if colour[dep.index] == WHITE:
                        colour[dep.index] = GREY
                        stack.append((dep, iter(self._deps(dep))))
                        advanced = True
                        break
                    if colour[dep.index] == GREY:
                        cycle = [n for n, _ in stack[[n for n, _ in stack].index(dep):]]
                        for n in cycle:
                            self.cyclic.add(n.index)
                        # A condition on an item's own descendant closes a cycle through the
                        # parent links; Questionnaire_Q_EnableWhen_IsInner already says so.
                        if node.index not in reported and not _through_inner(cycle):
                            reported.add(node.index)
                            names = " -> ".join(n.linkId for n in cycle) + f" -> {dep.linkId}"
                            self._report(P.CYCLE, f"enableWhen references form a cycle ({names}); an item reached again counts as disabled", node.expression)
                if not advanced:
                    stack.pop()
                    colour[node.index] = BLACK
                    order.append(node)

    def _generate(self):
        """Compile the enable pass of a flat plan into one straight-line Python function.

        `enable(A)` takes the answers array (by node index: the well-typed answers, or None) and
        returns the enabled flags by node index. Each item becomes one line, in dependency order:
        `e7 = e2 and (t0((A[5] or E) if e5 else E) or t1(...))`. Conditions that may be
        indeterminate (dates, Quantities) need a warning, so plans with them use the generic loop.
        """
        if not self.flat or not self.nodes:
            return None
        if len(self.nodes) + sum(len(n.conds) for n in self.nodes if n.conds) > GENERATE_LIMIT:
            return None  # compiling would cost more than it saves: the generic loop decides
        namespace: dict = {"E": ()}
        lines = ["def enable(A):"]
        for index in sorted(self.cyclic):
            lines.append(f"    e{index} = False")
        for node in self.order:
            parent = f"e{node.parent.index}" if node.parent is not None else "True"
            if node.conds is None:
                lines.append(f"    e{node.index} = {parent}")
                continue
            terms = []
            for cond in node.conds:
                if getattr(cond.test, "indeterminate", True):
                    return None
                name = f"t{len(namespace)}"
                namespace[name] = cond.test
                target = cond.target
                if target is None or target is node:
                    terms.append(f"{name}(E)")
                    continue
                k = target.index
                kind = getattr(cond.test, "on_empty", None)
                if kind is False:  # '=', ordering, exists=true: false without answers
                    terms.append(f"(A[{k}] is not None and e{k} and {name}(A[{k}]))")
                elif kind is True:  # '!=', exists=false: true without answers
                    terms.append(f"(A[{k}] is None or not e{k} or {name}(A[{k}]))")
                else:
                    terms.append(f"{name}((A[{k}] or E) if e{k} else E)")
            joined = (" or " if node.any else " and ").join(terms)
            lines.append(f"    e{node.index} = {parent} and ({joined})")
        # Every e is a bool: tests return bools here (indeterminate ones force the loop above).
        lines.append("    return [" + ", ".join(f"e{k}" for k in range(len(self.nodes))) + "]")
        exec(compile("\n".join(lines) + "\n", f"<fhirrug plan {self.canonical}>", "exec"), namespace)  # noqa: S102 - our own generated code
        return namespace["enable"]

    @staticmethod
    def _deps(node: Node):
        if node.parent is not None:
            yield node.parent
        if node.conds:
            for cond in node.conds:
                if cond.target is not None and cond.target is not node:
                    yield cond.target


def _through_inner(cycle: list) -> bool:
    """Whether a dependency cycle runs through a condition on the item's own descendant."""
    members = {n.index for n in cycle}
    return any(
        cond.model is not None and "inner" in cond.model.problems and cond.target is not None and cond.target.index in members
        for node in cycle for cond in node.conds or ()
    )
