"""The fast path of the flat walker: a response evaluator specialised per Questionnaire.

Most responses a pipeline sees are ordinary: every item known, in questionnaire order, each
question answered once with a well-typed value (a Coding from the item's answerOptions), no
nesting under answers, no text that differs from the Questionnaire. For a flat plan whose
conditions can never be indeterminate, `compile_fast(plan)` builds

- a table-driven walker that records, per plan node, the answer *value* (`V[k]`; `True` for a
  group present with child items) and the item's position in its list (`P[k]`), allocating
  nothing per item, and gives up (raises) at the first thing it does not expect: an unknown or
  misplaced linkId, items out of order or repeated, several answers or none, extra answer keys,
  a wrong value type, a Coding outside the options, an answerValueSet, `answer.item`, a `text`
  that differs, `item` on a question, anything that is not the expected JSON type;
- one generated straight-line function that decides enabledness of every node in the plan's
  dependency order with the conditions inlined (boolean and Coding `=`/`!=`, `exists`), and
  then finds the answers on disabled items and the required items left unanswered.

When the walker gives up, nothing of its work is kept and the general flat walker
(`run.evaluate_flat`) evaluates the response from scratch, so every result (enabled flags,
issues and their order, outcomes) is the general path's by construction. The issues the fast
path can find itself (answer on a disabled item, required item missing) are recorded as the
same lazy records as the general path's, with the response paths computed only when the issues
are read. `tests/engine/test_engine_fastpath.py` checks that both paths agree.
"""

from __future__ import annotations

from typing import Any

from ..issues import ERROR, WARNING
from .plan import _never
from .run import _missing, _not_enabled

QR = "QuestionnaireResponse"

# Node kinds of the walker.
_OTHER = 0  # never answered in the fast path: display, group without children, no fast key
_QUESTION = 1  # answered with one well-typed value
_GROUP = 2  # a group with child items

_FAST_TYPES = {
    "valueBoolean": bool, "valueInteger": int, "valueDecimal": float, "valueString": str,
    "valueDate": str, "valueDateTime": str, "valueTime": str, "valueUri": str, "valueCoding": dict,
    "valueQuantity": dict, "valueReference": dict, "valueAttachment": dict,
}


class _Slow(Exception):
    """The response is unusual: the general walker decides."""


# What the walker raises on input it does not expect (a missing key, a value of another JSON type,
# not exactly one answer, nesting deeper than Python's stack). Anything else is a bug, not a
# fallback, and propagates.
FALLBACK = (_Slow, LookupError, TypeError, ValueError, AttributeError, RecursionError)


def _item_path(plan, P: list, k: int) -> str:
    """The response path of node k's item (present: so are all its ancestors, in the fast path)."""
    parts = []
    node = plan.nodes[k]
    while node is not None:
        parts.append(f".item[{P[node.index]}]")
        node = node.parent
    return QR + "".join(reversed(parts))


def _list_path(plan, P: list, k: int) -> str:
    parent = plan.nodes[k].parent
    return QR if parent is None else _item_path(plan, P, parent.index)


def _not_enabled_lazy(plan, P: list, k: int, file: str):
    return _not_enabled(plan.nodes[k], _list_path(plan, P, k), P[k], file)


def _missing_lazy(plan, P: list, k: int, severity: str, file: str):
    node = plan.nodes[k]
    probe = node
    expression = QR
    while probe is not None:
        if P[probe.index] is not None:
            expression = _item_path(plan, P, probe.index)
            break
        probe = probe.parent
    return _missing(node, expression, severity, file)


