"""The fast path of the flat walker: a response evaluator specialised per Questionnaire.

A plan starts with the table walker below; after 1,000 responses it takes the walker generated
whole per Questionnaire (inline.py), which accepts and declines exactly the same shapes and
decides with the same generated code (`decide_lines`, in its local form). Plans nested too
deeply for that keep this one, and the fast path of repeating groups (repeats.py) walks with it.

Most responses a pipeline sees are ordinary: every item known, in questionnaire order, each
question answered once with a well-typed value (a Coding from the item's answerOptions), no
nesting under answers, no text that differs from the Questionnaire. For a flat plan whose
conditions can never be indeterminate, `compile_fast(plan)` builds

- a table-driven walker that records, per plan node, the answer *value* (`V[k]`: the value, a
  Coding's code when the item's options have one system, `True` for a group present with child
  items) and which items are present (`P[k]`), allocating nothing per item, and declines
  (raises `Declined`) at the first thing it does not expect: an unknown or misplaced linkId,
  items out of order or repeated, several answers or none, extra answer keys, a wrong value
  type, a Coding outside the options, an answerValueSet, `answer.item`, a `text` that differs,
  `item` on a question, anything that is not the expected JSON type. Every such shape is tested
  for explicitly: the walker declines only what it checked, so any other exception is a bug,
  and `Plan.evaluate` reports it as one (an internal error on that response) instead of hiding
  it behind the general walker;
- one generated straight-line function that decides enabledness in the plan's dependency order
  with the conditions inlined (boolean, Coding, number and string comparisons, `exists`), block
  by block: a top-level item with everything under it is decided only when the response holds
  items of it or a block it reads changed; every other block keeps the flags of the empty
  response (`_generate`). A block decided only because a block it reads changed has no answers
  of its own, so it runs a variant compiled with those answers absent (most of it constant).
  The function also finds the outcomes reached and the required items left unanswered.

When the walker declines, nothing of its work is kept and the general flat walker
(`run.evaluate_flat`) evaluates the response from scratch, so every result (enabled flags,
issues and their order, outcomes) is the general path's by construction. The issues the fast
path can find itself (answers on disabled items, required items missing) are one lazy record
each kind; their response paths are found in the response only when the issues are read.
`tests/engine/test_engine_fastpath.py` checks that both paths agree, deciding every block and
only the touched ones.
"""

from __future__ import annotations

from itertools import filterfalse
from typing import Any

from ..issues import ERROR, WARNING
from ..model.compare import never as _never
from ..model.graph import components
from ..model.types import VALUE_PYTHON_TYPES as _FAST_TYPES
from .findings import QR
from .findings import missing as _missing
from .findings import not_enabled as _not_enabled

# Node kinds of the walker.
_OTHER = 0  # never answered in the fast path: display, group without children, no fast key
_QUESTION = 1  # answered with one well-typed value
_GROUP = 2  # a group with child items
_SCOPE = 3  # a repeating group (only in plans with repeating groups: repeats.py)

class Declined(Exception):
    """The response has a shape the fast path does not handle: the general walker decides."""


_Slow = Declined  # the name the walker below raises

# What makes `Plan.evaluate` fall back to the general walker: a shape the walker declined, or
# nesting deeper than Python's stack allows. Nothing else: any other exception is a bug.
FALLBACK = (Declined, RecursionError)


def _where(plan, response: dict, k: int) -> tuple[str, int] | None:
    """(path of the list holding node k's item, its position there), found in the response:
    the walkers record which items are present, not where, so that ordinary responses never pay
    for it. None when the response does not hold it (an item whose linkId repeats in its level
    is never held: the walkers take the first). Only responses a walker accepted come here, so
    every list on the way is a list of items with linkIds."""
    items, path = response.get("item"), QR
    way = plan.nodes[k].ancestors + (plan.nodes[k],)
    for depth, node in enumerate(way):
        level = node.parent.child_by_linkid if node.parent is not None else plan.top_by_linkid
        if not items or level.get(node.linkId) is not node:
            return None
        i = next((i for i, item in enumerate(items) if item["linkId"] == node.linkId), None)
        if i is None:
            return None
        if depth == len(way) - 1:
            return path, i
        path = f"{path}.item[{i}]"
        items = items[i].get("item")
    return None  # pragma: no cover - the loop returns


