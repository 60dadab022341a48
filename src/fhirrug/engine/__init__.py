"""The enableWhen engine: which items of a QuestionnaireResponse are enabled, whether the response
is valid against its Questionnaire, and which outcomes it reaches.

Plain parsed JSON in, plain Python out: no click, no fhir.resources.

    import fhirrug
    ev = fhirrug.evaluate(questionnaire, response)        # dicts, as json.loads returns them
    ev.valid, ev.enabled, ev.outcomes, ev.issues

    plan = fhirrug.engine.compile(questionnaire)          # compile once ...
    for response in responses:
        ev = plan.evaluate(response)                      # ... evaluate many

    engine = fhirrug.engine.Engine(package)               # a loaded content package:
    ev = engine.evaluate(response)                        # resolves response.questionnaire

Signatures
- `evaluate(questionnaire, response, *, codesystems=None, valuesets=None, file="") -> Evaluation`
- `compile(questionnaire, *, codesystems=None, valuesets=None, file="") -> Plan`; the result is
  cached (keyed by the questionnaire object's identity and the other arguments; the cache keeps
  the object alive, so identity is safe; at most 64 plans).
- `Plan.evaluate(response, file="") -> Evaluation`, `Plan.issues` (the Questionnaire's own
  problems that evaluation depends on, reported once), `Plan.strip(response, evaluation=None)`.
- `Engine(package).evaluate(response, questionnaire=None, file="")`.

Outcomes: the enabled `display` items carrying a `code`, in questionnaire order. With
`codesystems` (an iterable of CodeSystem urls; `Engine` passes the package's) only codes from
those systems count; without it every coded display item counts.

`valuesets` maps a ValueSet canonical (with or without `|version`) to the frozenset of
(system, code) pairs it contains; a Coding answer on an item with an answerValueSet is checked
against it. `Engine` expands the package's own ValueSets (enumerated concepts and whole
CodeSystems of the package); others are not checked, and an information issue says so.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any, Iterable

from ..issues import ERROR, FATAL, WARNING, Issue
from ..jsontypes import coding_key, shown
from ..model.constraints import check_response
from ..model.contained import contained_questionnaire, with_contained_valuesets
from .run import QR, Evaluation, _Walk, evaluate_flat, evaluate_instances
from .fast import FALLBACK
from .plan import Node, Plan

__all__ = ["Engine", "Evaluation", "Plan", "compile", "evaluate", "strip_disabled", "expand_valuesets"]


def _plan_evaluate(self: Plan, response: Any, file: str = "") -> Evaluation:
    """Evaluate one QuestionnaireResponse (a parsed JSON dict). Never raises for bad input."""
    fast = self.fast
    if fast is not None and type(response) is dict and response.get("resourceType") == "QuestionnaireResponse":
        # The fast path (fast.py): the common, ordinary response; anything unusual raises and
        # the general walker below evaluates the response from scratch.
        issues: list = []
        reference = response.get("questionnaire")
        if isinstance(reference, str) and self.url and reference != self.canonical and reference.partition("|")[0] != self.url:
            issues.append(Issue("fhirrug-qr-questionnaire-mismatch", WARNING, f"the response is for {reference}, evaluated against {self.canonical}", file, f"{QR}.questionnaire"))
        try:
            flags, outcomes = fast(response, issues, file)
        except FALLBACK:  # anything unusual: the general path decides, and reports
            pass
        else:
            return Evaluation(self, response, issues, file, flags, None, None, outcomes)
    walk = _Walk(self, file)
    if not isinstance(response, dict) or response.get("resourceType") != "QuestionnaireResponse":
        kind = response.get("resourceType") if isinstance(response, dict) else type(response).__name__
        walk.issue("fhirrug-not-a-response", FATAL, f"expected a QuestionnaireResponse, found {shown(kind)}", QR)
        return Evaluation(self, response, walk.issues, file, flags=[False] * len(self.nodes))
    reference = response.get("questionnaire")
    if isinstance(reference, str) and self.url and reference.partition("|")[0] != self.url:
        walk.issue("fhirrug-qr-questionnaire-mismatch", WARNING, f"the response is for {reference}, evaluated against {self.canonical}", f"{QR}.questionnaire")
    if self.response_constraints is not None:  # effectivePeriod against authored (model/constraints.py)
        walk.issues += check_response(self.response_constraints, response, file)
    try:
        if self.flat:
            return evaluate_flat(self, response, walk)
        return evaluate_instances(self, response, walk)
    except RecursionError:
        walk.issue("fhirrug-qr-too-deep", FATAL, "items are nested too deeply to evaluate", QR)
        return Evaluation(self, response, walk.issues, file, flags=[False] * len(self.nodes))


def _plan_strip(self: Plan, response: dict, evaluation: Evaluation | None = None) -> dict:
    return strip_disabled(self, response, evaluation)


Plan.evaluate = _plan_evaluate  # type: ignore[attr-defined]
Plan.strip = _plan_strip  # type: ignore[attr-defined]

_CACHE: "OrderedDict[tuple, tuple[Any, Plan, Any]]" = OrderedDict()
_CACHE_SIZE = 64


def compile(questionnaire: dict, *, codesystems: Iterable[str] | None = None, valuesets: dict | None = None, file: str = "") -> Plan:  # noqa: A001
    """Compile a Questionnaire into a reusable Plan (cached; see the module docstring)."""
    systems = frozenset(codesystems) if codesystems is not None else None
    key = (id(questionnaire), systems, id(valuesets), file)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is questionnaire and hit[2] is valuesets:
        _CACHE.move_to_end(key)
        return hit[1]
    plan = Plan(questionnaire, systems, valuesets, file)
    _CACHE[key] = (questionnaire, plan, valuesets)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return plan


def evaluate(questionnaire: dict, response: dict, *, codesystems: Iterable[str] | None = None, valuesets: dict | None = None, file: str = "") -> Evaluation:
    """Evaluate `response` against `questionnaire` (both parsed JSON dicts)."""
    return compile(questionnaire, codesystems=codesystems, valuesets=valuesets).evaluate(response, file)


def strip_disabled(plan: Plan, response: dict, evaluation: Evaluation | None = None) -> dict:
    """A copy of `response` without the items that are disabled (and so without their answers).

    This is what a server should store. Items the questionnaire does not know are kept.
    """
    evaluation = evaluation or plan.evaluate(response)
    result = copy.deepcopy(response) if isinstance(response, dict) else response
    if not isinstance(result, dict) or not isinstance(response.get("item"), list):
        return result

    def keep(original: list, copied: list, parent: Node | None) -> list:
        index = parent.child_by_linkid if parent is not None else plan.top_by_linkid
        out = []
        for item, twin in zip(original, copied):
            if not isinstance(item, dict):
                out.append(twin)
                continue
            link_id = item.get("linkId")
            node = index.get(link_id) if type(link_id) is str else None
            on = evaluation.item_enabled(item, node)
            if on is False:
                continue
            if node is not None:
                if isinstance(item.get("item"), list):
                    twin["item"] = keep(item["item"], twin["item"], node)
                    if not twin["item"]:
                        del twin["item"]
                answers = item.get("answer")
                if isinstance(answers, list):
                    for a, b in zip(answers, twin["answer"]):
                        if isinstance(a, dict) and isinstance(a.get("item"), list):
                            b["item"] = keep(a["item"], b["item"], node)
                            if not b["item"]:
                                del b["item"]
            out.append(twin)
        return out

    result["item"] = keep(response["item"], result["item"], None)
    if not result["item"]:
        del result["item"]
    return result


# -- a content package ------------------------------------------------------------------------


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


class Engine:
    """Evaluates responses against the Questionnaires of one content package (a
    `fhirrug.package.Package`, or any object with `.resources` holding `.data` dicts)."""

    def __init__(self, package: Any):
        self.package = package
        datas = [getattr(r, "data", r) for r in getattr(package, "resources", package)]
        self.resources = [d for d in datas if isinstance(d, dict)]
        self.codesystems = frozenset(r["url"] for r in self.resources if r.get("resourceType") == "CodeSystem" and isinstance(r.get("url"), str))
        self.valuesets = expand_valuesets(self.resources)
        self._paths = {id(getattr(r, "data", None)): str(getattr(r, "path", "")) for r in getattr(package, "resources", ())}
        self._plans: dict[int, Plan] = {}

    def plan_for(self, questionnaire: dict, container: dict | None = None) -> Plan:
        plan = self._plans.get(id(questionnaire))
        if plan is None:
            # '#id' answerValueSets: the ValueSets contained in the Questionnaire or its container.
            valuesets = with_contained_valuesets(self.valuesets, self.resources, questionnaire, container)
            plan = Plan(questionnaire, self.codesystems, valuesets, self._paths.get(id(questionnaire), ""))
            self._plans[id(questionnaire)] = plan
            self._keep = getattr(self, "_keep", []) + [questionnaire]
        return plan

    def _by_url(self) -> dict[str, list[dict]]:
        """url -> the resources with that url, in package order (rebuilt if `resources` changes)."""
        key = (id(self.resources), len(self.resources))
        if getattr(self, "_url_key", None) != key:
            index: dict[str, list[dict]] = {}
            for r in self.resources:
                url = r.get("url")
                if isinstance(url, str):
                    index.setdefault(url, []).append(r)
            self._url_index, self._url_key = index, key
        return self._url_index

    def resolve(self, canonical: Any) -> tuple[dict | None, list[Issue]]:
        """The Questionnaire a response names, or the issue saying why there is none."""
        expression = f"{QR}.questionnaire"
        if not isinstance(canonical, str) or not canonical:
            return None, [Issue("Questionnaire_QR_Q_None", ERROR, "No questionnaire is identified, so no validation can be performed against the base questionnaire", "", QR)]
        url, _, version = canonical.partition("|")
        candidates = self._by_url().get(url, ())
        if version:
            candidates = [r for r in candidates if r.get("version") == version]
        questionnaires = [r for r in candidates if r.get("resourceType") == "Questionnaire"]
        if questionnaires:
            return questionnaires[-1], []
        if candidates:
            found = candidates[0].get("resourceType")
            return None, [Issue("Questionnaire_QR_Q_WrongType", ERROR, f"Canonical URL '{canonical}' refers to a resource that has the wrong type. Found {found} expecting one of [Questionnaire]", "", expression)]
        return None, [Issue("Questionnaire_QR_Q_NotFound", ERROR, f"The questionnaire '{canonical}' could not be resolved, so no validation can be performed against the base questionnaire", "", expression)]

    def evaluate(self, response: Any, questionnaire: dict | None = None, file: str = "") -> tuple[Evaluation | None, list[Issue]]:
        """(evaluation, issues). evaluation is None when no Questionnaire could be found; the
        issues then say why. Otherwise the issues are the evaluation's."""
        container = None  # the response, when it contains its Questionnaire
        if questionnaire is None:
            if not isinstance(response, dict) or response.get("resourceType") != "QuestionnaireResponse":
                kind = response.get("resourceType") if isinstance(response, dict) else type(response).__name__
                return None, [Issue("fhirrug-not-a-response", FATAL, f"expected a QuestionnaireResponse, found {shown(kind)}", file, QR)]
            reference = response.get("questionnaire")
            if isinstance(reference, str) and reference.startswith("#"):  # contained in the response
                questionnaire, issues = contained_questionnaire(response, reference)
                container = response
            else:
                questionnaire, issues = self.resolve(reference)
            if questionnaire is None:
                return None, [Issue(i.code, i.severity, i.message, file, i.expression) for i in issues]
        evaluation = self.plan_for(questionnaire, container).evaluate(response, file)
        return evaluation, evaluation.issues
