"""The ValueSets of a package that can be expanded without a terminology server, for checking
Coding answers against an item's answerValueSet (the engine, contained ValueSets, `paths`)."""

from __future__ import annotations

from typing import Any, Iterable


def _concepts(concepts: Any, system: str, into: set) -> None:
    for concept in concepts or ():
        if isinstance(concept, dict) and isinstance(concept.get("code"), str):
            into.add((system, concept["code"]))
            _concepts(concept.get("concept"), system, into)


def expand_valuesets(resources: Iterable[dict]) -> dict[str, frozenset]:
    """Expand the ValueSets among `resources` that can be expanded without a terminology server:
    enumerated concepts, whole CodeSystems present in `resources`, other ValueSets present.
    Returns canonical (url and url|version) -> frozenset of (system, code)."""
    resources = [r for r in resources if isinstance(r, dict)]
    codesystems: dict[str, set] = {}
    for r in resources:
        if r.get("resourceType") == "CodeSystem" and isinstance(r.get("url"), str):
            codes: set = set()
            _concepts(r.get("concept"), r["url"], codes)
            codesystems[r["url"]] = codes
    valuesets = {r["url"]: r for r in resources if r.get("resourceType") == "ValueSet" and isinstance(r.get("url"), str)}
    done: dict[str, frozenset | None] = {}

    def expand(url: str, busy: frozenset) -> frozenset | None:
        url = url.partition("|")[0]
        if url in done:
            return done[url]
        vs = valuesets.get(url)
        if vs is None or url in busy:
            return None
        result = _expand_one(vs, busy | {url})
        done[url] = result
        return result

    def part(include: dict, busy: frozenset) -> set | None:
        if not isinstance(include, dict) or include.get("filter"):
            return None
        system = include.get("system")
        codes: set | None = None
        if isinstance(system, str):
            if include.get("concept"):
                codes = {(system, c.get("code")) for c in include["concept"] if isinstance(c, dict)}
            elif system in codesystems:
                codes = set(codesystems[system])
            else:
                return None
        for ref in include.get("valueSet") or ():
            inner = expand(ref, busy) if isinstance(ref, str) else None
            if inner is None:
                return None
            codes = set(inner) if codes is None else codes & inner
        return codes

    def _expand_one(vs: dict, busy: frozenset) -> frozenset | None:
        contains = (vs.get("expansion") or {}).get("contains")
        if isinstance(contains, list):
            found: set = set()
            stack = list(contains)
            while stack:
                entry = stack.pop()
                if isinstance(entry, dict):
                    found.add((entry.get("system"), entry.get("code")))
                    stack.extend(entry.get("contains") or ())
            return frozenset(found)
        compose = vs.get("compose")
        if not isinstance(compose, dict):
            return None
        codes: set = set()
        for include in compose.get("include") or ():
            got = part(include, busy)
            if got is None:
                return None
            codes |= got
        for exclude in compose.get("exclude") or ():
            got = part(exclude, busy)
            if got is None:
                return None
            codes -= got
        return frozenset(codes)

    result: dict[str, frozenset] = {}
    for url, vs in valuesets.items():
        expanded = expand(url, frozenset())
        if expanded is not None:
            result[url] = expanded
            if isinstance(vs.get("version"), str):
                result[f"{url}|{vs['version']}"] = expanded
    return result