def _not_enabled_all(plan, response: dict, ks: list, file: str) -> list:
    out = []
    for k in ks:
        path, i = _where(plan, response, k)  # answered, so held
        out.append(_not_enabled(plan.nodes[k], path, i, file))
    return out


def _missing_all(plan, response: dict, ks: list, severity: str, file: str) -> list:
    """The issues of the required items missing: at the item when the response holds it (a
    question without an answer, a group without items), else at its nearest ancestor held, else
    the root."""
    out = []
    for k in ks:
        probe, expression = plan.nodes[k], QR
        while probe is not None:
            found = _where(plan, response, probe.index)
            if found is not None:
                expression = f"{found[0]}.item[{found[1]}]"
                break
            probe = probe.parent
        out.append(_missing(plan.nodes[k], expression, severity, file))
    return out


def kinds(plan, scopes: bool = False) -> tuple:
    """The walker's kind of each plan node (scopes: repeating groups are `_SCOPE`, for the fast
    path of plans with repeating groups, `repeats.py`)."""
    out = []
    for node in plan.nodes:
        if node.fast_key is not None and node.fast_key in _FAST_TYPES and node.value_keys:
            out.append(_QUESTION)
        elif node.type == "group" and node.children:
            out.append(_SCOPE if scopes and node.scope else _GROUP)
        else:
            out.append(_OTHER)
    return tuple(out)


def _by_system(pairs):
    if pairs is None:
        return None
    grouped: dict = {}
    for system, code in pairs:
        grouped.setdefault(system, set()).add(code)
    return {system: frozenset(codes) for system, codes in grouped.items()}


def level(KIND: tuple, children: dict, offset: int = 0, levels: dict | None = None) -> dict:
    """The walker's table of one list level: linkId -> everything it needs about the item, in
    one lookup: (index - offset, kind, value key, value type, Coding options, text, the
    children's level, the one system of its Coding options). Coding options: system -> the
    frozenset of its codes; None for any Coding; False: not a Coding (by system, so that checking
    an answer allocates nothing). Indexes are the plan's, less `offset` (a repeating group's
    items are walked into arrays of their own)."""
    levels = {} if levels is None else levels
    out = {}
    for link, node in children.items():
        # An item with value constraints (model/constraints.py) is left out: the lookup fails
        # and the general walker, which checks them, evaluates the response.
        if node.constraints is not None:
            continue
        k = node.index
        options = _by_system(node.fast_options) if node.fast_key == "valueCoding" else False
        child = None
        if KIND[k] == _GROUP or KIND[k] == _SCOPE:
            child = levels.get(k)
            if child is None:
                child = levels[k] = level(KIND, node.child_by_linkid, k if KIND[k] == _SCOPE else offset, levels)
        # The one system of a question's Coding options: its answers are kept as their code.
        single = next(iter(options)) if options and len(options) == 1 else None
        if KIND[k] == _SCOPE:  # a repeating group: the empty arrays of a repetition
            options = [None] * (1 + len(_descendants(node)))
        out[link] = (k - offset, KIND[k], node.fast_key, node.fast_type, options, node.text, child, single)
    return out


def _descendants(node) -> list:
    """The items under `node`, in preorder (plan index order)."""
    out, stack = [], list(reversed(node.children))
    while stack:
        child = stack.pop()
        out.append(child)
        stack.extend(reversed(child.children))
    return out


# Items with keys besides linkId and answer (or item): rare, so checked out of line, for both
# walkers (`walk` here, the generated one in inline.py). Each raises `Declined` at what the fast
# path does not take.


def _shown_differs(item: dict, text) -> bool:
    shown = item.get("text")
    return shown is not None and shown != text


def _question_keys(item: dict, text):
    """The one answer of a question with other keys, or None when it has none (raises
    ValueError or TypeError, which the caller declines, when `answer` is not a list of one)."""
    if item.get("item") is not None or _shown_differs(item, text):
        raise Declined
    answers = item.get("answer")
    if answers is None:
        return None
    [answer] = answers
    return answer


