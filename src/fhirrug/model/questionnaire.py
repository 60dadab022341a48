"""A Questionnaire as a resolved, typed model: the item tree, every enableWhen with its target,
operator, typed answer, compiled comparison and problems, the answer options, the outcomes.

Built once per Questionnaire from plain (possibly malformed) parsed JSON, without recursion (a
dict built in memory may nest deeper than Python's stack); nothing here raises on bad input.
What cannot be read is skipped and noted (`QuestionnaireModel.notes`), so that each reader
(the rules, the engine, `paths`, `diff`, the site) decides for itself how to report it, under
the codes of `fhirrug.model.problems`.
"""

from __future__ import annotations

from typing import Any, Iterator

from .compare import Test, compile_test, never
from .constraints import compile_item as compile_constraints
from .constraints import compile_questionnaire as compile_response_constraints
from .elements import as_list, count, present
from .types import (
    ANSWER_KEYS,
    ITEM_VALUE_KEYS,
    NO_ANSWERS,
    OBJECT_ANSWERS,
    OPERATORS,
    ORDERING,
    UNORDERED,
    VALUE_TYPE_OK,
    allowed_answer_keys,
    typed,
)

ROOT = "Questionnaire"
# Item levels the model reads; deeper items are left out and noted. A file cannot come close:
# the parser refuses JSON nested beyond 128 levels (64 item levels).
MAX_DEPTH = 400


class Options:
    """An item's answerOption list, read once.

    listed: (position, option object) of every object in answerOption;
    codings: (system, code) of the valueCoding options that have a system;
    codes: the codes of valueCoding options without a system;
    values: (value[x] key, value) of the other options (a Reference by its `reference`);
    keys: the value[x] keys the options use, in first-seen order.
    """

    __slots__ = ("listed", "codings", "codes", "values", "keys")

    def __init__(self, options: list):
        self.listed: list[tuple[int, dict]] = []
        pairs: set = set()
        codes: set = set()
        others: set = set()
        keys: list[str] = []
        for position, option in enumerate(options):
            if not isinstance(option, dict):
                continue
            self.listed.append((position, option))
            for key, value in option.items():
                if key == "valueCoding" and isinstance(value, dict):
                    system, code = value.get("system"), value.get("code")
                    if not _hashable(system) or not _hashable(code):
                        continue
                    if system is None:
                        codes.add(code)
                    else:
                        pairs.add((system, code))
                elif key.startswith("value") and key in VALUE_TYPE_OK:
                    probe = value if not isinstance(value, dict) else value.get("reference")
                    if not _hashable(probe):
                        continue
                    others.add((key, probe))
                else:
                    continue
                if key not in keys:
                    keys.append(key)
        self.codings = frozenset(pairs)
        self.codes = frozenset(codes)
        self.values = frozenset(others)
        self.keys = tuple(keys)

    def coding_dicts(self) -> list[dict]:
        """The valueCoding of every option that has one, in answerOption order."""
        return [option["valueCoding"] for _, option in self.listed if isinstance(option.get("valueCoding"), dict)]

    def answers(self) -> list[dict]:
        """Every option value as a response answer (`{"valueCoding": {...}}`), in answerOption
        order and, within one option, in the order of `types.OPTION_TO_ANSWER`."""
        from .types import OPTION_TO_ANSWER

        out = []
        for _, option in self.listed:
            for key in OPTION_TO_ANSWER:
                if key in option and typed(key, option[key]) is not None:
                    out.append({key: option[key]})
        return out


def _hashable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


