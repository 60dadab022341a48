"""The fast path of a flat plan generated whole: one function per Questionnaire that walks the
response and decides it.

`fast.py`'s fast path walks a response with a table-driven walker into two arrays (values and
presence, one slot per item of the form) and then calls the generated `decide`, which reads the
arrays back. On the book's self-diagnosis (252 items; most responses hold a dozen) the arrays,
the walker's per-item table lookups and its stack of levels cost more than deciding: the
engine took 2.5x the time `json.loads` takes to parse the response (issue 15 asks for 2x).

`compile_inline(plan)` generates instead one function `fast(response, issues, file)` in which

- the walker is unrolled along the Questionnaire: one loop per item level, nested as the items
  are, each item's checks inlined with its constants (answer key, type, options, text), found by
  a binary search over the level's plan indexes. What it accepts and what it declines (raising
  `Declined`) is exactly what `fast.walk` accepts and declines, shape for shape; the tests run
  both and the general walker on the same responses;
- the records are local variables: `vK` the answer value of item K (a group: True when it holds
  items), `pK` True for an item present without a value, `tK` whether the response holds
  top-level item K. Only the variables the decision reads are set to None first: those of a
  top-level item when the response holds it, those read across blocks (and of blocks with
  several top-level items) at the start;
- the decision is `fast.decide_lines` in its local form, the same code `fast._generate`
  compiles, reading those variables.

The issues are the same lazy records as `fast.py`'s; where an item sits (or its nearest
ancestor present, for a required item missing) is found in the response when they are read.

Compiling that function costs what some thousands of responses save (24 ms for the
self-diagnosis, against about 5 us a response), so a plan starts with `fast.compile_fast`'s table
walker and generates this one once it has evaluated `PROMOTE_AFTER` responses (`promoting`): a
batch gets it, `fhirrug validate` checking a package's few example responses does not pay for
it. Plans whose items nest too deeply for one function (Python's limit of nested blocks) keep
the table walker; plans with repeating groups have their own (repeats.py).
"""

from __future__ import annotations

import re
from itertools import chain, compress
from typing import Any

from ..issues import ERROR, WARNING
from .fast import (_GROUP, _OTHER, _QUESTION, Declined, _by_system, _group_keys, _missing_all, _not_enabled_all,
                   _other_keys, _question_keys, decide_lines, kinds)

# Responses a plan evaluates with the table walker before it generates this one.
PROMOTE_AFTER = 1000

# Nested loops in one function: Python allows 20 nested blocks (a loop, a try), and each level
# of items takes a loop and a try; deeper Questionnaires use the table walker.
MAX_DEPTH = 8

_READ = re.compile(r"\b([pv]\d+)\b")


def _disabled_found(plan, KIND: tuple, response: dict, parts: tuple, file: str) -> list:
    """The issues of the answers on disabled items, in response order (the generated walker
    only knows that there is one): the items the walker recorded an answer of (an `answer` that
    is not null, on a question the fast path answers: KIND, `fast.kinds`) whose flag is false."""
    flags = list(chain.from_iterable(parts))
    found: list[int] = []
    stack = [(iter(response.get("item") or ()), plan.top_by_linkid)]  # the lists being read, depth first
    while stack:
        items, level = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            continue
        node = level[item["linkId"]]
        if KIND[node.index] == _QUESTION:
            if item.get("answer") is not None and not flags[node.index]:
                found.append(node.index)
        elif KIND[node.index] == _GROUP and item.get("item"):
            stack.append((iter(item["item"]), node.child_by_linkid))
    return _not_enabled_all(plan, response, found, file)


def _too_deep(plan) -> bool:
    """Whether items nest more than MAX_DEPTH levels (the plan's nodes know their ancestors)."""
    return any(len(node.ancestors) >= MAX_DEPTH for node in plan.nodes)