def _other_keys(item: dict, text) -> None:
    """A display item (or an item the fast path never sees answered) with other keys."""
    if item.get("answer") is not None or item.get("item") is not None or _shown_differs(item, text):
        raise Declined


def _group_keys(item: dict, text):
    """The items of a group with other keys (None: none)."""
    if item.get("answer") is not None or _shown_differs(item, text):
        raise Declined
    return item.get("item")


def walk(items: list, index: dict, V: list, P: list, answered) -> None:
    """Record the items of one list (`index`: its level table) and of every group in it: `V[k]`
    the answer value (a group with items: True), `P[k]` True for an item present without an
    answer value; `answered` appends the index of each question answered. A repeating group's
    repetitions are walked into arrays of their own (by index less the group's, the group's
    slot 0 True when it holds items): `V[k]` is the list of their (V, P). Raises `Declined` at
    anything else. Iterative: a group's items are walked in place (a stack of the lists being
    walked), not by a call per group."""
    stack: list = []
    last = -1
    level = iter(items)
    while True:
        for item in level:
            if item.__class__ is not dict:
                raise _Slow
            try:
                k, kind, key, typ, opts, text, child, single = index[item["linkId"]]
            except (KeyError, TypeError):  # no linkId, one unknown here, or one that is no string
                raise _Slow from None
            if k <= last and (k != last or kind != _SCOPE):  # out of order, or repeated (a repeating group: in a row)
                raise _Slow
            last = k
            if kind == 1:  # a question answered in the fast path (its position found when needed)
                # (Subscripts, not .get(): a missing key is a KeyError, declined like the rest.
                # A string of one character or an object of one key unpacks too: then `a` is a
                # string, which is declined next.)
                try:
                    if len(item) == 2:  # linkId and answer
                        [a] = item["answer"]
                    else:
                        a = _question_keys(item, text)
                        if a is None:
                            P[k] = True  # present, unanswered
                            continue
                    if a.__class__ is not dict or len(a) != 1:
                        raise _Slow
                    v = a[key]
                except (KeyError, ValueError, TypeError):  # not exactly one answer of the type
                    raise _Slow from None
                if v.__class__ is not typ:
                    raise _Slow
                if opts is not False:
                    # A Coding: its system and code are all an enableWhen compares.
                    system, code = v.get("system"), v.get("code")
                    if code.__class__ is not str or (system is not None and system.__class__ is not str):
                        raise _Slow
                    if opts is not None:
                        codes = opts.get(system)
                        if codes is None or code not in codes:
                            raise _Slow
                        if single is not None:
                            v = code  # the system is the options' one
                V[k] = v
                answered(k)
            elif kind == 0:
                P[k] = True  # present
                if len(item) != 1:
                    _other_keys(item, text)
            else:  # a group with child items (or a repeating one)
                P[k] = True  # present
                if len(item) == 2:  # linkId and item
                    try:
                        sub = item["item"]
                    except KeyError:
                        raise _Slow from None
                else:
                    sub = _group_keys(item, text)
                if sub is not None and sub.__class__ is not list:
                    raise _Slow
                if kind == _SCOPE:  # a repetition: arrays of its own (`opts`: the empty ones)
                    reps = V[k]
                    if reps is None:
                        reps = V[k] = []
                    if not sub:
                        reps.append((opts, opts))  # no items: nothing is written into them
                        continue
                    here = (opts.copy(), opts.copy())
                    here[0][0] = True
                    reps.append(here)
                    stack.append((level, index, last, V, P))
                    V, P = here
                    level, index, last = iter(sub), child, -1
                    break
                if sub:
                    V[k] = True
                    # Into the group's items; this list goes on after them.
                    stack.append((level, index, last, V, P))
                    level, index, last = iter(sub), child, -1
                    break
        else:  # this list is done: back to the one holding it
            if not stack:
                return
            level, index, last, V, P = stack.pop()