def compile_fast(plan):
    """The fast evaluator of a flat plan: `fast(response, issues, file) -> (flags, outcomes)` (the
    issues appended to `issues`), which raises when the response needs the general walker; None
    when the plan does not qualify."""
    if not plan.flat or not plan.nodes or plan.enable is None:
        return None
    nodes = plan.nodes
    n = len(nodes)
    kinds, keys, types, options, texts = [], [], [], [], []
    for node in nodes:
        if node.fast_key is not None and node.fast_key in _FAST_TYPES and node.value_keys:
            kinds.append(_QUESTION)
        elif node.type == "group" and node.children:
            kinds.append(_GROUP)
        else:
            kinds.append(_OTHER)
        keys.append(node.fast_key)
        types.append(node.fast_type)
        options.append(node.fast_options)
        texts.append(node.text)
    KIND, TEXT = tuple(kinds), tuple(texts)
    # Per question node answered in the fast path: (value key, value type, Coding options: the
    # frozenset, None for any Coding, False for a value that is not a Coding); None for the others.
    SPEC = tuple(
        (keys[k], types[k], (options[k] if keys[k] == "valueCoding" else False)) if kinds[k] == _QUESTION else None for k in range(n)
    )
    # linkId -> node index, per list level (the same dicts the general walker looks items up in).
    # An item with value constraints (model/constraints.py) is left out of these indexes: the
    # lookup fails (KeyError) and the general walker, which checks them, evaluates the response.
    top_index = {link: node.index for link, node in plan.top_by_linkid.items() if node.constraints is None}
    CHILD = tuple({link: child.index for link, child in node.child_by_linkid.items() if child.constraints is None} for node in nodes)

    def walk(items: list, index: dict, V: list, P: list, answered: list) -> None:
        last = -1
        for i, item in enumerate(items):
            k = index[item["linkId"]]  # not a dict, no linkId, unknown here: KeyError / TypeError
            if k <= last:  # out of order, or repeated
                raise _Slow
            last = k
            P[k] = i
            spec = SPEC[k]
            if spec is not None:  # a question answered in the fast path
                if len(item) == 2:
                    ans = item["answer"]
                else:
                    if item.get("item") is not None:
                        raise _Slow
                    text = item.get("text")
                    if text is not None and text != TEXT[k]:
                        raise _Slow
                    ans = item.get("answer")
                    if ans is None:
                        continue
                if type(ans) is not list:
                    raise _Slow
                [a] = ans  # exactly one answer, else ValueError
                if type(a) is not dict or len(a) != 1:
                    raise _Slow
                key, typ, opts = spec
                v = a[key]
                if type(v) is not typ:
                    raise _Slow
                if opts is not False:
                    # A Coding is kept as its (system, code): all an enableWhen compares.
                    v = (v.get("system"), v.get("code"))
                    if opts is not None and v not in opts:
                        raise _Slow
                V[k] = v
                answered.append(k)
            elif KIND[k] == 2:
                if len(item) == 2:
                    sub = item["item"]
                else:
                    if item.get("answer") is not None:
                        raise _Slow
                    text = item.get("text")
                    if text is not None and text != TEXT[k]:
                        raise _Slow
                    sub = item.get("item")
                    if sub is None:
                        continue
                if type(sub) is not list:
                    raise _Slow
                if sub:
                    V[k] = True
                    walk(sub, CHILD[k], V, P, answered)
            elif len(item) != 1:
                if item.get("answer") is not None or item.get("item") is not None:
                    raise _Slow
                text = item.get("text")
                if text is not None and text != TEXT[k]:
                    raise _Slow

    decide = _generate(plan, KIND)
    if decide is None:
        return None

    def fast(response: dict, issues: list, file: str):
        V = [None] * n
        P = [None] * n
        answered: list = []
        items = response.get("item")
        if items is not None:
            if type(items) is not list:
                raise _Slow
            walk(items, top_index, V, P, answered)
        flags, outs, missing = decide(V, P)
        for k in answered:  # answers on disabled items, in response order (= node order here)
            if not flags[k]:
                issues.append((ERROR, _not_enabled_lazy, (plan, P, k, file)))
        if missing:
            severity = ERROR if response.get("status") in ("completed", "amended") else WARNING
            for k in missing:
                issues.append((severity, _missing_lazy, (plan, P, k, severity, file)))
        return flags, outs

    return fast


