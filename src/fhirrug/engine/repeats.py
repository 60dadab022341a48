"""The fast path of plans with repeating groups: each repetition decided by generated code.

A repeating group (`repeats: true` with child items) is a scope: each repetition has its own
answers, and a condition inside it sees the answers of the same repetition
(docs/enablewhen-semantics.md §3.1). The general instance walker (`run.evaluate_instances`) builds
an object per repetition and item and resolves every condition through them; for the ordinary
response of an ordinary form this module does the same work with the flat fast path's parts
(`fast.py`: the table-driven walker, the generated conditions), in arrays:

- the walker records the items outside repeating groups into arrays by plan index, and the item
  lists of each repetition of a repeating group as they come (in a row, as the general walker
  requires);
- one generated function decides the items outside repeating groups (and the groups'
  own enabledness, which depends on those items only), then one generated function per
  repeating group decides a repetition from its own arrays (a slot per item of the group) and
  the outside flags and values. A group the response leaves out is decided once, without
  answers, as the general walker completes it with one repetition.

It handles the plans where that is the whole story, and compiles to None for the others: no
repeating group inside another, no repeating question with child items, no cycle, no condition
that can be indeterminate, and no condition outside a repeating group on an item inside one
(that would need the nearest repetition). Anything unusual in a response declines (`Declined`),
and the general walker evaluates it from scratch, as for flat plans.

The result is what `Evaluation` needs for `.valid`, `.enabled` and `.outcomes`: the flags
"enabled in at least one repetition" by plan index, the outcomes reached, and the severity of the
issues found (answers on disabled items, required items missing). Everything per repetition
(`enabled_at`, `item_enabled`) and the issues themselves are taken from the general walker when
they are read, so they are the general walker's by construction.
`tests/engine/test_engine_fastpath.py` checks that both paths agree.
"""

from __future__ import annotations

from operator import or_
from typing import Any

from ..issues import ERROR, WARNING
from .fast import _CONSTANT, _QUESTION, _SCOPE, Declined, _descendants, _flag, kinds, level, walk


def compile_repeats(plan):
    """The fast evaluator of a plan with repeating groups: `fast(response, issues, file) ->
    (flags, outcomes, severity)`, flags enabled-in-some-repetition by plan index, severity that
    of the issues found (None: none); raises `Declined` for a response it does not handle. None
    when the plan does not qualify (see the module docstring)."""
    if plan.flat or not plan.nodes or plan.cyclic or plan.response_constraints is not None:
        return None
    nodes = plan.nodes
    n = len(nodes)
    KIND = kinds(plan, scopes=True)
    scope_of: list[int | None] = [None] * n  # the repeating group an item is in (its own index for the group)
    scopes: list[tuple[int, int]] = []
    for node in nodes:
        if not node.scope:
            continue
        if KIND[node.index] != _SCOPE or scope_of[node.index] is not None:
            return None  # a repeating question with child items, or a repeating group inside another
        g0 = node.index
        inside = _descendants(node)
        g1 = g0 + 1 + len(inside)
        if [x.index for x in inside] != list(range(g0 + 1, g1)):  # pragma: no cover - plans number items in preorder
            return None
        for k in range(g0, g1):
            scope_of[k] = g0
        scopes.append((g0, g1))
    for node in nodes:
        for cond in node.conds or ():
            if getattr(cond.test, "indeterminate", True):
                return None
            target = cond.target
            if target is None or target is node:
                continue
            there = scope_of[target.index]
            if there is not None and target.index != there and scope_of[node.index] != there:
                return None  # outside a repeating group, on an item inside it
    namespace: dict = {"E": ()}

    def const(value: Any) -> str:
        name = f"c{len(namespace)}"
        namespace[name] = value
        return name

    outer = [k for k in (node.index for node in plan.order) if scope_of[k] is None or scope_of[k] == k]
    source = _outer_source(plan, KIND, outer, const)
    if source is None:
        return None
    inner_sources = []
    for g0, g1 in scopes:
        lines = _inner_source(plan, KIND, g0, g1, scope_of, const)
        if lines is None:
            return None
        inner_sources.append(lines)
    try:
        exec(compile("\n".join(source + [line for lines in inner_sources for line in lines]) + "\n", f"<fhirrug repeats plan {plan.canonical}>", "exec"), namespace)  # noqa: S102 - our own generated code
    except (RecursionError, MemoryError, SyntaxError):  # pragma: no cover - enormous plans
        return None
    decide_outer = namespace["outer"]
    top_level = level(KIND, plan.top_by_linkid)
    groups = [(g0, namespace[f"scope{g0}"], [None] * (g1 - g0)) for g0, g1 in scopes]
    NONE = [None] * n
    OUTCOMES = [(node.outcome, node.index) for node in plan.outcome_nodes]

    def fast(response: dict, issues: list, file: str):
        V = NONE.copy()
        P = NONE.copy()
        items = response.get("item")
        if items is not None:
            if items.__class__ is not list:
                raise Declined
            # (The decision functions find the answered questions in V themselves.)
            walk(items, top_level, V, P, [].append)
        F, missing, disabled = decide_outer(V, P)
        for g0, decide, empty in groups:
            reps = V[g0]  # the (V, P) of each repetition (the walker's)
            if reps is None:  # not in the response: one repetition without answers
                flags, miss, off = decide(((empty, empty),), F, V, P, False)
            else:
                flags, miss, off = decide(reps, F, V, P, True)
            missing = missing or miss
            disabled = disabled or off
            F[g0:g0 + len(flags)] = flags  # enabled in at least one repetition
        outcomes = [outcome for outcome, k in OUTCOMES if F[k]]
        if disabled:
            severity = ERROR
        elif missing:
            severity = ERROR if response.get("status") in ("completed", "amended") else WARNING
        else:
            severity = None
        return F, outcomes, severity

    return fast


