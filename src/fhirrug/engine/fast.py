"""The fast path of the flat walker: a response evaluator specialised per Questionnaire.

Most responses a pipeline sees are ordinary: every item known, in questionnaire order, each
question answered once with a well-typed value (a Coding from the item's answerOptions), no
nesting under answers, no text that differs from the Questionnaire. For a flat plan whose
conditions can never be indeterminate, `compile_fast(plan)` builds

- a table-driven walker that records, per plan node, the answer *value* (`V[k]`; `True` for a
  group present with child items) and the item's position in its list (`P[k]`), allocating
  nothing per item, and declines (raises `Declined`) at the first thing it does not expect: an
  unknown or misplaced linkId, items out of order or repeated, several answers or none, extra
  answer keys, a wrong value type, a Coding outside the options, an answerValueSet,
  `answer.item`, a `text` that differs, `item` on a question, anything that is not the expected
  JSON type. Every such shape is tested for explicitly: the walker declines only what it checked,
  so any other exception is a bug, and `Plan.evaluate` reports it as one (an internal error on
  that response) instead of hiding it behind the general walker;
- one generated straight-line function that decides enabledness of every node in the plan's
  dependency order with the conditions inlined (boolean and Coding `=`/`!=`, `exists`), and
  then finds the answers on disabled items and the required items left unanswered.

When the walker declines, nothing of its work is kept and the general flat walker
(`run.evaluate_flat`) evaluates the response from scratch, so every result (enabled flags,
issues and their order, outcomes) is the general path's by construction. The issues the fast
path can find itself (answer on a disabled item, required item missing) are recorded as the
same lazy records as the general path's, with the response paths computed only when the issues
are read. `tests/engine/test_engine_fastpath.py` checks that both paths agree.
"""

from __future__ import annotations

from itertools import compress
from operator import itemgetter
from typing import Any

from ..issues import ERROR, WARNING
from ..model.compare import never as _never
from ..model.types import VALUE_PYTHON_TYPES as _FAST_TYPES
from .findings import QR
from .findings import missing as _missing
from .findings import not_enabled as _not_enabled

# Node kinds of the walker.
_OTHER = 0  # never answered in the fast path: display, group without children, no fast key
_QUESTION = 1  # answered with one well-typed value
_GROUP = 2  # a group with child items

class Declined(Exception):
    """The response has a shape the fast path does not handle: the general walker decides."""


_Slow = Declined  # the name the walker below raises

# What makes `Plan.evaluate` fall back to the general walker: a shape the walker declined, or
# nesting deeper than Python's stack allows. Nothing else: any other exception is a bug.
FALLBACK = (Declined, RecursionError)


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


