"""Compiling a Questionnaire into a Plan: linkId index, typed tests, dependency order.

Compiling happens once per Questionnaire; every response to it reuses the plan. The
Questionnaire's own problems that matter to evaluation (unknown targets, cycles, que-12, que-7,
operators on the wrong type) are collected in `Plan.issues`, with `Questionnaire.item[...]`
expressions; they are reported once, not per response.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from ..issues import ERROR, WARNING, Issue
from ..jsontypes import coding_key, is_hashable_scalar, json_type
from ..model.constraints import compile_item as compile_constraints
from ..model.constraints import compile_questionnaire
from .compare import ANSWER_KEYS, OPERATORS, ORDERING, UNORDERED, compile_test

# Item type -> the answer value[x] keys a response may use for it (choice items add the types of
# their answerOptions).
ITEM_VALUE_KEYS: dict[str, tuple[str, ...]] = {
    "boolean": ("valueBoolean",),
    "decimal": ("valueDecimal",),
    "integer": ("valueInteger",),
    "date": ("valueDate",),
    "dateTime": ("valueDateTime",),
    "time": ("valueTime",),
    "string": ("valueString",),
    "text": ("valueString",),
    "url": ("valueUri",),
    "choice": ("valueCoding",),
    "open-choice": ("valueCoding", "valueString"),
    "attachment": ("valueAttachment",),
    "reference": ("valueReference",),
    "quantity": ("valueQuantity",),
    "group": (),
    "display": (),
    "question": (),  # R4 has it in the code system but it is abstract: never valid on an item
}

# The FHIR type name of each value[x] key, for messages ("must be of the type integer not Coding").
VALUE_TYPE_NAMES = {
    "valueBoolean": "boolean",
    "valueDecimal": "decimal",
    "valueInteger": "integer",
    "valueDate": "date",
    "valueDateTime": "dateTime",
    "valueTime": "time",
    "valueString": "string",
    "valueUri": "uri",
    "valueCoding": "Coding",
    "valueAttachment": "Attachment",
    "valueReference": "Reference",
    "valueQuantity": "Quantity",
}

# enableWhen answer[x] keys a target item of each type can be compared with.
_EW_KEYS_FOR_TYPE: dict[str, tuple[str, ...]] = {
    "boolean": ("answerBoolean",),
    "decimal": ("answerDecimal", "answerInteger"),
    "integer": ("answerInteger", "answerDecimal"),
    "date": ("answerDate",),
    "dateTime": ("answerDateTime",),
    "time": ("answerTime",),
    "string": ("answerString",),
    "text": ("answerString",),
    "url": ("answerString",),
    "choice": ("answerCoding",),
    "open-choice": ("answerCoding", "answerString"),
    "attachment": (),
    "reference": ("answerReference",),
    "quantity": ("answerQuantity",),
}

_OPTION_TO_EW = {
    "valueInteger": "answerInteger",
    "valueDate": "answerDate",
    "valueTime": "answerTime",
    "valueString": "answerString",
    "valueCoding": "answerCoding",
    "valueReference": "answerReference",
}


def _is_number(v: Any) -> bool:
    return type(v) is int or type(v) is float


# value[x] key -> check of the JSON value's Python type.
VALUE_TYPE_OK = {
    "valueBoolean": lambda v: type(v) is bool,
    "valueInteger": lambda v: type(v) is int,
    "valueDecimal": _is_number,
    "valueDate": lambda v: type(v) is str,
    "valueDateTime": lambda v: type(v) is str,
    "valueTime": lambda v: type(v) is str,
    "valueString": lambda v: type(v) is str,
    "valueUri": lambda v: type(v) is str,
    "valueCoding": lambda v: type(v) is dict,
    "valueAttachment": lambda v: type(v) is dict,
    "valueReference": lambda v: type(v) is dict,
    "valueQuantity": lambda v: type(v) is dict,
}


def _never(answers: list) -> bool:
    """The test of a condition that cannot hold (a broken enableWhen)."""
    return False


_never.indeterminate = False  # type: ignore[attr-defined]


class Cond:
    """One compiled enableWhen."""

    __slots__ = ("target", "test", "expression", "question", "lca", "down", "before", "ew")

    def __init__(self, target, test, expression, question):
        self.target = target  # Node or None (unknown linkId: condition never true, except != / exists=false)
        self.test = test
        self.expression = expression
        self.question = question
        self.lca = None  # deepest common ancestor Node of item and target (None: the root)
        self.down: tuple = ()  # nodes from below lca down to the target
        self.before = True  # the target's branch precedes the item's branch
        self.ew = None  # (operator, answer[x] key, expected value) of a well-formed enableWhen


class Node:
    """One Questionnaire item, compiled."""

    __slots__ = (
        "index", "linkId", "type", "text", "required", "repeats", "parent", "children",
        "child_by_linkid", "pos", "expression", "conds", "any", "value_keys", "main_key",
        "options", "option_codes", "option_values", "answer_value_set", "outcome", "scope",
        "depth", "has_options", "ancestors", "fast_key", "fast_type", "fast_options", "constraints",
    )

    def __init__(self, index: int, item: dict, parent: "Node | None", pos: int, expression: str):
        self.index = index
        linkid = item.get("linkId")
        self.linkId = linkid if isinstance(linkid, str) else ""
        kind = item.get("type")
        self.type = kind if isinstance(kind, str) else ""
        text = item.get("text")
        self.text = text if isinstance(text, str) else None
        self.required = item.get("required") is True
        self.repeats = item.get("repeats") is True
        self.parent = parent
        self.children: list[Node] = []
        self.child_by_linkid: dict[str, Node] = {}
        self.pos = pos
        self.expression = expression
        self.conds: tuple[Cond, ...] | None = None
        self.any = False
        self.value_keys: tuple[str, ...] = ITEM_VALUE_KEYS.get(self.type, ())
        self.main_key = self.value_keys[0] if self.value_keys else None
        self.options: frozenset | None = None  # (system, code) of Coding options
        self.option_codes: frozenset = frozenset()  # codes of options without a system
        self.option_values: frozenset | None = None  # non-Coding option values
        self.has_options = False
        answer_value_set = item.get("answerValueSet")
        self.answer_value_set = answer_value_set if isinstance(answer_value_set, str) else None
        self.outcome: dict | None = None
        self.scope = False  # a repeating item with children: each repetition is its own scope
        self.depth = 0 if parent is None else parent.depth + 1
        self.ancestors: tuple = () if parent is None else parent.ancestors + (parent,)
        # The fast path of the walker: one answer whose only key is fast_key, of Python type
        # fast_type, and (for Coding options) whose (system, code) is in fast_options.
        self.fast_key: str | None = None
        self.fast_type: type | None = None
        self.fast_options: frozenset | None = None
        # Value constraints (model/constraints.py): None for an item without any, the common case.
        self.constraints = None


ROOT_EXPRESSION = "Questionnaire"
# Items plus enableWhen conditions beyond which a plan is not compiled to Python code (and so has
# no fast path): CPython's compiler is superlinear on long functions and long `and` chains, so a
# 30,000-condition Questionnaire took seconds to compile. The package's largest has 218.
GENERATE_LIMIT = 5000


class Plan:
    """A compiled Questionnaire. Build with `fhirrug.engine.compile`; reuse for every response."""

    def __init__(self, questionnaire: dict, codesystems=None, valuesets=None, file: str = ""):
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
        self._items: list = []
        if not isinstance(questionnaire, dict) or questionnaire.get("resourceType") != "Questionnaire":
            self._issue("fhirrug-not-a-questionnaire", ERROR, "the resource given as Questionnaire is not a Questionnaire", ROOT_EXPRESSION)
            return
        try:
            self._build(questionnaire.get("item"), None, ROOT_EXPRESSION, self.top, self.top_by_linkid)
        except RecursionError:
            # jsonio refuses such files; a dict built in memory can still be this deep.
            self._issue("fhirrug-questionnaire-too-deep", ERROR, "items are nested too deeply to compile; the deeper items are left out", ROOT_EXPRESSION)
        for node, item in self._items:
            self._compile_item(node, item)
        # Value constraints: compiled per item that has any, checked by the walkers (run.py);
        # effectivePeriod once per response (fhirrug.engine._plan_evaluate).
        self.response_constraints = compile_questionnaire(questionnaire)
        self._order()
        del self._items
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
        from .fast import compile_fast

        self.fast = compile_fast(self) if self.response_constraints is None else None

    # -- building -------------------------------------------------------------------------

    def _issue(self, code: str, severity: str, message: str, expression: str) -> None:
        self.issues.append(Issue(code, severity, message, self.file, expression))

    def _build(self, items: Any, parent: Node | None, path: str, siblings: list, index: dict) -> None:
        if items is None:
            return
        if not isinstance(items, list):
            self._issue("fhirrug-questionnaire-structure", ERROR, "item is not a list", f"{path}.item")
            return
        # Iterative would avoid deep recursion, but jsonio already refuses nesting beyond 128.
        for pos, item in enumerate(items):
            expression = f"{path}.item[{pos}]"
            if not isinstance(item, dict):
                self._issue("fhirrug-questionnaire-structure", ERROR, "item is not an object", expression)
                continue
            node = Node(len(self.nodes), item, parent, pos, expression)
            self.nodes.append(node)
            self._items.append((node, item))
            siblings.append(node)
            if not node.linkId:
                self._issue("fhirrug-questionnaire-structure", ERROR, "item has no linkId", expression)
            elif node.linkId in self.by_linkid:
                self._issue("que-2", ERROR, f"linkId '{node.linkId}' occurs more than once; the engine uses the first", expression)
            else:
                self.by_linkid[node.linkId] = node
            index.setdefault(node.linkId, node)
            if node.type not in ITEM_VALUE_KEYS or node.type == "question":
                self._issue("fhirrug-item-type", ERROR, f"item type {node.type!r} is not an R4 item type", f"{expression}.type")
            self._build(item.get("item"), node, expression, node.children, node.child_by_linkid)
            if node.repeats and node.children:
                node.scope = True
                self.flat = False

    def _compile_item(self, node: Node, item: dict) -> None:
        # Value constraints (maxLength, minValue, regex, ...): only items that have them get an
        # object; the walkers check those items and leave the fast paths (fast_key stays None).
        node.constraints, problems = compile_constraints(item, node.type, node.expression)
        if node.constraints is not None and node.constraints.enable_expression is not None:
            node.required = False  # enabled by an expression fhirrug cannot evaluate: never "missing"
        for problem in problems:
            self.issues.append(Issue(problem.code, problem.severity, problem.message, self.file, problem.expression))
        # Options: the set a Coding answer must come from.
        options = item.get("answerOption")
        if isinstance(options, list) and options:
            node.has_options = True
            pairs, codes, others, keys = set(), set(), set(), []
            for option in options:
                if not isinstance(option, dict):
                    continue
                for key, value in option.items():
                    if key == "valueCoding" and isinstance(value, dict):
                        pair = coding_key(value)
                        if pair is None:  # a system or code that is not a string: no answer matches it
                            pass
                        elif pair[0] is None:
                            codes.add(pair[1])
                        else:
                            pairs.add(pair)
                    elif key.startswith("value") and key in VALUE_TYPE_OK:
                        probe = value if not isinstance(value, dict) else value.get("reference")
                        if is_hashable_scalar(probe):
                            others.add((key, probe))
                    else:
                        continue
                    if key not in keys:
                        keys.append(key)
            node.options = frozenset(pairs)
            node.option_codes = frozenset(codes)
            node.option_values = frozenset(others)
            if node.type in ("choice", "open-choice"):
                extra = tuple(k for k in keys if k not in node.value_keys)
                node.value_keys = node.value_keys + extra
        fast_types = {"valueBoolean": bool, "valueInteger": int, "valueDecimal": float, "valueString": str,
                      "valueDate": str, "valueDateTime": str, "valueTime": str, "valueUri": str, "valueCoding": dict,
                      "valueQuantity": dict, "valueReference": dict, "valueAttachment": dict}
        key = node.main_key
        if key is not None and node.answer_value_set is None and node.constraints is None:
            if not node.has_options:
                node.fast_key, node.fast_type = key, fast_types[key]
            elif key == "valueCoding" and node.options:
                node.fast_key, node.fast_type, node.fast_options = key, dict, node.options
        # Outcomes: items carrying a code that hold no question: a coded group whose children
        # are display items only (R4 que-3 forbids a code on a display item, so the package's
        # outcomes are such groups; the lead's decision of 19:10 UTC), or a coded display item
        # (invalid R4, still honoured for content from elsewhere).
        # A coded group without a text of its own (the anamnesis's "zie antwoord N" pointers) is
        # a cross-reference to another questionnaire's outcome, not an outcome.
        if node.type == "display" or (
            node.type == "group" and node.text and node.children and all(c.type == "display" and not c.children for c in node.children)
        ):
            for coding in item.get("code") or () if isinstance(item.get("code"), list) else ():
                if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                    if self.codesystems is None or (is_hashable_scalar(coding.get("system")) and coding.get("system") in self.codesystems):
                        node.outcome = {"system": coding.get("system"), "code": coding["code"], "display": coding.get("display")}
                        self.outcome_nodes.append(node)
                        break
        # enableWhen.
        conditions = item.get("enableWhen")
        if conditions is None:
            return
        if not isinstance(conditions, list):
            self._issue("fhirrug-questionnaire-structure", ERROR, "enableWhen is not a list", f"{node.expression}.enableWhen")
            return
        behavior = item.get("enableBehavior")
        if behavior == "any":
            node.any = True
        elif behavior not in (None, "all"):
            self._issue("fhirrug-enablebehavior", ERROR, f"enableBehavior {behavior!r} is neither 'all' nor 'any'; evaluated as 'all'", f"{node.expression}.enableBehavior")
        elif behavior is None and len(conditions) > 1:
            self._issue("que-12", WARNING, "more than one enableWhen and no enableBehavior (que-12); evaluated as 'all'", node.expression)
        compiled = []
        for k, ew in enumerate(conditions):
            compiled.append(self._compile_condition(node, ew, f"{node.expression}.enableWhen[{k}]"))
        node.conds = tuple(compiled)

    def _compile_condition(self, node: Node, ew: Any, expression: str) -> Cond:
        never = _never
        if not isinstance(ew, dict):
            self._issue("fhirrug-questionnaire-structure", ERROR, "enableWhen is not an object", expression)
            return Cond(None, never, expression, "")
        question = ew.get("question")
        operator = ew.get("operator")
        answer_keys = [k for k in ew if k.startswith("answer")]
        target = self.by_linkid.get(question) if isinstance(question, str) else None
        if target is None:
            self._issue("Questionnaire_Q_EnableWhen_NoTarget", ERROR, f"enableWhen.question {question!r} is not a linkId of this Questionnaire; the condition sees no answer", f"{expression}.question")
        elif target is node:
            self._issue("Questionnaire_Q_EnableWhen_Self", ERROR, "the target of this enableWhen rule is the item itself", f"{expression}.question")
        elif node in target.ancestors:
            self._issue("Questionnaire_Q_EnableWhen_IsInner", ERROR, "Questions with an enableWhen cannot refer to an inner question for its enableWhen condition", node.expression)
        elif target.index > node.index:
            self._issue("Questionnaire_Q_EnableWhen_After", WARNING, f"The target of this enableWhen rule ({question}) comes after the question itself", node.expression)
        if operator not in OPERATORS:
            self._issue("fhirrug-enablewhen-operator", ERROR, f"operator {operator!r} is not an enableWhen operator; the condition is false", f"{expression}.operator")
            return Cond(target, never, expression, question or "")
        if len(answer_keys) != 1 or answer_keys[0] not in ANSWER_KEYS:
            self._issue("fhirrug-enablewhen-answer", ERROR, "enableWhen needs exactly one answer[x] of an R4 type; the condition is false", expression)
            return Cond(target, never, expression, question or "")
        key = answer_keys[0]
        expected = ew[key]
        if operator == "exists" and key != "answerBoolean":
            self._issue("que-7", ERROR, "operator 'exists' needs answerBoolean (que-7); the condition is false", expression)
            return Cond(target, never, expression, question)
        if operator in ORDERING and key in UNORDERED:
            self._issue("fhirrug-enablewhen-operator-type", ERROR, f"operator {operator!r} cannot order {key[6:]} values; the condition is false", f"{expression}.operator")
            return Cond(target, never, expression, question)
        if not VALUE_TYPE_OK["value" + key[6:]](expected):
            # Untrusted JSON: "answerString": 3 would be compared with the answers' strings.
            self._issue("fhirrug-enablewhen-answer", ERROR, f"{key} is a JSON {json_type(expected)}, not a {VALUE_TYPE_NAMES['value' + key[6:]]}; the condition is false", f"{expression}.{key}")
            return Cond(target, never, expression, question)
        if target is not None and operator != "exists":
            allowed = set(_EW_KEYS_FOR_TYPE.get(target.type, ()))
            allowed.update(_OPTION_TO_EW[k] for k in target.value_keys if k in _OPTION_TO_EW)
            if key not in allowed:
                self._issue("fhirrug-enablewhen-answer-type", ERROR, f"{key} cannot match an answer of the {target.type} item '{target.linkId}'; no answer ever equals it", f"{expression}.{key}")
        cond = Cond(target, compile_test(operator, key, expected), expression, question)
        cond.ew = (operator, key, expected)
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
                        if node.index not in reported:
                            reported.add(node.index)
                            names = " -> ".join(n.linkId for n in cycle) + f" -> {dep.linkId}"
                            self._issue("fhirrug-enablewhen-cycle", ERROR, f"enableWhen references form a cycle ({names}); an item reached again counts as disabled", node.expression)
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