def _enable_lines(plan, KIND, ks, mine, e, names, const, used) -> list[str] | None:
    """One line (or a name) per node of `ks` (in dependency order): its flag, from its parent's
    and its conditions (fast.py's generated terms)."""
    nodes = plan.nodes
    lines = []
    for k in ks:
        flag = _flag(nodes[k], KIND, e, const, used)
        if flag is None:
            return None
        if flag in _CONSTANT or flag.isidentifier():
            names[k] = flag
        else:
            lines.append(f"e{k} = {flag}")
    return lines


def _outer_source(plan, KIND, outer: list[int], const) -> list[str] | None:
    """`outer(V, P) -> (F, missing, disabled)`: the flags of the items outside repeating groups
    (and of the groups themselves) by plan index, the rest False; missing: a required item among
    them is enabled, under a present parent, and unanswered; disabled: one of their questions is
    answered and disabled."""
    nodes = plan.nodes
    mine = set(outer)
    names: dict[int, str] = {}
    used: set[int] = set()

    def e(k: int) -> str:
        return names.get(k) or f"e{k}"

    body = _enable_lines(plan, KIND, outer, mine, e, names, const, used)
    if body is None:
        return None
    head = [f"v{t} = V[{t}]" for t in sorted(used)]
    writes = [f"F[{k}] = {e(k)}" for k in sorted(mine) if e(k) != "False"]
    checks = []
    for k, p, group, node in plan.required_flat:
        if k not in mine or KIND[k] == _SCOPE or e(k) == "False":
            continue  # a repeating group is missing per repetition (its own function)
        present = [] if p < 0 else [f"P[{p}] is not None"] if KIND[p] != _QUESTION else [f"(P[{p}] is not None or V[{p}] is not None)"]
        empty = f"V[{k}] is not True" if group else f"V[{k}] is None"
        checks.append(" and ".join(([] if e(k) == "True" else [e(k)]) + present + [empty]))
    lines = ["def outer(V, P):", f"    F = [False] * {len(nodes)}"]
    lines += ["    " + line for line in head + body + writes]
    lines.append("    missing = " + (" or ".join(f"({c})" for c in checks) if checks else "False"))
    questions = [k for k in sorted(mine) if KIND[k] == _QUESTION and e(k) != "True"]
    lines.append("    disabled = " + (" or ".join(f"(V[{k}] is not None and not {e(k)})" for k in questions) if questions else "False"))
    lines.append("    return F, missing, disabled")
    return lines