def compile_fast(plan, every: bool = False):
    """The fast evaluator of a flat plan: `fast(response, issues, file) -> (flags, outcomes)` (the
    issues appended to `issues`), which raises `Declined` when the response needs the general
    walker; None when the plan does not qualify.

    every: decide every block, touched or not (the tests check that both agree with the
    general walker)."""
    if not plan.flat or not plan.nodes or plan.enable is None:
        return None
    n = len(plan.nodes)
    KIND = kinds(plan)
    decide = _generate(plan, KIND, every)
    if decide is None:
        return None
    top_level = level(KIND, plan.top_by_linkid)
    NONE = [None] * n
    # every: all blocks run, as if the response touched them all
    START = (1 << decide.blocks) - 1 if every else 0

    def fast(response: dict, issues: list, file: str):
        V = NONE.copy()
        P = NONE.copy()
        answered: list = []
        items = response.get("item")
        if items is not None:
            if items.__class__ is not list:
                raise _Slow
            walk(items, top_level, V, P, answered.append)
        flags, outs, missing = decide(V, P, START)
        if answered:
            # Answers on disabled items, in response order (= node order here): one record for
            # all of them, built into Issues only when they are read.
            disabled = list(filterfalse(flags.__getitem__, answered))
            if disabled:
                issues.append((ERROR, _not_enabled_all, (plan, response, disabled, file)))
        if missing:
            severity = ERROR if response.get("status") in ("completed", "amended") else WARNING
            issues.append((severity, _missing_all, (plan, response, missing, severity, file)))
        return flags, outs

    return fast


_COMPARE = {"=": "==", "!=": "!=", ">": ">", "<": "<", ">=": ">=", "<=": "<="}


def _plain(ew_key: str, key: str, expected) -> bool:
    """Whether a condition compares a plain number or string the generated code can inline."""
    if ew_key in ("answerInteger", "answerDecimal"):
        return key in ("valueInteger", "valueDecimal") and type(expected) in (int, float)
    return ew_key == "answerString" and key == "valueString" and type(expected) is str


def _single_system(node):
    """The one system of a question's Coding options, when they have one (see the walker)."""
    options = node.fast_options if node.fast_key == "valueCoding" else None
    systems = {system for system, _ in options} if options else set()
    return next(iter(systems)) if len(systems) == 1 else None


def _terms(node, KIND, e, parent, const, used, unanswered=frozenset()) -> list[str] | None:
    """The generated expression of each condition of a node (None: the fast path cannot).

    unanswered: targets known to hold no answer here (the items of a block the response leaves
    out): their conditions are constants, what the test gives on no answers."""
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
        if target is None or target is node or KIND[target.index] != _QUESTION or target.index in unanswered:
            # No answer is ever seen (the fast path accepts answers on questions only), or none
            # is in this response.
            result = test(())
            if result is not True and result is not False:  # pragma: no cover - tests return bools
                return None
            terms.append(repr(result))
            continue
        t = target.index
        used.add(t)
        et = e(t)
        # The target's flag is implied when it is the item's parent's (or always true).
        guard = "" if et in ("True", parent) else f"{et} and "
        key = target.fast_key
        op, ew_key, expected = _describe(cond)
        if op == "exists" and kind is not None:
            terms.append(f"({guard}v{t} is not None)" if kind is False else f"(v{t} is None or not {et})")
        elif op in ("=", "!=") and ew_key == "answerBoolean" and key == "valueBoolean" and type(expected) is bool:
            hit = f"({guard}v{t} is {expected!r})"
            terms.append(hit if op == "=" else f"(not {hit})")
        elif op in ("=", "!=") and ew_key == "answerCoding" and key == "valueCoding" and type(expected) is dict:
            # vT is the answer's code when the target's options have one system, else its Coding
            # (system and code checked as strings by the walker); the test compares the code,
            # and the system when the enableWhen Coding has one.
            system, code = expected.get("system"), expected.get("code")
            only = _single_system(target)
            if only is not None:
                match = f"v{t} == {const(code)}" if system is None or system == only else "False"
            elif system is None:
                match = f"v{t}['code'] == {const(code)}"
            else:
                match = f"v{t}['code'] == {const(code)} and v{t}.get('system') == {const(system)}"
            if only is not None and type(code) is str:
                hit = f"({guard}{match})"  # vT is a code or None, and None equals no code
            else:
                hit = f"({guard}v{t} is not None and {match})"
            terms.append(hit if op == "=" else f"(not {hit})")
        elif key == "valueCoding":
            return None  # a test that would need the whole Coding (never for a valid Questionnaire)
        elif op in _COMPARE and _plain(ew_key, key, expected):
            # Numbers (integer or decimal answers, the walker having checked the type) and
            # strings compare as compare.py does: `=` by value, ordering with Python's operators.
            value = const(expected)
            if op in ("=", "!="):  # None equals no number or string
                hit = f"({guard}v{t} == {value})"
                terms.append(hit if op == "=" else f"(not {hit})")
            else:
                terms.append(f"({guard}v{t} is not None and v{t} {_COMPARE[op]} {value})")
        else:
            name = const(test)
            seen = f"[{{{key!r}: v{t}}}]"
            if kind is False:
                terms.append(f"(v{t} is not None and {et} and {name}({seen}))")
            elif kind is True:
                terms.append(f"(v{t} is None or not {et} or {name}({seen}))")
            else:
                terms.append(f"{name}({seen} if v{t} is not None and {et} else E)")
    return terms


