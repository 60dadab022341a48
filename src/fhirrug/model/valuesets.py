"""The ValueSets of a package that can be expanded without a terminology server, for checking
Coding answers against an item's answerValueSet (the engine, contained ValueSets, `paths`)."""

from __future__ import annotations

from typing import Any, Iterable

from ..jsontypes import coding_key


class _Unreadable(ValueError):
    """A ValueSet or CodeSystem of a shape fhirrug cannot expand (untrusted JSON)."""


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if type(value) is not list:
        raise _Unreadable(f"{where} is not an array")
    return value


def _concepts(concepts: Any, system: str, into: set, where: str, strict: bool) -> None:
    for concept in _list(concepts, where):
        if isinstance(concept, dict) and isinstance(concept.get("code"), str):
            into.add((system, concept["code"]))
            _concepts(concept.get("concept"), system, into, where, strict)
        elif strict:
            raise _Unreadable(f"{where} holds a concept without a string code")


def expand_valuesets(resources: Iterable[dict], *, strict: bool = False) -> dict[str, frozenset]:
    """Expand the ValueSets among `resources` that can be expanded without a terminology server:
    enumerated concepts, whole CodeSystems present in `resources`, other ValueSets present.
    Returns canonical (url and url|version) -> frozenset of (system, code).

    Untrusted shapes (`validate` reports them): a concept whose code is not a string is left out
    (no valid answer could equal it); a ValueSet whose structure cannot be read (compose.include
    or a concept list that is not an array, ...) is left out, so answers are not checked against
    it rather than against a wrong set. With `strict`, either raises ValueError naming the
    resource instead (`fhirrug diff` replays nothing on terminology it cannot read)."""
    resources = [r for r in resources if isinstance(r, dict)]
    codesystems: dict[str, set | None] = {}
    for r in resources:
        if r.get("resourceType") == "CodeSystem" and isinstance(r.get("url"), str):
            codes: set | None = set()
            try:
                _concepts(r.get("concept"), r["url"], codes, "CodeSystem.concept", strict)
            except _Unreadable as exc:
                if strict:
                    raise ValueError(f"CodeSystem {r['url']}: {exc}") from None
                codes = None
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
        try:
            result = _expand_one(vs, busy | {url})
        except _Unreadable as exc:
            if strict:
                raise ValueError(f"ValueSet {url}: {exc}") from None
            result = None
        done[url] = result
        return result

    def part(include: Any, busy: frozenset, where: str) -> set | None:
        if not isinstance(include, dict):
            raise _Unreadable(f"{where} is not an object")
        if include.get("filter"):
            return None
        system = include.get("system")
        codes: set | None = None
        if isinstance(system, str):
            if include.get("concept"):
                codes = set()
                for concept in _list(include["concept"], f"{where}.concept"):
                    if isinstance(concept, dict) and isinstance(concept.get("code"), str):
                        codes.add((system, concept["code"]))
                    elif strict:
                        raise _Unreadable(f"{where}.concept holds a concept without a string code")
            elif codesystems.get(system) is not None:
                codes = set(codesystems[system])
            else:
                return None
        for ref in _list(include.get("valueSet"), f"{where}.valueSet"):
            if not isinstance(ref, str):
                raise _Unreadable(f"{where}.valueSet holds a reference that is not a string")
            inner = expand(ref, busy)
            if inner is None:
                return None
            codes = set(inner) if codes is None else codes & inner
        return codes

    def _expand_one(vs: dict, busy: frozenset) -> frozenset | None:
        expansion = vs.get("expansion")
        if expansion is not None and not isinstance(expansion, dict):
            raise _Unreadable("ValueSet.expansion is not an object")
        contains = expansion.get("contains") if expansion is not None else None
        if contains is not None:
            found: set = set()
            stack = list(_list(contains, "ValueSet.expansion.contains"))
            while stack:
                entry = stack.pop()
                pair = coding_key(entry)
                if pair is not None:
                    found.add(pair)
                elif strict:
                    raise _Unreadable("ValueSet.expansion.contains holds an entry whose system or code is not a string")
                if isinstance(entry, dict):
                    stack.extend(_list(entry.get("contains"), "ValueSet.expansion.contains"))
            return frozenset(found)
        compose = vs.get("compose")
        if not isinstance(compose, dict):
            return None
        codes: set = set()
        for k, include in enumerate(_list(compose.get("include"), "ValueSet.compose.include")):
            got = part(include, busy, f"ValueSet.compose.include[{k}]")
            if got is None:
                return None
            codes |= got
        for k, exclude in enumerate(_list(compose.get("exclude"), "ValueSet.compose.exclude")):
            got = part(exclude, busy, f"ValueSet.compose.exclude[{k}]")
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