class Item:
    """One Questionnaire item: the JSON object, where it sits, and what it means.

    index: document (pre-)order in the Questionnaire, 0-based (also `order`);
    link_id, type, text: the strings, or None when absent or not strings;
    pos: the position in the list holding it; path: its FHIRPath (`Questionnaire.item[2].item[0]`);
    lineage: its ancestors from the top level down; conditions: its enableWhen (`Condition`);
    options: its answerOption (`Options`) or None;
    constraints: its value constraints (`constraints.ItemConstraints`: maxLength, minValue,
    regex, ...) or None, and constraint_problems the Questionnaire issues about them.
    """

    __slots__ = (
        "index", "item", "link_id", "type", "text", "required", "repeats", "parent", "children", "pos", "path",
        "depth", "lineage", "conditions", "any", "options", "answer_value_set", "constraints", "constraint_problems",
    )

    def __init__(self, index: int, item: dict, parent: "Item | None", pos: int, path: str):
        self.index = index
        self.item = item
        link_id, kind, text_ = item.get("linkId"), item.get("type"), item.get("text")
        self.link_id = link_id if isinstance(link_id, str) else None
        self.type = kind if isinstance(kind, str) else None
        self.text = text_ if isinstance(text_, str) else None
        self.required = item.get("required") is True
        self.repeats = item.get("repeats") is True
        self.parent = parent
        self.children: list[Item] = []
        self.pos = pos
        self.path = path
        self.depth = 0 if parent is None else parent.depth + 1
        self.lineage: tuple = () if parent is None else parent.lineage + (parent,)
        self.conditions: list[Condition] = []
        self.any = item.get("enableBehavior") == "any"
        options = item.get("answerOption")
        self.options = Options(options) if isinstance(options, list) and options else None
        answer_value_set = item.get("answerValueSet")
        self.answer_value_set = answer_value_set if isinstance(answer_value_set, str) else None
        self.constraints, self.constraint_problems = compile_constraints(item, self.type or "", path)

    @property
    def order(self) -> int:
        return self.index

    def ancestors(self) -> Iterator["Item"]:
        """Parent first, then its parent, up to the top level."""
        return reversed(self.lineage)

    def descendants(self) -> Iterator["Item"]:
        stack = list(reversed(self.children))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def is_descendant_of(self, other: "Item") -> bool:
        return other in self.lineage

    @property
    def option_keys(self) -> tuple[str, ...]:
        return self.options.keys if self.options is not None else ()

    @property
    def needs_enable_behavior(self) -> bool:
        """que-12: more than one enableWhen and no enableBehavior (R4 publishes `count() > 2`;
        the text and the HL7 validator mean more than one)."""
        return count(self.item, "enableWhen") > 1 and not present(self.item, "enableBehavior")

    def outcome(self, codesystems=None) -> dict | None:
        """The outcome this item stands for, `{"system", "code", "display"}`, or None.

        An outcome is an item carrying a code that holds no question: a coded `group` with a text
        of its own whose children are all display items without children (R4 que-3 forbids a code
        on a display item, so this package's outcomes are such groups), or a coded `display` item
        (invalid R4, still honoured for content from elsewhere). A coded group without a text (the
        anamnesis's "zie antwoord N" pointers) is a cross-reference to an outcome, not one. With
        `codesystems` (CodeSystem urls) only their codes count; the first matching Coding wins.
        """
        if not (self.type == "display" or (
            self.type == "group" and self.text and self.children and all(c.type == "display" and not c.children for c in self.children)
        )):
            return None
        codes = self.item.get("code")
        for coding in codes if isinstance(codes, list) else ():
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                if codesystems is None or (_hashable(coding.get("system")) and coding.get("system") in codesystems):
                    return {"system": coding.get("system"), "code": coding["code"], "display": coding.get("display")}
        return None

    def __repr__(self) -> str:
        return f"Item({self.path}, linkId={self.link_id!r})"


# Problems of one enableWhen that make its test `never` (the condition cannot hold).
BROKEN = frozenset({"no-operator", "operator", "no-answer", "answers", "exists-not-boolean", "not-orderable", "answer-not-object", "answer-json-type"})