def _blocks(plan) -> list[list[int]]:
    """The plan's nodes in blocks, in dependency order: a block is a top-level item with
    everything under it (so a parent is always in its children's block), blocks whose
    conditions depend on each other in a circle are one block, and a block comes after every
    block its conditions read. Returns the node indexes of each block."""
    nodes = plan.nodes
    top_of = [0] * len(nodes)
    for node in nodes:
        top_of[node.index] = node.ancestors[0].index if node.ancestors else node.index
    tops = [t.index for t in plan.top]
    reads: dict[int, set[int]] = {t: set() for t in tops}  # top -> the tops its conditions read
    for node in nodes:
        for cond in node.conds or ():
            if cond.target is not None and top_of[cond.target.index] != top_of[node.index]:
                reads[top_of[node.index]].add(top_of[cond.target.index])
    # Strongly connected components in dependency order: a component after every one it reads.
    order = [sorted(c) for c in components(tops, lambda top: sorted(reads[top]))]
    position = {n.index: i for i, n in enumerate(plan.order)}
    members: dict[int, list[int]] = {}
    for node in nodes:
        members.setdefault(top_of[node.index], []).append(node.index)
    return [sorted((k for t in component for k in members[t]), key=position.__getitem__) for component in order]


def _generate(plan, KIND: tuple, every: bool = False):
    """One straight-line function `decide(V, P, D) -> (flags, outcomes, required-missing)`: the
    enable pass of the plan on the answer values vK, mirroring `Plan._generate` (same
    dependency order, same cycles), block by block (`_blocks`: a top-level item with what is
    under it).

    A block's code runs when the response holds its top-level item (seen in P and V) or its bit
    is in D; D starts empty (every: full) and gains the bits of the blocks that read an item
    whose answer or flag differs from the empty response's. Every other block keeps the flags of
    the empty response, computed once here. So a response costs what its items and the
    conditions that depend on them cost, plus one test per block, not what the whole
    Questionnaire costs."""
    namespace: dict = {}
    made = decide_lines(plan, KIND, namespace, every)
    if made is None:
        return None
    lines, blocks = made
    source = "def decide(V, P, D):\n" + "\n".join(lines) + "\n    return F, outs, missing\n"
    try:
        exec(compile(source, f"<fhirrug fast plan {plan.canonical}>", "exec"), namespace)  # noqa: S102 - our own generated code
    except (RecursionError, MemoryError, SyntaxError):  # pragma: no cover - enormous plans
        return None
    decide = namespace["decide"]
    decide.blocks = len(blocks)
    return decide