def compile_fast(plan, sparse: bool | None = None):
    """The fast evaluator of a flat plan: `fast(response, issues, file) -> (flags, outcomes)` (the
    issues appended to `issues`), which raises `Declined` when the response needs the general
    walker; None when the plan does not qualify.

    sparse: None decides per response whether to decide only the blocks it touches or every
    node at once (whichever costs less); True and False force one way (the tests check that
    both agree with the general walker)."""
    if not plan.flat or not plan.nodes or plan.enable is None:
        return None
    nodes = plan.nodes
    n = len(nodes)
    kinds = []
    for node in nodes:
        if node.fast_key is not None and node.fast_key in _FAST_TYPES and node.value_keys:
            kinds.append(_QUESTION)
        elif node.type == "group" and node.children:
            kinds.append(_GROUP)
        else:
            kinds.append(_OTHER)
    KIND = tuple(kinds)

    # Per list level, linkId -> everything the walker needs about the item, in one lookup:
    # (node index, kind, value key, value type, Coding options, text, the children's level).
    # Coding options: the frozenset of (system, code); None for any Coding; False: not a Coding.
    levels: dict[int, dict] = {}

    def level(children: dict) -> dict:
        out = {}
        for link, node in children.items():
            k = node.index
            options = node.fast_options if node.fast_key == "valueCoding" else False
            child = None
            if KIND[k] == _GROUP:
                child = levels.get(k)
                if child is None:
                    child = levels[k] = level(node.child_by_linkid)
            out[link] = (k, KIND[k], node.fast_key, node.fast_type, options, node.text, child)
        return out

    top_level = level(plan.top_by_linkid)

    def walk(items: list, index: dict, V: list, P: list, answered: list) -> None:
        last = -1
        for i, item in enumerate(items):
            if item.__class__ is not dict:
                raise _Slow
            try:
                k, kind, key, typ, opts, text, child = index[item["linkId"]]
            except (KeyError, TypeError):  # no linkId, one unknown here, or one that is no string
                raise _Slow from None
            if k <= last:  # out of order, or repeated
                raise _Slow
            last = k
            P[k] = i
            if kind == 1:  # a question answered in the fast path
                ans = item.get("answer")
                if len(item) != 2:
                    if item.get("item") is not None:
                        raise _Slow
                    shown = item.get("text")
                    if shown is not None and shown != text:
                        raise _Slow
                    if ans is None:
                        continue
                if ans.__class__ is not list or len(ans) != 1:
                    raise _Slow
                a = ans[0]
                if a.__class__ is not dict or len(a) != 1:
                    raise _Slow
                v = a.get(key)
                if v.__class__ is not typ:
                    raise _Slow
                if opts is not False:
                    # A Coding is kept as its (system, code): all an enableWhen compares.
                    system, code = v.get("system"), v.get("code")
                    if code.__class__ is not str or (system is not None and system.__class__ is not str):
                        raise _Slow
                    v = (system, code)
                    if opts is not None and v not in opts:
                        raise _Slow
                V[k] = v
                answered.append(k)
            elif kind == 2:  # a group with child items
                sub = item.get("item")
                if len(item) != 2:
                    if item.get("answer") is not None:
                        raise _Slow
                    shown = item.get("text")
                    if shown is not None and shown != text:
                        raise _Slow
                    if sub is None:
                        continue
                if sub.__class__ is not list:
                    raise _Slow
                if sub:
                    V[k] = True
                    walk(sub, child, V, P, answered)
            elif len(item) != 1:
                if item.get("answer") is not None or item.get("item") is not None:
                    raise _Slow
                shown = item.get("text")
                if shown is not None and shown != text:
                    raise _Slow

    whole = _generate_whole(plan, KIND)
    if whole is None:
        return None
    parts = _generate(plan, KIND) if sparse is not False else None
    NONE = [None] * n
    # top-level linkId -> the bit of its block, and what deciding that block costs (in nodes
    # decided; a block call costs about as much as 27 nodes, choosing blocks about 40).
    TOP_BITS = parts.top_bits if parts is not None else {}
    TOP_COST = parts.top_costs if parts is not None else {}
    always = sparse is True

    def fast(response: dict, issues: list, file: str):
        V = NONE.copy()
        P = NONE.copy()
        answered: list = []
        items = response.get("item")
        D = 0
        cost = 40
        if items is not None:
            if items.__class__ is not list:
                raise _Slow
            walk(items, top_level, V, P, answered)
            if parts is not None:
                for item in items:  # the blocks the response holds items of (all known: walked)
                    link = item["linkId"]
                    D |= TOP_BITS[link]
                    cost += TOP_COST[link]
        # Decide only the blocks the response touches, unless that costs more than deciding all.
        if parts is not None and (always or cost < n):
            flags, outs, missing = parts(V, P, D)
        else:
            flags, outs, missing = whole(V, P)
        if answered and not all(map(flags.__getitem__, answered)):
            for k in answered:  # answers on disabled items, in response order (= node order here)
                if not flags[k]:
                    issues.append((ERROR, _not_enabled_lazy, (plan, P, k, file)))
        if missing:
            severity = ERROR if response.get("status") in ("completed", "amended") else WARNING
            for k in missing:
                issues.append((severity, _missing_lazy, (plan, P, k, severity, file)))
        return flags, outs

    return fast


def _generate_whole(plan, KIND: tuple):
    """One straight-line function `decide(V, P) -> (flags, outcomes, required-missing)` deciding
    every node of the plan, mirroring `Plan._generate` (same dependency order, same cycles) on
    the answer values vK. Cheaper than choosing what to skip when a response touches most of
    the Questionnaire (or the Questionnaire is small)."""
    namespace: dict = {"E": ()}
    nodes = plan.nodes
    used: set[int] = set()
    body: list[str] = []
    for index in sorted(plan.cyclic):
        body.append(f"    e{index} = False")

    def const(value: Any) -> str:
        name = f"c{len(namespace)}"
        namespace[name] = value
        return name

    names: dict[int, str] = {}

    def e(k: int) -> str:
        return names.get(k) or f"e{k}"

    for node in plan.order:
        parent = e(node.parent.index) if node.parent is not None else None
        if node.conds is None:
            if node.index in plan.cyclic:
                body.append(f"    e{node.index} = {parent or 'True'}")
            else:
                names[node.index] = parent or "True"
            continue
        terms = _terms(node, KIND, e, parent, const, used)
        if terms is None:
            return None
        joined = (" or " if node.any else " and ").join(terms)
        body.append(f"    e{node.index} = {parent} and ({joined})" if parent and parent != "True" else f"    e{node.index} = ({joined})")
    lines = ["def decide(V, P):"]
    if used:
        lines.append("    " + "".join(f"v{k}, " if k in used else "_, " for k in range(len(nodes))) + "= V")
    lines += body
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
        empty = f"V[{k}] is not True" if group else f"V[{k}] is None"
        lines.append(f"    if {e(k)}{present} and {empty}:")
        lines.append(f"        missing = [{k}] if missing is None else missing + [{k}]")
    lines.append("    return flags, outs, missing")
    source = "\n".join(lines) + "\n"
    try:
        exec(compile(source, f"<fhirrug fast plan {plan.canonical}>", "exec"), namespace)  # noqa: S102 - our own generated code
    except (RecursionError, MemoryError, SyntaxError):  # pragma: no cover - enormous plans
        return None
    return namespace["decide"]