def _inner_source(plan, KIND, g0: int, g1: int, scope_of: list, const) -> list[str] | None:
    """`scope{g0}(reps, F, V, P, present) -> (flags, missing, disabled)`: the repetitions of the
    repeating group at plan index g0 (its items g0 .. g1 - 1). reps: the (v, p) arrays of each
    repetition (by index - g0), F, V and P the outside flags, values and presence (a required
    group is missing only under a present parent), present whether the
    repetitions are in the response (else one stands for the group left out). flags: by index -
    g0, enabled in at least one repetition; missing: in some repetition a required item (or the
    group itself) is enabled, under a present parent, and unanswered; disabled: in some
    repetition an answered question is disabled."""
    nodes = plan.nodes
    mine = set(range(g0, g1))
    names: dict[int, str] = {g0: f"f{g0}"}
    used: set[int] = set()
    outside: set[int] = {g0}

    def e(k: int) -> str:
        if k not in mine or k == g0:
            outside.add(k)
            return f"f{k}"
        return names.get(k) or f"e{k}"

    order = [node.index for node in plan.order if scope_of[node.index] == g0 and node.index != g0]
    body = _enable_lines(plan, KIND, order, mine, e, names, const, used)
    if body is None:
        return None
    once = [f"v{t} = V[{t}]" for t in sorted(used) if t not in mine]
    once += [f"f{k} = F[{k}]" for k in sorted(outside)]
    # Each repetition's values, unpacked at once (the walker keeps a question's value, or
    # None when it is unanswered: so a question is answered exactly when its value is not None).
    unpack = ", ".join(f"v{k}" if k != g0 else "_" for k in range(g0, g1)) + ", = v"
    checks = []
    for k, p, group, node in plan.required_flat:
        if k not in mine:
            continue
        flag = e(k)
        if flag == "False":
            continue
        if k == g0:  # the group itself: this repetition holds no items
            parent = [] if p < 0 else [f"P[{p}] is not None"] if KIND[p] != _QUESTION else [f"(P[{p}] is not None or V[{p}] is not None)"]
            checks.append(" and ".join([flag] + parent + ["v[0] is not True"]))
            continue
        if p == g0:
            parent = ["present"]
        elif KIND[p] == _QUESTION:
            parent = [f"(p[{p - g0}] is not None or v{p} is not None)"]
        else:
            parent = [f"p[{p - g0}] is not None"]
        empty = f"v{k} is not True" if group else f"v{k} is None"
        checks.append(" and ".join(([] if flag == "True" else [flag]) + parent + [empty]))
    questions = [k for k in range(g0 + 1, g1) if KIND[k] == _QUESTION and e(k) != "True"]
    # In at least one repetition: a{k} for the items whose flag is not the same in all of them.
    varying = [k for k in range(g0 + 1, g1) if e(k) not in _CONSTANT and e(k) != f"f{g0}"]
    lines = [f"def scope{g0}(reps, F, V, P, present):"]
    lines += ["    " + line for line in once]
    lines.append("    missing = disabled = False")
    lines += [f"    a{k} = False" for k in varying]
    lines.append("    for v, p in reps:")
    lines.append("        " + unpack)
    lines += ["        " + line for line in body]
    lines += [f"        a{k} = a{k} or {e(k)}" for k in varying]
    if checks:
        lines.append("        if not missing and (" + " or ".join(f"({c})" for c in checks) + "):")
        lines.append("            missing = True")
    if questions:
        lines.append("        if not disabled and (" + " or ".join(f"(v{k} is not None and not {e(k)})" for k in questions) + "):")
        lines.append("            disabled = True")
    flags = [f"f{g0}"] + [f"a{k}" if k in varying else e(k) for k in range(g0 + 1, g1)]
    lines.append("    return [" + ", ".join(flags) + "], missing, disabled")
    return lines