def decide_lines(plan, KIND: tuple, namespace: dict, every: bool = False, local: bool = False) -> tuple[list[str], list[list[int]]] | None:
    """The body of `_generate`'s function (indented by four), which leaves the flags in `F`,
    the outcomes in `outs` and the required items missing in `missing`; and the blocks it
    decides in that order (`_blocks`). Constants go into `namespace`, the generated code's globals.

    local: the walker's records are the local variables `vK`, `pK` of the generated function,
    and `tK` says whether the response holds top-level item K (inline.py)."""
    nodes = plan.nodes
    n = len(nodes)
    if plan.enable is None:
        return None
    base = plan.enable([None] * n)  # the flags of the empty response (the general walker's)
    if any(flag is not True and flag is not False for flag in base):  # pragma: no cover - flat plans give bools
        return None
    blocks = _blocks(plan)
    block_of = [0] * n
    for b, block in enumerate(blocks):
        for k in block:
            block_of[k] = b
    # Which blocks read a node (as a condition target), to mark when it has an answer or a flag
    # other than the empty response's.
    readers: dict[int, int] = {}
    for node in nodes:
        for cond in node.conds or ():
            target = cond.target
            if target is not None and block_of[target.index] != block_of[node.index]:
                readers[target.index] = readers.get(target.index, 0) | (1 << block_of[node.index])
    # Blocks that read another block (only those can be decided without items of their own).
    readers_of_block = [False] * len(blocks)
    for mask in readers.values():
        for b in range(len(blocks)):
            if mask >> b & 1:
                readers_of_block[b] = True
    required_by_block: dict[int, list] = {}
    for entry in plan.required_flat:
        required_by_block.setdefault(block_of[entry[0]], []).append(entry)
    namespace.update({"E": (), "BASE": list(base)})

    def const(value: Any) -> str:
        name = f"c{len(namespace)}"
        namespace[name] = value
        return name

    if local:  # the flags of the empty response, per top-level item (see _block_lines)
        lines = ["    outs = []", "    missing = []", "    bad = False"]
        parts = namespace["PARTS"] = []  # (the empty response's flags, the linkIds) per top-level item
        for top in plan.top:
            t = top.index
            end = t + 1 + len(_descendants(top))
            parts.append((tuple(base[t:end]), plan.link_ids[t:end]))
            lines.append(f"    b{t} = {const(parts[-1][0])}")
    else:
        lines = ["    F = BASE.copy()", "    outs = []", "    missing = []"]
    for b, block in enumerate(blocks):
        body = _block_lines(plan, KIND, block, readers, required_by_block.get(b, ()), base, const, local=local)
        if body is None:
            return None
        # A block the response leaves out has no answers: its outcomes are the empty response's,
        # and only its top-level required item, when enabled then, is missing.
        quiet = [f"outs.append({const(nodes[k].outcome)})" for k in sorted(block) if nodes[k].outcome is not None and base[k]]
        quiet += [f"missing.append({k})" for k, p, group, node in required_by_block.get(b, ()) if p < 0 and base[k]]
        if not body and not quiet:
            continue  # nothing to decide (display items without conditions)
        # Whether the response holds the block's top-level item (a question: answered or not).
        tops = [k for k in block if nodes[k].parent is None]
        if local:
            held = " or ".join(f"t{k}" for k in tops) or "False"
        else:
            held = " or ".join(f"P[{k}] is not None or V[{k}] is not None" if KIND[k] == _QUESTION else f"P[{k}] is not None" for k in tops) or "False"
        if every:
            lines += ["    h = True", f"    if h or D & {1 << b}:"]
        elif readers_of_block[b]:
            lines += [f"    h = {held}", f"    if h or D & {1 << b}:"]
        else:
            lines.append(f"    if {held}:")
        if not body:
            lines.append("        pass")
        elif readers_of_block[b]:
            # Decided only because a block it reads changed: without answers of its own, most
            # of it is constant (`_block_lines(absent=True)`).
            absent = _block_lines(plan, KIND, block, readers, required_by_block.get(b, ()), base, const, absent=True, local=local)
            if absent is None:  # pragma: no cover - the present variant compiled, so does this
                return None
            lines.append("        if h:")
            lines += ["            " + line for line in body]
            lines.append("        else:")
            lines += ["            " + line for line in absent or ["pass"]]
        else:
            lines += ["        " + line for line in body]
        if quiet:
            lines.append("    else:")
            lines += ["        " + line for line in quiet]
    # Blocks run in dependency order: if that is not questionnaire order, put the outcomes and
    # the missing items back into questionnaire order (as the general walker reports them).
    if not all(min(blocks[i]) < min(blocks[i + 1]) for i in range(len(blocks) - 1)):
        namespace["RANK"] = {id(node.outcome): node.index for node in plan.outcome_nodes}
        lines.append("    outs.sort(key=lambda outcome: RANK[id(outcome)])")
        lines.append("    missing.sort()")
    return lines, blocks


