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
- `compile(questionnaire, *, codesystems=None, valuesets=None, file="") -> Plan`; the same
  questionnaire object with the same arguments gives the same Plan back while the questionnaire
  is unchanged (a `PlanCache`: a snapshot of the questionnaire is compared on every hit, so a
  questionnaire edited in place is compiled again; at most 64 plans). Hot loops hold the Plan.
- `Plan.evaluate(response, file="") -> Evaluation`, `Plan.issues` (the Questionnaire's own
  problems that evaluation depends on, reported once), `Plan.strip(response, evaluation=None)`.
- `Engine(package).evaluate(response, questionnaire=None, file="")`.

Outcomes: the enabled items that carry a `code` and hold no question (`fhirrug.model.Item.outcome`:
in this package, coded groups around the answer's display text), in questionnaire order. With
`codesystems` (an iterable of CodeSystem urls; `Engine` passes the package's) only codes from
those systems count; without it every such code counts.

`valuesets` maps a ValueSet canonical (with or without `|version`) to the frozenset of
(system, code) pairs it contains; a Coding answer on an item with an answerValueSet is checked
against it. `Engine` expands the package's own ValueSets (enumerated concepts and whole
CodeSystems of the package); others are not checked, and an information issue says so.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from typing import Any, Iterable

from ..issues import ERROR, FATAL, Issue
from ..jsontypes import shown
from ..model import model_for
from ..model.contained import contained_questionnaire, with_contained_valuesets
from ..model.valuesets import expand_valuesets
from .findings import QR
from .plan import Node, Plan
from .run import Evaluation, strip_disabled

__all__ = ["Engine", "Evaluation", "Node", "Plan", "PlanCache", "compile", "evaluate", "strip_disabled", "expand_valuesets"]


class PlanCache:
    """Compiled plans by questionnaire object, checked against a snapshot on every hit.

    A plan describes the questionnaire as it was compiled. The cache keeps the questionnaire
    alive (so its identity cannot be reused) and a pickled snapshot of it; a hit is only a hit
    while the questionnaire still pickles to the same bytes, so a questionnaire edited in place
    (a review server reloading content, a long-lived Spark executor) is compiled again, never
    served stale. A snapshot check costs a small fraction of a compile; a hot loop holds its Plan.
    """

    def __init__(self, size: int = 64):
        self.size = size
        self._plans: "OrderedDict[tuple, tuple[Any, bytes, Any, Plan]]" = OrderedDict()

    def get(self, questionnaire: Any, codesystems: frozenset | None, valuesets: Any, file: str) -> Plan:
        key = (id(questionnaire), codesystems, id(valuesets), file)
        snapshot = _snapshot(questionnaire)
        hit = self._plans.get(key)
        if hit is not None and hit[0] is questionnaire and hit[2] is valuesets and snapshot is not None and hit[1] == snapshot:
            self._plans.move_to_end(key)
            return hit[3]
        plan = Plan(questionnaire, codesystems, valuesets, file)
        if snapshot is not None:
            self._plans[key] = (questionnaire, snapshot, valuesets, plan)
            if len(self._plans) > self.size:
                self._plans.popitem(last=False)
        return plan

    def clear(self) -> None:
        self._plans.clear()


def _snapshot(questionnaire: Any) -> bytes | None:
    try:
        return pickle.dumps(questionnaire, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - not plain JSON: never cached
        return None


# The plans of `compile()`: the one cache of the engine, owned by this PlanCache object and
# checked against its questionnaire on every hit (see PlanCache). Nothing else clears it.
_PLANS = PlanCache()


def compile(questionnaire: dict, *, codesystems: Iterable[str] | None = None, valuesets: dict | None = None, file: str = "") -> Plan:  # noqa: A001
    """Compile a Questionnaire into a reusable Plan (see the module docstring)."""
    systems = frozenset(codesystems) if codesystems is not None else None
    return _PLANS.get(questionnaire, systems, valuesets, file)


def evaluate(questionnaire: dict, response: dict, *, codesystems: Iterable[str] | None = None, valuesets: dict | None = None, file: str = "") -> Evaluation:
    """Evaluate `response` against `questionnaire` (both parsed JSON dicts)."""
    return compile(questionnaire, codesystems=codesystems, valuesets=valuesets).evaluate(response, file)


# -- a content package ------------------------------------------------------------------------


class Engine:
    """Evaluates responses against the Questionnaires of one content package (a
    `fhirrug.package.Package`, or any object with `.resources` holding `.data` dicts).

    An Engine describes the package as it was loaded: its plans (one per Questionnaire, kept
    by the Engine) are not checked against later edits. Edited content: a new Engine."""

    def __init__(self, package: Any):
        self.package = package
        datas = [getattr(r, "data", r) for r in getattr(package, "resources", package)]
        self.resources = [d for d in datas if isinstance(d, dict)]
        self.codesystems = frozenset(r["url"] for r in self.resources if r.get("resourceType") == "CodeSystem" and isinstance(r.get("url"), str))
        self.valuesets = expand_valuesets(self.resources)
        self._paths = {id(getattr(r, "data", None)): str(getattr(r, "path", "")) for r in getattr(package, "resources", ())}
        self._plans: dict[int, tuple[dict, Plan]] = {}  # id -> (questionnaire kept alive, its plan)

    @property
    def compiled(self) -> int:
        """How many plans this Engine has compiled (a batch freezes them for the garbage
        collector when the number grows: `fhirrug.engine.collector`)."""
        return len(self._plans)

    def plan_for(self, questionnaire: dict, container: dict | None = None) -> Plan:
        hit = self._plans.get(id(questionnaire))
        if hit is not None and hit[0] is questionnaire:
            return hit[1]
        # '#id' answerValueSets: the ValueSets contained in the Questionnaire or its container.
        valuesets = with_contained_valuesets(self.valuesets, self.resources, questionnaire, container)
        # The package's model of the Questionnaire (shared with the rules of a validation run).
        model = model_for(questionnaire, self.package) if isinstance(questionnaire, dict) else None
        plan = Plan(questionnaire, self.codesystems, valuesets, self._paths.get(id(questionnaire), ""), model=model)
        self._plans[id(questionnaire)] = (questionnaire, plan)
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