def compile_inline(plan, every: bool = False):
    """The generated fast evaluator of a flat plan, as `fast.compile_fast` describes it (same
    signature, same results); None when the plan does not qualify.

    every: decide every block, touched or not (the tests check that both agree with the general
    walker)."""
    if not plan.flat or not plan.nodes or plan.enable is None or _too_deep(plan):
        return None
    nodes = plan.nodes
    KIND = kinds(plan)
    namespace: dict = {"Declined": Declined, "ERROR": ERROR, "WARNING": WARNING,
                       "NOT_ENABLED": _disabled_found, "MISSING": _missing_all, "PLAN": plan, "KIND": KIND,
                       "QUESTION_KEYS": _question_keys, "OTHER_KEYS": _other_keys, "GROUP_KEYS": _group_keys}
    made = decide_lines(plan, KIND, namespace, every, local=True)
    if made is None:
        return None
    decide, blocks = made
    read = set(_READ.findall("\n".join(decide)))

    def const(value: Any) -> str:
        name = f"c{len(namespace)}"
        namespace[name] = value
        return name

    # Read before (or without) the walker setting them: values read across blocks, and every
    # variable of a block with several top-level items (one of them may be missing).
    early: set[str] = set()
    block_of = {k: b for b, block in enumerate(blocks) for k in block}
    for node in nodes:
        for cond in node.conds or ():
            if cond.target is not None and block_of[cond.target.index] != block_of[node.index]:
                early.add(f"v{cond.target.index}")
    for block in blocks:
        if sum(1 for k in block if nodes[k].parent is None) > 1 or every:
            early |= {f"{c}{k}" for k in block for c in "pv"}
    early &= read
    tops = [node.index for node in plan.top]

    lines = ["def fast(response, issues, file):"]
    lines.append("    " + " = ".join(f"t{k}" for k in tops) + " = False")
    if early:
        lines.append("    " + " = ".join(sorted(early)) + " = None")
    lines += ['    items = response.get("item")', "    if items is not None:",
              "        if items.__class__ is not list:", "            raise Declined"]

    def subtree(node) -> list[int]:
        out, stack = [], [node]
        while stack:
            n = stack.pop()
            out.append(n.index)
            stack.extend(n.children)
        return out

    def item_lines(node, depth: int, pad: str) -> list[str]:
        k, i = node.index, f"i{depth}"
        out: list[str] = []
        if depth == 0:
            out.append(f"{pad}t{k} = True")
            fresh = sorted(name for name in (f"{c}{x}" for x in subtree(node) for c in "pv") if name in read and name not in early)
            if fresh:
                out.append(pad + " = ".join(fresh) + " = None")
        kind = KIND[k]
        # What the walker records, into a variable only when the decision reads it.
        pk = f"p{k}" if f"p{k}" in read else "_"
        vk = f"v{k}" if f"v{k}" in read else "_"
        if kind == _QUESTION:
            # The common shape (linkId and answer) inline; any other keys: `_question_keys`.
            out += [f"{pad}try:", f"{pad}    if len({i}) == 2:", f"{pad}        [a] = {i}['answer']", f"{pad}    else:",
                    f"{pad}        a = QUESTION_KEYS({i}, {const(node.text)})", f"{pad}        if a is None:",
                    f"{pad}            {pk} = True", f"{pad}            continue",
                    f"{pad}    if a.__class__ is not dict or len(a) != 1:", f"{pad}        raise Declined",
                    f"{pad}    v = a[{node.fast_key!r}]"]
            options = _by_system(node.fast_options) if node.fast_key == "valueCoding" else None
            if options is not None and len(options) == 1:
                # Options of one system: the answer must have that system (so it is present, a
                # string) and one of their codes; it is kept as its code (as fast.walk).
                [(system, codes)] = options.items()
                out += [f"{pad}    if v.__class__ is not dict:", f"{pad}        raise Declined",
                        f"{pad}    code = v['code']", f"{pad}    if v['system'] != {const(system)} or code.__class__ is not str or code not in {const(codes)}:",
                        f"{pad}        raise Declined"]
            out += [f"{pad}except (KeyError, ValueError, TypeError):", f"{pad}    raise Declined from None"]
            if options is not None and len(options) == 1:
                out.append(f"{pad}{vk} = code")
                return out
            out += [f"{pad}if v.__class__ is not {const(node.fast_type)}:", f"{pad}    raise Declined"]
            if node.fast_key == "valueCoding":
                # A Coding: its system and code are all an enableWhen compares (as fast.walk).
                out += [f"{pad}system = v.get('system')", f"{pad}code = v.get('code')",
                        f"{pad}if code.__class__ is not str or (system is not None and system.__class__ is not str):",
                        f"{pad}    raise Declined"]
                if options is not None:
                    out += [f"{pad}codes = {const(options)}.get(system)", f"{pad}if codes is None or code not in codes:",
                            f"{pad}    raise Declined"]
            out.append(f"{pad}{vk} = v")
        elif kind == _OTHER:
            out += [f"{pad}{pk} = True", f"{pad}if len({i}) != 1:", f"{pad}    OTHER_KEYS({i}, {const(node.text)})"]
        else:  # a group with child items
            s = f"s{depth}"
            out += [f"{pad}{pk} = True", f"{pad}if len({i}) == 2:", f"{pad}    try:", f"{pad}        {s} = {i}['item']",
                    f"{pad}    except KeyError:", f"{pad}        raise Declined from None", f"{pad}else:",
                    f"{pad}    {s} = GROUP_KEYS({i}, {const(node.text)})",
                    f"{pad}if {s}:", f"{pad}    if {s}.__class__ is not list:", f"{pad}        raise Declined", f"{pad}    {vk} = True"]
            out += level_lines(node.child_by_linkid, s, depth + 1, pad + "    ")
            out += [f"{pad}elif {s} is not None and {s}.__class__ is not list:", f"{pad}    raise Declined"]
        return out

    def dispatch(entries: list, depth: int, pad: str) -> list[str]:
        """The items of one level by plan index, found by halving (kK holds the index)."""
        if len(entries) == 1:
            return item_lines(entries[0], depth, pad)
        middle = len(entries) // 2
        return ([f"{pad}if k{depth} < {entries[middle].index}:"] + dispatch(entries[:middle], depth, pad + "    ")
                + [f"{pad}else:"] + dispatch(entries[middle:], depth, pad + "    "))

    def level_lines(children: dict, source: str, depth: int, pad: str) -> list[str]:
        # Items with value constraints are left out (as fast.level): the lookup fails, and the
        # general walker, which checks them, evaluates the response.
        entries = [node for node in children.values() if node.constraints is None]
        table = const({node.linkId: node.index for node in entries})
        out = [f"{pad}l{depth} = -1", f"{pad}for i{depth} in {source}:", f"{pad}    if i{depth}.__class__ is not dict:",
               f"{pad}        raise Declined", f"{pad}    try:", f"{pad}        k{depth} = {table}[i{depth}['linkId']]",
               f"{pad}    except (KeyError, TypeError):",  # no linkId, one unknown here, or one that is no string
               f"{pad}        raise Declined from None",
               f"{pad}    if k{depth} <= l{depth}:",  # out of order, or repeated
               f"{pad}        raise Declined", f"{pad}    l{depth} = k{depth}"]
        if entries:
            out += dispatch(sorted(entries, key=lambda node: node.index), depth, pad + "    ")
        return out

    lines += level_lines(plan.top_by_linkid, "items", 0, "        ")
    lines.append(f"    D = {(1 << len(blocks)) - 1 if every else 0}")
    lines += decide
    lines += ["    flags = (" + "".join(f"b{k}, " for k in tops) + ")",
              "    if bad:", "        issues.append((ERROR, NOT_ENABLED, (PLAN, KIND, response, flags, file)))",
              "    if missing:", "        severity = ERROR if response.get('status') in ('completed', 'amended') else WARNING",
              "        issues.append((severity, MISSING, (PLAN, response, missing, severity, file)))",
              "    return flags, outs"]
    source = "\n".join(lines) + "\n"
    try:
        exec(compile(source, f"<fhirrug inline plan {plan.canonical}>", "exec"), namespace)  # noqa: S102 - our own generated code
    except (RecursionError, MemoryError, SyntaxError):  # pragma: no cover - enormous plans
        return None
    # For `Evaluation.enabled`: a top-level item the response leaves out keeps the empty
    # response's tuple (the same object), whose enabled linkIds are listed once here.
    plan.flag_parts = tuple((flags, links, list(compress(links, flags))) for flags, links in namespace["PARTS"])
    return namespace["fast"]


def promoting(plan, table, after: int | None = None):
    """The plan's fast path for its first `after` - 1 responses (default `PROMOTE_AFTER`, read
    when the plan is made: the fuzz suite sets 1 to reach the generated walker with small
    batches): the table walker `table`, which then replaces itself (as `plan.fast`) with the generated
    walker, or with the table walker alone when the plan does not qualify for it. Several
    threads may promote at once: each compiles the same function, and the plan keeps one."""
    left = [PROMOTE_AFTER if after is None else max(1, after)]

    def fast(response: dict, issues: list, file: str):
        left[0] -= 1
        if left[0] == 0:  # this response is the first the new one evaluates
            plan.fast = compile_inline(plan) or table
            return plan.fast(response, issues, file)
        return table(response, issues, file)

    fast.table = table
    return fast
