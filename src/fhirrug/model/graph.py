"""Strongly connected components of a dependency graph (Tarjan's algorithm, without recursion:
Questionnaires nest and chain deeper than Python's stack allows)."""

from __future__ import annotations

from typing import Callable, Hashable, Iterable


def components(vertices: Iterable[Hashable], successors: Callable[[Hashable], Iterable[Hashable]]) -> list[list]:
    """Every strongly connected component, each listed after every component it reaches (so, for
    a "depends on" graph, in dependency order). Vertices and successors are visited in the order
    given, which makes the result deterministic."""
    index: dict = {}
    low: dict = {}
    stack: list = []
    on_stack: set = set()
    found: list[list] = []
    counter = 0
    for root in vertices:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(successors(root)))]
        while work:
            vertex, pending = work[-1]
            for successor in pending:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(successors(successor))))
                    break
                if successor in on_stack:
                    low[vertex] = min(low[vertex], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[vertex])
                if low[vertex] == index[vertex]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == vertex:
                            break
                    found.append(component)
    return found