def _flag(node, KIND, e, const, used, unanswered=frozenset()) -> str | None:
    """The generated expression of a node's flag: its parent's and its conditions', folded (None:
    a condition the generated code cannot decide)."""
    parent = e(node.parent.index) if node.parent is not None else None
    if node.conds is None:
        return parent or "True"
    terms = _terms(node, KIND, e, parent, const, used, unanswered)
    return None if terms is None else _fold(parent, terms, node.any)


def _fold(parent: str | None, terms: list[str], any_: bool) -> str:
    """`parent and (t1 and/or t2 ...)` with the constant terms folded away; "True" or "False"
    when the result is known while compiling. Every term is a bool expression, so is the result."""
    if any_:
        rest = [t for t in terms if t != "False"]
        inner = "True" if "True" in rest else " or ".join(rest) if rest else "False"
    else:
        rest = [t for t in terms if t != "True"]
        inner = "False" if "False" in rest else " and ".join(rest) if rest else "True"
    if parent == "False" or inner == "False":
        return "False"
    if inner == "True":
        return parent or "True"
    if parent is None or parent == "True":
        return f"({inner})"
    return f"{parent} and ({inner})"


_CONSTANT = {"True": True, "False": False}


def _block_lines(plan, KIND, block, readers, required, base, const, absent: bool = False, local: bool = False) -> list[str] | None:
    """The generated lines deciding one block (see `_generate`).

    absent: the variant for a block the response holds no item of, decided because a block it
    reads changed: its own items have no answers and are not present, so everything that depends
    on them alone is a constant here, and only what it reads from other blocks is computed.

    local: the walker's records are local variables `vK` and `pK` of the generated function
    (inline.py), not the lists V and P: nothing is loaded from them."""
    nodes = plan.nodes
    mine = set(block)
    lines: list[str] = []
    used: set[int] = set()  # answer values read
    outside: set[int] = set()  # flags read from other blocks (decided before, or the empty response's)
    for index in sorted(plan.cyclic & mine):
        lines.append(f"e{index} = False")
    names: dict[int, str] = {}
    unanswered = frozenset(mine) if absent else frozenset()

    def e(k: int) -> str:
        if k not in mine:
            outside.add(k)
            return f"f{k}"
        return names.get(k) or f"e{k}"

    for k in block:
        flag = _flag(nodes[k], KIND, e, const, used, unanswered)
        if flag is None:
            return None
        if k in plan.cyclic:  # read before it is decided (as False): a variable of its own
            lines.append(f"e{k} = {flag}")
        elif flag in _CONSTANT or flag.isidentifier():
            names[k] = flag
        else:
            lines.append(f"e{k} = {flag}")
    val = (lambda k: f"v{k}") if local else (lambda k: f"V[{k}]")
    pres = (lambda k: f"p{k}") if local else (lambda k: f"P[{k}]")
    if local:
        # The values are the walker's own variables; the flags are kept per top-level item, a
        # tuple `bT` of the flags of T and the items under it (numbered after it, in preorder).
        head = [f"f{k} = b{_top(nodes[k])}[{k - _top(nodes[k])}]" for k in sorted(outside)]
        lines = head + lines
        for t in sorted(k for k in mine if nodes[k].parent is None):
            flags = [e(x) for x in range(t, t + 1 + len(_descendants(nodes[t])))]
            if any(_CONSTANT.get(flag) is not base[t + i] for i, flag in enumerate(flags)):  # else bT keeps the empty response's
                lines.append(f"b{t} = (" + "".join(f"{flag}, " for flag in flags) + ")")
        if not absent:
            # Whether an item is answered while disabled (the absent variant answers none): one
            # test, stopping at the first; which ones is found when the issues are read
            # (inline.py). In chunks, as CPython's compiler is slow on very long chains.
            tests = [f"v{k} is not None" if e(k) == "False" else f"(v{k} is not None and not {e(k)})"
                     for k in sorted(mine) if KIND[k] == _QUESTION and e(k) != "True"]
            for start in range(0, len(tests), 50):
                lines.append("if not bad and (" + " or ".join(tests[start:start + 50]) + "):")
                lines.append("    bad = True")
    else:
        head = []
        inner = sorted(t for t in used if t in mine)
        if len(inner) > 2:
            # The block's own values in one slice (its nodes are one run of indexes, or few).
            lo, hi = inner[0], inner[-1] + 1
            head.append("".join(f"v{t}, " if t in used else "_, " for t in range(lo, hi)) + f"= V[{lo}:{hi}]")
            rest = [t for t in used if not lo <= t < hi]
        else:
            rest = list(used)
        head += [f"v{t} = V[{t}]" for t in sorted(rest)]
        head += [f"f{k} = F[{k}]" for k in sorted(outside)]
        lines = head + lines
    # The block's flags into F (which holds the empty response's), one slice per run of
    # consecutive indexes; flags known to be the empty response's are not written again.
    write = [] if local else [k for k in sorted(mine) if _CONSTANT.get(e(k)) is not base[k]]
    run: list[int] = []
    for k in write + [None]:
        # A run spans small gaps of the block's own items (their flags rewritten as they are),
        # never an item of another block, whose flag this code does not hold.
        if run and (k is None or k > run[-1] + 3 or any(x not in mine for x in range(run[-1] + 1, k))):
            if len(run) == 1:
                lines.append(f"F[{run[0]}] = {e(run[0])}")
            else:
                lines.append(f"F[{run[0]}:{run[-1] + 1}] = [" + ", ".join(e(x) for x in range(run[0], run[-1] + 1)) + "]")
            run = []
        if k is not None:
            run.append(k)
    # The outcomes reached, in questionnaire order within the block.
    for k in sorted(mine):
        if nodes[k].outcome is not None:
            flag = e(k)
            if flag == "True":
                lines.append(f"outs.append({const(nodes[k].outcome)})")
            elif flag != "False":
                lines.append(f"if {flag}:")
                lines.append(f"    outs.append({const(nodes[k].outcome)})")
    # Required items enabled, under a present parent, and unanswered (groups: without items).
    for k, p, group, node in required:
        flag = e(k)
        if flag == "False" or (absent and p >= 0):  # absent: no parent of the block is present
            continue
        if absent:
            if flag != "True":
                lines.append(f"if {flag}:")
            lines.append(("    " if flag != "True" else "") + f"missing.append({k})")
            continue
        # The parent is present: recorded in P, or (an answered question) by its value.
        present = [] if p < 0 else [f"{pres(p)} is not None"] if KIND[p] != _QUESTION else [f"({pres(p)} is not None or {val(p)} is not None)"]
        empty = f"{val(k)} is not True" if group else f"{val(k)} is None"
        lines.append("if " + " and ".join(([] if flag == "True" else [flag]) + present + [empty]) + ":")
        lines.append(f"    missing.append({k})")
    # The blocks that read an item of this one which has an answer or another flag than in
    # the empty response.
    changes: dict[int, list[str]] = {}  # mask -> the tests that mark it
    for k in sorted(mine):
        mask = readers.get(k)
        if not mask:
            continue
        flag = e(k)
        answered = KIND[k] == _QUESTION and not absent
        if flag in _CONSTANT and not answered:
            if _CONSTANT[flag] is not base[k]:
                changes.setdefault(mask, []).append("True")
            continue
        changes.setdefault(mask, [])
        if answered:
            changes[mask].append(f"{val(k)} is not None")
        changes[mask].append(f"{flag} is not {base[k]!r}")
    for mask, tests in changes.items():
        if "True" in tests:
            lines.append(f"D |= {mask}")
        elif tests:
            lines.append("if " + " or ".join(tests) + ":")
            lines.append(f"    D |= {mask}")
    return lines


def _top(node) -> int:
    """The index of the top-level item a node is under (its own, at the top)."""
    return node.ancestors[0].index if node.ancestors else node.index


def _describe(cond) -> tuple:
    """(operator, answer key, expected value) of a compiled condition, from the Questionnaire."""
    return cond.ew if cond.ew is not None else (None, None, None)