def _generate(plan, KIND: tuple):
    """One straight-line function `decide(V, P) -> (flags, outcomes, required-missing)` mirroring
    `Plan._generate` (same dependency order, same cycle handling) on the answer values vK."""
    namespace: dict = {"E": ()}
    nodes = plan.nodes
    lines = ["def decide(V, P):", "    " + "".join(f"v{k}, " for k in range(len(nodes))) + "= V"]
    for index in sorted(plan.cyclic):
        lines.append(f"    e{index} = False")

    def const(value: Any) -> str:
        name = f"c{len(namespace)}"
        namespace[name] = value
        return name

    # The name holding each node's flag: an item without enableWhen (outside a cycle) has its
    # parent's flag, so it shares its parent's name; the line deciding it would only copy.
    names: dict[int, str] = {}

    def e(k: int) -> str:
        return names.get(k) or f"e{k}"

    for node in plan.order:
        parent = e(node.parent.index) if node.parent is not None else None
        if node.conds is None:
            if node.index in plan.cyclic:
                lines.append(f"    e{node.index} = {parent or 'True'}")
            else:
                names[node.index] = parent or "True"
            continue
        terms = []
        for cond in node.conds:
            test = cond.test
            if getattr(test, "indeterminate", True):
                return None
            target = cond.target
            kind = getattr(test, "on_empty", None)
            if test is _never:  # a broken enableWhen: never true
                terms.append("False")
                continue
            if target is None or target is node or KIND[target.index] != _QUESTION:
                # No answer is ever seen (the fast path accepts answers on questions only).
                result = test(())
                if result is not True and result is not False:  # pragma: no cover - tests return bools
                    return None
                terms.append(repr(result))
                continue
            k = target.index
            ek = e(k)
            key = target.fast_key
            op, ew_key, expected = _describe(cond)
            if op == "exists" and kind is not None:
                terms.append(f"(v{k} is not None and {ek})" if kind is False else f"(v{k} is None or not {ek})")
            elif op in ("=", "!=") and ew_key == "answerBoolean" and key == "valueBoolean" and type(expected) is bool:
                hit = f"({ek} and v{k} is {expected!r})"
                terms.append(hit if op == "=" else f"(not {hit})")
            elif op in ("=", "!=") and ew_key == "answerCoding" and key == "valueCoding" and type(expected) is dict:
                # vK is the answer's (system, code); the test compares the code, and the system
                # when the enableWhen Coding has one.
                system, code = expected.get("system"), expected.get("code")
                match = f"v{k}[1] == {const(code)}" if system is None else f"v{k} == {const((system, code))}"
                hit = f"({ek} and v{k} is not None and {match})"
                terms.append(hit if op == "=" else f"(not {hit})")
            elif key == "valueCoding":
                return None  # a test that would need the whole Coding (never for a valid Questionnaire)
            else:
                name = const(test)
                seen = f"[{{{key!r}: v{k}}}]"
                if kind is False:
                    terms.append(f"(v{k} is not None and {ek} and {name}({seen}))")
                elif kind is True:
                    terms.append(f"(v{k} is None or not {ek} or {name}({seen}))")
                else:
                    terms.append(f"{name}({seen} if v{k} is not None and {ek} else E)")
        joined = (" or " if node.any else " and ").join(terms)
        lines.append(f"    e{node.index} = {parent} and ({joined})" if parent else f"    e{node.index} = ({joined})")
    lines.append("    flags = [" + ", ".join(e(k) for k in range(len(nodes))) + "]")
    # The outcomes reached, in questionnaire order (the plan's own dicts: Evaluation copies them).
    lines.append("    outs = []")
    for node in plan.outcome_nodes:
        lines.append(f"    if {e(node.index)}:")
        lines.append(f"        outs.append({const(node.outcome)})")
    # Required items enabled, under a present parent, and unanswered (groups: without items).
    lines.append("    missing = None")
    for k, p, group, node in plan.required_flat:
        present = f" and P[{p}] is not None" if p >= 0 else ""
        empty = f"v{k} is not True" if group else f"v{k} is None"
        lines.append(f"    if {e(k)}{present} and {empty}:")
        lines.append(f"        missing = [{k}] if missing is None else missing + [{k}]")
    lines.append("    return flags, outs, missing")
    source = "\n".join(lines) + "\n"
    try:
        exec(compile(source, f"<fhirrug fast plan {plan.canonical}>", "exec"), namespace)  # noqa: S102 - our own generated code
    except (RecursionError, MemoryError, SyntaxError):  # pragma: no cover - enormous plans
        return None
    return namespace["decide"]


def _describe(cond) -> tuple:
    """(operator, answer key, expected value) of a compiled condition, from the Questionnaire."""
    return cond.ew if cond.ew is not None else (None, None, None)