def _terms(node, KIND, e, parent, const, used) -> list[str] | None:
    """The generated expression of each condition of a node (None: the fast path cannot)."""
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
            # vT is the answer's (system, code); the test compares the code, and the system
            # when the enableWhen Coding has one.
            system, code = expected.get("system"), expected.get("code")
            match = f"v{t}[1] == {const(code)}" if system is None else f"v{t} == {const((system, code))}"
            hit = f"({guard}v{t} is not None and {match})"
            terms.append(hit if op == "=" else f"(not {hit})")
        elif key == "valueCoding":
            return None  # a test that would need the whole Coding (never for a valid Questionnaire)
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
    # Strongly connected components in dependency order (Tarjan emits a component after every
    # component it reaches, i.e. after the blocks it reads).
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on: set[int] = set()
    order: list[list[int]] = []
    counter = 0
    for root in tops:
        if root in index:
            continue
        work = [(root, iter(sorted(reads[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            top, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(reads[nxt]))))
                    break
                if nxt in on:
                    low[top] = min(low[top], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[top])
                if low[top] == index[top]:
                    component = []
                    while True:
                        member = stack.pop()
                        on.discard(member)
                        component.append(member)
                        if member == top:
                            break
                    order.append(sorted(component))
    position = {n.index: i for i, n in enumerate(plan.order)}
    members: dict[int, list[int]] = {}
    for node in nodes:
        members.setdefault(top_of[node.index], []).append(node.index)
    return [sorted((k for t in component for k in members[t]), key=position.__getitem__) for component in order]


def _generate(plan, KIND: tuple):
    """`decide(V, P, D) -> (flags, outcomes, required-missing)`: the enable pass of the plan on
    the answer values vK, mirroring `Plan._generate` (same dependency order, same cycles).

    Only the blocks (`_blocks`: top-level items with what is under them) a response touches are
    decided: D starts as the blocks the response holds items of; deciding a block adds the
    blocks that read one of its items whose flag differs from the empty response's or that has
    an answer. Every other block keeps the flags of the empty response, computed once here. So a
    response costs what its items and the conditions that depend on them cost, not what the
    whole Questionnaire costs. Each block is one straight-line generated function."""
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
    # Which blocks read a node (as a condition target): to mark when it has an answer or a flag
    # other than the empty response's.
    readers: dict[int, int] = {}
    for node in nodes:
        for cond in node.conds or ():
            target = cond.target
            if target is not None and block_of[target.index] != block_of[node.index]:
                readers[target.index] = readers.get(target.index, 0) | (1 << block_of[node.index])
    required_by_block: dict[int, list] = {}
    for entry in plan.required_flat:
        required_by_block.setdefault(block_of[entry[0]], []).append(entry)
    namespace: dict = {"E": (), "compress": compress}

    def const(value: Any) -> str:
        name = f"c{len(namespace)}"
        namespace[name] = value
        return name

    functions = []
    for b, block in enumerate(blocks):
        source = _block_source(plan, KIND, b, block, block_of, readers, required_by_block.get(b, ()), base, const)
        if source is None:
            return None
        try:
            exec(compile(source, f"<fhirrug fast plan {plan.canonical} block {b}>", "exec"), namespace)  # noqa: S102 - our own generated code
        except (RecursionError, MemoryError, SyntaxError):  # pragma: no cover - enormous plans
            return None
        functions.append(namespace[f"block{b}"])
    BLOCKS = tuple(functions)
    BASE = list(base)
    # A block the response leaves out has no answers: only its top-level required item, when
    # enabled in the empty response, is missing; its outcomes are those of the empty response.
    base_missing = tuple((1 << block_of[k], k) for k, p, group, node in plan.required_flat if p < 0 and base[k])
    base_outs = tuple((1 << block_of[n.index], n.outcome) for n in plan.outcome_nodes if base[n.index])
    # Blocks are decided in dependency order; their outcomes come out in questionnaire order
    # unless a block reads a later one (or the empty response has outcomes of its own).
    unordered = not all(min(blocks[i]) < min(blocks[i + 1]) for i in range(len(blocks) - 1))
    reorder = bool(base_outs) or unordered
    rank = {id(n.outcome): n.index for n in plan.outcome_nodes}

    def decide(V: list, P: list, D: int):
        F = BASE.copy()
        missing: list = []
        outs: list = []
        seen = D
        while D:
            low = D & -D
            D ^= low
            more = BLOCKS[low.bit_length() - 1](F, V, P, missing, outs)
            if more:
                D |= more
                seen |= more
        if base_missing:
            for bit, k in base_missing:
                if not seen & bit:
                    missing.append(k)
            missing.sort()  # questionnaire order, as the general walker reports them
        elif unordered and len(missing) > 1:
            missing.sort()
        if reorder:
            outs += [outcome for bit, outcome in base_outs if not seen & bit]
            outs.sort(key=lambda outcome: rank[id(outcome)])
        return F, outs, missing

    # By linkId as the walker finds items (a repeated linkId: its first item).
    decide.top_bits = {link: 1 << block_of[node.index] for link, node in plan.top_by_linkid.items()}
    decide.top_costs = {link: 27 + len(blocks[block_of[node.index]]) for link, node in plan.top_by_linkid.items()}
    return decide


def _block_source(plan, KIND, b, block, block_of, readers, required, base, const) -> str | None:
    """The generated function deciding one block (see `_generate`)."""
    nodes = plan.nodes
    mine = set(block)
    lines: list[str] = []
    used: set[int] = set()  # answer values read
    outside: set[int] = set()  # flags read from other blocks (already decided, or the empty response's)
    for index in sorted(plan.cyclic & mine):
        lines.append(f"    e{index} = False")
    names: dict[int, str] = {}

    def e(k: int) -> str:
        if k not in mine:
            outside.add(k)
            return f"f{k}"
        return names.get(k) or f"e{k}"

    for k in block:
        node = nodes[k]
        parent = e(node.parent.index) if node.parent is not None else None
        if node.conds is None:
            if node.index in plan.cyclic:
                lines.append(f"    e{node.index} = {parent or 'True'}")
            else:
                names[node.index] = parent or "True"
            continue
        terms = _terms(node, KIND, e, parent, const, used)
        if terms is None:
            return None
        joined = (" or " if node.any else " and ").join(terms)
        lines.append(f"    e{node.index} = {parent} and ({joined})" if parent and parent != "True" else f"    e{node.index} = ({joined})")
    head = [f"def block{b}(F, V, P, missing, outs):"]
    inner = sorted(t for t in used if t in mine)
    if len(inner) > 2:
        # The block's own values in one slice (its nodes are mostly one run of indexes).
        lo, hi = inner[0], inner[-1] + 1
        head.append("    " + "".join(f"v{t}, " if t in used else "_, " for t in range(lo, hi)) + f"= V[{lo}:{hi}]")
        rest = [t for t in used if not lo <= t < hi]
    else:
        rest = list(used)
    head += [f"    v{t} = V[{t}]" for t in sorted(rest)]
    head += [f"    f{k} = F[{k}]" for k in sorted(outside)]
    lines = head + lines
    # The block's flags into F, one slice per run of consecutive indexes.
    run: list[int] = []
    for k in sorted(mine) + [None]:
        if run and (k is None or k != run[-1] + 1):
            lines.append(f"    F[{run[0]}:{run[-1] + 1}] = [" + ", ".join(e(x) for x in run) + "]")
            run = []
        if k is not None:
            run.append(k)
    # The outcomes reached, in questionnaire order within the block.
    for k in sorted(mine):
        if nodes[k].outcome is not None:
            lines.append(f"    if {e(k)}:")
            lines.append(f"        outs.append({const(nodes[k].outcome)})")
    # Required items enabled, under a present parent, and unanswered (groups: without items).
    for k, p, group, node in required:
        present = f" and P[{p}] is not None" if p >= 0 else ""
        empty = f"V[{k}] is not True" if group else f"V[{k}] is None"
        lines.append(f"    if {e(k)}{present} and {empty}:")
        lines.append(f"        missing.append({k})")
    # The blocks that read an item of this one which has an answer or another flag than in
    # the empty response.
    marks = []
    for k in sorted(mine):
        mask = readers.get(k)
        if not mask:
            continue
        changed = f"{e(k)} is not {base[k]!r}"
        if KIND[k] == _QUESTION:
            changed = f"V[{k}] is not None or {changed}"
        marks.append((changed, mask))
    if marks:
        lines.append("    more = 0")
        for changed, mask in marks:
            lines.append(f"    if {changed}:")
            lines.append(f"        more |= {mask}")
        lines.append("    return more")
    else:
        lines.append("    return 0")
    return "\n".join(lines) + "\n"


def _describe(cond) -> tuple:
    """(operator, answer key, expected value) of a compiled condition, from the Questionnaire."""
    return cond.ew if cond.ew is not None else (None, None, None)