class Condition:
    """One enableWhen of one item, resolved against the Questionnaire.

    question, operator: as written (None when absent or not strings); answer_key, answer: the
    first R4 answer[x] it has (None without one); answer_keys: every answer* key it has (a value
    other than null); value: the answer's typed form (`types.typed`), None when malformed.
    target: the first item whose linkId is `question` (also when that is the item itself or one
    of its descendants), None when there is none.
    problems: what is wrong with it, in the order a reader reports them: at most one of
      `no-target`, `self`, `inner`, `after` (the target comes later: a warning), then at most one
      of `no-operator`, `operator` (not an R4 operator), `no-answer`, `answers` (several, or not of
      an R4 type), `exists-not-boolean` (que-7), `not-orderable`, `answer-not-object`,
      `answer-json-type` (a primitive answer[x] of another JSON type: `"answerString": 3`), `type`
      (the answer type cannot match the target's answers; the target is a group or display item).
    problem: why the static analysis cannot use it (`no-target`, `self`, `inner` or `type`), or None.
    test: the compiled comparison (`compare.compile_test`); `compare.never` when broken.
    """

    __slots__ = (
        "owner", "index", "element", "path", "question", "operator", "answer_key", "answer", "answer_keys",
        "value", "target", "problems", "problem", "test",
    )

    def __init__(self, owner: Item, index: int, element: dict):
        self.owner = owner
        self.index = index
        self.element = element
        self.path = f"{owner.path}.enableWhen[{index}]"
        question, operator = element.get("question"), element.get("operator")
        self.question = question if isinstance(question, str) else None
        self.operator = operator if isinstance(operator, str) else None
        self.answer_keys = tuple(k for k, v in element.items() if k.startswith("answer") and v is not None)
        self.answer_key = next((k for k in ANSWER_KEYS if element.get(k) is not None), None)
        self.answer = element[self.answer_key] if self.answer_key else None
        self.value = typed(self.answer_key, self.answer) if self.answer_key else None
        self.target: Item | None = None
        self.problems: tuple[str, ...] = ()
        self.problem: str | None = None
        self.test: Test = never

    @property
    def broken(self) -> bool:
        return any(p in BROKEN for p in self.problems)

    @property
    def checked_target(self) -> Item | None:
        """The target whose answers the static analysis reads: None when the condition has no
        usable one (`problem` is no-target, self or inner)."""
        return None if self.problem in ("no-target", "self", "inner") else self.target

    def matches(self, answer: dict) -> bool | None:
        """Whether one response answer equals this condition's answer (its `=`), None: cannot say."""
        if self.answer_key is None or self.broken:
            return None
        return compile_test("=", self.answer_key, self.answer)([answer])

    def __repr__(self) -> str:
        return f"Condition({self.path}, {self.question!r} {self.operator} {self.answer!r})"


class QuestionnaireModel:
    """The model of one Questionnaire (see the module docstring). `items` in document order."""

    def __init__(self, questionnaire: Any):
        self.questionnaire = questionnaire
        self.items: list[Item] = []
        self.top: list[Item] = []
        self.by_link_id: dict[str, Item] = {}
        self.duplicates: dict[str, list[Item]] = {}
        self.conditions: list[Condition] = []
        # (kind, item or None, FHIRPath) of what could not be read, in document order: item-not-a-list,
        # item-not-an-object, no-linkId, duplicate-linkId, item-type, too-deep.
        self.notes: list[tuple[str, Item | None, str]] = []
        self.is_questionnaire = isinstance(questionnaire, dict) and questionnaire.get("resourceType") == ROOT
        # Checks made once per response (effectivePeriod against authored; items enabled by an
        # expression): constraints.ResponseConstraints, or None.
        self.response_constraints = None
        if isinstance(questionnaire, dict):
            self._build(questionnaire)
            for item in self.items:
                self._conditions(item)
            self.response_constraints = compile_response_constraints(questionnaire)

    @property
    def nodes(self) -> list[Item]:
        return self.items

    def outcomes(self, codesystems=None) -> list[tuple[Item, dict]]:
        """(item, outcome) of every item that is an outcome (`Item.outcome`), in document order."""
        found = []
        for item in self.items:
            outcome = item.outcome(codesystems)
            if outcome is not None:
                found.append((item, outcome))
        return found

    def dependencies(self, item: Item) -> Iterator[Item]:
        """What an item's enabledness depends on: its parent, then the targets of its conditions."""
        if item.parent is not None:
            yield item.parent
        for condition in item.conditions:
            if condition.target is not None and condition.target is not item:
                yield condition.target

    # -- building ---------------------------------------------------------------------------

    def _build(self, questionnaire: dict) -> None:
        items, notes = self.items, self.notes
        first: dict[str, Item] = self.by_link_id
        seen: dict[str, list[Item]] = {}
        top = questionnaire.get("item")
        if top is not None and not isinstance(top, list):
            notes.append(("item-not-a-list", None, f"{ROOT}.item"))
            top = None
        # Depth first in document order, iteratively: a stack of (position iterator, parent).
        stack: list[tuple[Iterator, Item | None, list]] = [(enumerate(top or ()), None, self.top)]
        while stack:
            positions, parent, siblings = stack[-1]
            step = next(positions, None)
            if step is None:
                stack.pop()
                continue
            pos, element = step
            path = f"{parent.path if parent is not None else ROOT}.item[{pos}]"
            if not isinstance(element, dict):
                notes.append(("item-not-an-object", None, path))
                continue
            node = Item(len(items), element, parent, pos, path)
            items.append(node)
            siblings.append(node)
            if not node.link_id:
                notes.append(("no-linkId", node, path))
            elif node.link_id in first:
                notes.append(("duplicate-linkId", node, path))
                seen[node.link_id].append(node)
            else:
                first[node.link_id] = node
                seen[node.link_id] = [node]
            if node.type not in ITEM_VALUE_KEYS or node.type == "question":
                notes.append(("item-type", node, f"{path}.type"))
            children = element.get("item")
            if children is None:
                continue
            if not isinstance(children, list):
                notes.append(("item-not-a-list", node, f"{path}.item"))
                continue
            if node.depth + 1 >= MAX_DEPTH:
                notes.append(("too-deep", node, ROOT))
                continue
            stack.append((enumerate(children), node, node.children))
        self.duplicates = {k: v for k, v in seen.items() if len(v) > 1}

    def _conditions(self, owner: Item) -> None:
        for index, element in enumerate(as_list(owner.item.get("enableWhen"))):
            if not isinstance(element, dict):
                continue
            condition = Condition(owner, index, element)
            self._resolve(condition)
            owner.conditions.append(condition)
            self.conditions.append(condition)

    def _resolve(self, condition: Condition) -> None:
        owner, element = condition.owner, condition.element
        question, operator = condition.question, condition.operator
        target = self.by_link_id.get(question) if question is not None else None
        condition.target = target
        problems: list[str] = []
        if target is None:
            problems.append("no-target")
        elif target is owner:
            problems.append("self")
        elif owner in target.lineage:
            problems.append("inner")
        elif target.index > owner.index:
            problems.append("after")
        keys = condition.answer_keys
        key = keys[0] if len(keys) == 1 else None
        if operator not in OPERATORS:
            problems.append("no-operator" if element.get("operator") is None else "operator")
        elif not keys:
            problems.append("no-answer")
        elif key is None or key not in ANSWER_KEYS:
            problems.append("answers")
        elif operator == "exists" and key != "answerBoolean":
            problems.append("exists-not-boolean")
        elif operator in ORDERING and key in UNORDERED:
            problems.append("not-orderable")
        elif key in OBJECT_ANSWERS and not isinstance(element[key], dict):
            problems.append("answer-not-object")
        elif not VALUE_TYPE_OK["value" + key[6:]](element[key]):
            problems.append("answer-json-type")  # untrusted JSON: "answerString": 3 was compared with '>'
        elif target is not None and not _fits(operator, key, target):
            problems.append("type")
        condition.problems = tuple(problems)
        condition.problem = _analysis_problem(condition, target)
        if not condition.broken:
            condition.test = compile_test(operator, key, element[key])


def _fits(operator: str, key: str, target: Item) -> bool:
    """Whether an enableWhen answer[x] can ever equal an answer of `target`."""
    if target.type in NO_ANSWERS:
        return False  # any operator: such an item never has answers
    if operator == "exists":
        return True
    allowed = allowed_answer_keys(target.type, target.option_keys)
    return allowed is None or key in allowed


def _analysis_problem(condition: Condition, target: Item | None) -> str | None:
    """Why the static analysis of the rules cannot use a condition (a single reason)."""
    if condition.question is None:
        return "no-target"
    first = condition.problems[0] if condition.problems else None
    if first in ("no-target", "self", "inner"):
        return first
    allowed = allowed_answer_keys(target.type, target.option_keys)
    if condition.operator != "exists" and allowed is not None and condition.answer_key not in allowed:
        return "type"
    if condition.operator == "exists" and not isinstance(condition.answer, bool):
        return "type"
    if target.type in NO_ANSWERS:
        return "type"
    return None


def build(questionnaire: Any) -> QuestionnaireModel:
    """The model of a Questionnaire (a parsed JSON dict; anything else gives an empty model)."""
    return QuestionnaireModel(questionnaire)
