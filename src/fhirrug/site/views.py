"""What the templates show, built once from the package: resources, item trees with their
enableWhen in words, outcomes with urgency, mappings and routes, terminology tables.

Plain data (dataclasses and dicts of Text); the templates decide only how it looks. The
Questionnaire logic comes from `adapter` (the engine), never from reading enableWhen here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .adapter import Condition, PackageLogic, QuestionnaireLogic
from .texts import EMPTY, Languages, Text
from .words import EnableWords, boolean_text, enable_words, plain_value

# Routes shown per outcome: the shortest ones (the full table is `fhirrug paths`).
ROUTES_SHOWN = 3
# fhirrug paths' default cap; a Questionnaire without outcomes gets no routes at all.
MAX_ROUTES = 50_000
URGENCY_SYSTEM_SUFFIX = "/CodeSystem/urgentie"


def page_of(resource: dict) -> str:
    """`<Type>-<id>.html`, as the package names its files `<Type>-<id>.json`."""
    return f"{resource.get('resourceType')}-{_safe(str(resource.get('id')))}.html"


def outcome_page(codesystem_id: str, code: str) -> str:
    return f"outcome-{_safe(codesystem_id)}-{_safe(code)}.html"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def anchor(link_id: str) -> str:
    return "item-" + _safe(link_id)


def concept_anchor(code: str) -> str:
    return "code-" + _safe(code)


def item_label(item: dict, parent_label: str | None) -> str:
    """How the book names an item: its prefix joined to its list's ('Lijst 1' + '2.' = 'Lijst 1.2'),
    a prefix of its own ('Antwoord 27', 'Lijst 3'), else its linkId."""
    prefix = item.get("prefix")
    if isinstance(prefix, str) and prefix.strip():
        own = prefix.strip().rstrip(".").strip()
        if own[:1].isdigit() and parent_label:
            return f"{parent_label}.{own}"
        return own
    return str(item.get("linkId"))


@dataclass
class OptionView:
    system: str
    code: str
    display: Text
    value: str  # how the fill page names this answer: "system|code"


@dataclass
class ItemView:
    link_id: str
    anchor: str
    type: str
    required: bool
    repeats: bool
    label: str
    prefix: Text
    text: Text
    depth: int
    options: list[OptionView] = field(default_factory=list)
    enable: EnableWords | None = None
    dependents: list[tuple[str, str]] = field(default_factory=list)  # (anchor, label)
    outcome: "OutcomeRef | None" = None
    children: list["ItemView"] = field(default_factory=list)
    answer_value_set: str | None = None


@dataclass(frozen=True)
class OutcomeRef:
    system: str
    code: str
    display: Text
    page: str | None  # the outcome page, when the code is a concept of a package CodeSystem


@dataclass
class RouteView:
    steps: list[dict]  # {"anchor", "label", "answer": Text, "alternatives": [Text]}
    outcomes: list[OutcomeRef]


@dataclass
class Mapping:
    conceptmap: str  # page of the ConceptMap
    title: Text
    target_system: str
    code: str | None
    display: Text
    equivalence: str
    comment: Text


@dataclass
class OutcomeView:
    ref: OutcomeRef
    codesystem_page: str
    codesystem_title: Text
    definition: Text
    urgency: Text
    urgency_code: str
    urgency_rank: int
    urgency_derived: bool | None
    urgency_quote: Text
    properties: list[tuple[Text, list[Text], Text]]  # (property code, values, its description)
    mappings: list[Mapping] = field(default_factory=list)
    items: list[tuple[str, str, Text]] = field(default_factory=list)  # (href, label, questionnaire title)
    route_count: int = 0
    routes: list[RouteView] = field(default_factory=list)
    unreached: bool = False


@dataclass
class QuestionnaireView:
    resource: dict
    page: str
    title: Text
    items: list[ItemView]
    logic: QuestionnaireLogic
    by_link_id: dict[str, ItemView]
    routes_total: int | None = None
    routes_truncated: bool = False
    unreached: list[OutcomeRef] = field(default_factory=list)


class SiteContent:
    """Everything the pages need, from one loaded package."""

    def __init__(self, package: Any, languages: Languages):
        """`package`: a loaded Package, or a list of resource dicts (what export has)."""
        self.package = package
        self.languages = languages
        entries = getattr(package, "resources", package)
        self.resources: list[dict] = [d for d in (getattr(r, "data", r) for r in entries) if isinstance(d, dict)]
        self.logic = PackageLogic(self.resources)
        self.by_url: dict[str, dict] = {}
        for r in self.resources:
            if isinstance(r.get("url"), str):
                self.by_url.setdefault(r["url"], r)
        self.concepts: dict[tuple[str, str], dict] = {}
        for r in self.resources:
            if r.get("resourceType") == "CodeSystem" and isinstance(r.get("url"), str):
                for concept in _walk_concepts(r.get("concept")):
                    self.concepts[(r["url"], concept["code"])] = concept
        self.questionnaires = [self._questionnaire(r) for r in self.resources if r.get("resourceType") == "Questionnaire"]
        self.outcomes = self._outcomes()
        self._outcome_keys = {(o.ref.system, o.ref.code) for o in self.outcomes}

    # -- texts ---------------------------------------------------------------------------

    def title(self, resource: dict) -> Text:
        for key in ("title", "name"):
            if isinstance(resource.get(key), str):
                return self.languages.text(resource, key)
        return self.languages.plain(f"{resource.get('resourceType')}/{resource.get('id')}")

    def text(self, parent: Any, key: str, *owners: Any) -> Text:
        return self.languages.text(parent, key, *owners)

    def coding_display(self, system: str | None, code: str | None, fallback: dict | None = None) -> Text:
        """A Coding's display: the package CodeSystem's concept (with translations), else the
        Coding's own display, else the code."""
        concept = self.concepts.get((system or "", code or ""))
        if concept is not None and isinstance(concept.get("display"), str):
            return self.languages.text(concept, "display")
        if fallback is not None and isinstance(fallback.get("display"), str):
            return self.languages.text(fallback, "display")
        return self.languages.plain(code)

    def page_for_url(self, url: str | None) -> str | None:
        resource = self.by_url.get((url or "").partition("|")[0])
        return page_of(resource) if resource is not None else None

    def outcome_ref(self, outcome: dict) -> OutcomeRef:
        system, code = outcome.get("system") or "", outcome.get("code") or ""
        codesystem = self.by_url.get(system)
        page = outcome_page(str(codesystem.get("id")), code) if codesystem is not None and (system, code) in self.concepts else None
        return OutcomeRef(system, code, self.coding_display(system, code, outcome), page)

    # -- Questionnaires --------------------------------------------------------------------

    def _questionnaire(self, resource: dict) -> QuestionnaireView:
        logic = self.logic.questionnaire(resource)
        by_link_id: dict[str, ItemView] = {}
        raw: dict[str, dict] = {}

        def build(items: Any, depth: int, parent_label: str | None) -> list[ItemView]:
            out = []
            for item in items if isinstance(items, list) else ():
                if not isinstance(item, dict) or not isinstance(item.get("linkId"), str):
                    continue
                link_id = item["linkId"]
                label = item_label(item, parent_label)
                view = ItemView(
                    link_id, anchor(link_id), str(item.get("type")), item.get("required") is True, item.get("repeats") is True,
                    label, self.text(item, "prefix"), self.text(item, "text"), depth,
                    answer_value_set=item.get("answerValueSet") if isinstance(item.get("answerValueSet"), str) else None,
                )
                by_link_id.setdefault(link_id, view)
                raw.setdefault(link_id, item)
                view.options = self._options(item, logic)
                view.children = build(item.get("item"), depth + 1, label if item.get("prefix") else parent_label)
                out.append(view)
            return out

        items = build(resource.get("item"), 0, None)

        def answer_text(condition: Condition) -> Text:
            return self._answer_text(condition, raw.get(condition.question), by_link_id.get(condition.question))

        for link_id, view in by_link_id.items():
            item_logic = logic.items.get(link_id)
            if item_logic is None:
                continue
            view.enable = enable_words(item_logic, answer_text, lambda l: by_link_id[l].label if l in by_link_id else l)
            view.dependents = [(by_link_id[d].anchor, by_link_id[d].label) for d in item_logic.dependents if d in by_link_id]
            if item_logic.outcome:
                view.outcome = self.outcome_ref(item_logic.outcome)
        return QuestionnaireView(resource, page_of(resource), self.title(resource), items, logic, by_link_id)

    def _options(self, item: dict, logic: QuestionnaireLogic) -> list[OptionView]:
        item_logic = logic.items.get(item.get("linkId"))
        if item_logic is None or not item_logic.options:
            return []
        own = {}  # (system, code) -> (its Coding, its answerOption): the option's own display and its mark
        for option in item.get("answerOption") or ():
            coding = option.get("valueCoding") if isinstance(option, dict) else None
            if isinstance(coding, dict):
                own[(coding.get("system"), coding.get("code"))] = (coding, option)
        views = []
        for coding in item_logic.options:
            system, code = coding.get("system") or "", coding.get("code") or ""
            mine, option = own.get((coding.get("system"), coding.get("code")), (None, None))
            display = self.text(mine, "display", option) if mine is not None and isinstance(mine.get("display"), str) else self.coding_display(system, code, coding)
            views.append(OptionView(system, code, display, f"{system}|{code}"))
        return views

    def _answer_text(self, condition: Condition, target: dict | None, view: ItemView | None) -> Text:
        value = condition.answer
        if condition.answer_key == "answerBoolean" and isinstance(value, bool):
            return boolean_text(value, self.languages)
        if condition.answer_key == "answerCoding" and isinstance(value, dict):
            for option in view.options if view is not None else ():
                if option.code == value.get("code") and (value.get("system") is None or option.system == value.get("system")):
                    return option.display
            return self.coding_display(value.get("system"), value.get("code"), value)
        return self.languages.plain(plain_value(value))

    # -- outcomes --------------------------------------------------------------------------

    def _outcomes(self) -> list[OutcomeView]:
        """Every concept of every CodeSystem that some Questionnaire's outcomes use."""
        systems = []
        for q in self.questionnaires:
            for _, outcome in q.logic.outcomes:
                if outcome.get("system") in self.by_url and outcome["system"] not in systems:
                    systems.append(outcome["system"])
        views: dict[tuple[str, str], OutcomeView] = {}
        for system in systems:
            codesystem = self.by_url[system]
            for concept in _walk_concepts(codesystem.get("concept")):
                views[(system, concept["code"])] = self._outcome(codesystem, concept)
        for cm in (r for r in self.resources if r.get("resourceType") == "ConceptMap"):
            for group in cm.get("group") or ():
                for element in group.get("element") or () if isinstance(group, dict) else ():
                    view = views.get((group.get("source"), element.get("code")))
                    if view is None:
                        continue
                    for target in element.get("target") or ():
                        view.mappings.append(Mapping(
                            page_of(cm), self.title(cm), str(group.get("target") or ""), target.get("code"),
                            self.text(target, "display"), str(target.get("equivalence") or ""), self.text(target, "comment"),
                        ))
        for q in self.questionnaires:
            for link_id, outcome in q.logic.outcomes:
                view = views.get((outcome.get("system"), outcome.get("code")))
                if view is not None:
                    view.items.append((f"{q.page}#{anchor(link_id)}", q.by_link_id[link_id].label if link_id in q.by_link_id else link_id, q.title))
        self._outcome_index = views
        return list(views.values())

    def add_routes(self) -> None:
        """Compute the routes of every Questionnaire with outcomes (the costly part of a build;
        narratives do without). A summary an earlier build stored (`routecache`) is used as it
        is; the others are computed in forked processes meanwhile (`start_routes`), when
        started, and stored."""
        from . import routecache

        jobs = getattr(self, "_route_jobs", None) or self.start_routes(parallel=False)
        for q in self.questionnaires:
            if q.page in jobs:
                digest, job = jobs[q.page]
                summary = job.result() if hasattr(job, "result") else job
                if hasattr(job, "result"):
                    routecache.store(digest, summary)
                self._apply_routes(q, summary)
        self._route_jobs = None

    def start_routes(self, parallel: bool = True) -> dict:
        """Start computing the routes; `add_routes` collects them."""
        from . import routecache
        from .background import Background

        jobs: dict = {}
        for q in self.questionnaires:
            if q.logic.outcomes:
                digest = routecache.key(q.logic.route_inputs(), MAX_ROUTES, ROUTES_SHOWN)
                summary = routecache.load(digest)
                if summary is None:
                    compute = (lambda logic=q.logic: logic.route_summary(MAX_ROUTES, ROUTES_SHOWN))
                    summary = Background(compute) if parallel else _Computed(compute())
                jobs[q.page] = (digest, summary)
        self._route_jobs = jobs
        return jobs

    def outcome_view(self, system: str, code: str) -> OutcomeView | None:
        return self._outcome_index.get((system, code))

    def _outcome(self, codesystem: dict, concept: dict) -> OutcomeView:
        system = codesystem["url"]
        ref = OutcomeRef(system, concept["code"], self.text(concept, "display"), outcome_page(str(codesystem.get("id")), concept["code"]))
        descriptions = {p.get("code"): p for p in codesystem.get("property") or () if isinstance(p, dict)}
        urgency, urgency_code, rank, derived, quote = EMPTY, "", 99, None, EMPTY
        grouped: dict[str, list[Text]] = {}
        for prop in concept.get("property") or ():
            if not isinstance(prop, dict):
                continue
            code = prop.get("code")
            if code == "urgentie" and isinstance(prop.get("valueCoding"), dict):
                coding = prop["valueCoding"]
                urgency_code = str(coding.get("code"))
                urgency = self.coding_display(coding.get("system"), coding.get("code"), coding)
                rank = _rank(self.concepts.get((coding.get("system"), coding.get("code"))))
            elif code == "urgentie-afgeleid" and isinstance(prop.get("valueBoolean"), bool):
                derived = prop["valueBoolean"]
            elif code == "urgentie-citaat":
                quote = self.text(prop, "valueString")
            else:
                grouped.setdefault(code, []).append(self._property_value(prop))
        properties = []
        for code, values in grouped.items():
            described = descriptions.get(code)
            name = self.languages.plain(code)
            properties.append((name, values, self.text(described, "description") if described else EMPTY))
        return OutcomeView(
            ref, page_of(codesystem), self.title(codesystem), self.text(concept, "definition"), urgency, urgency_code, rank,
            derived, quote, properties,
        )

    def _property_value(self, prop: dict) -> Text:
        for key, value in prop.items():
            if key == "valueCoding" and isinstance(value, dict):
                return self.coding_display(value.get("system"), value.get("code"), value)
            if key == "valueString":
                return self.text(prop, "valueString")
            if key.startswith("value"):
                return self.languages.plain(str(value).lower() if isinstance(value, bool) else str(value))
        return EMPTY

    def _apply_routes(self, q: QuestionnaireView, summary) -> None:
        views = self._outcome_index
        q.routes_total, q.routes_truncated = summary.total, summary.truncated
        q.unreached = [self.outcome_ref(o) for o in summary.unreached]
        for key, view in views.items():
            if key in summary.counts:
                view.route_count += summary.counts[key]
                view.routes += [self._route(q, r) for r in summary.shortest[key]]
        for ref in q.unreached:
            view = views.get((ref.system, ref.code))
            if view is not None and not view.route_count:
                view.unreached = True

    def _route(self, q: QuestionnaireView, route: dict) -> RouteView:
        steps = []
        for step in route["steps"]:
            view = q.by_link_id.get(step["linkId"])
            steps.append({
                "href": f"{q.page}#{anchor(step['linkId'])}",
                "label": view.label if view else step["linkId"],
                "answer": self._step_answer(step["answer"]),
                "alternatives": [self._step_answer(a) for a in step.get("alternatives", ())],
            })
        return RouteView(steps, [self.outcome_ref(o) for o in route["outcomes"]])

    def _step_answer(self, answer: dict) -> Text:
        if "boolean" in answer:
            return boolean_text(bool(answer["boolean"]), self.languages)
        return self.coding_display(answer.get("system"), answer.get("code"), answer)

    # -- terminology -----------------------------------------------------------------------

    def metadata(self, resource: dict) -> list[tuple[str, str]]:
        rows = [("resourceType", resource.get("resourceType")), ("id", resource.get("id"))]
        rows += [(key, resource.get(key)) for key in ("url", "version", "name", "status", "date", "publisher", "kind", "type", "content", "questionnaire", "authored")]
        if isinstance(resource.get("count"), int):
            rows.append(("count", str(resource["count"])))
        return [(k, str(v)) for k, v in rows if isinstance(v, (str, int)) and not isinstance(v, bool)]

    def concept_rows(self, codesystem: dict) -> list[dict]:
        rows = []
        for concept in _walk_concepts(codesystem.get("concept")):
            key = (codesystem.get("url"), concept["code"])
            rows.append({
                "code": concept["code"],
                "anchor": concept_anchor(concept["code"]),
                "display": self.text(concept, "display"),
                "definition": self.text(concept, "definition"),
                "page": outcome_page(str(codesystem.get("id")), concept["code"]) if key in self._outcome_keys else None,
            })
        return rows

    def mapping_rows(self, conceptmap: dict) -> list[dict]:
        rows = []
        for group in conceptmap.get("group") or ():
            if not isinstance(group, dict):
                continue
            for element in group.get("element") or ():
                if not isinstance(element, dict):
                    continue
                source = (group.get("source"), element.get("code"))
                for target in element.get("target") or ():
                    rows.append({
                        "source_code": element.get("code"),
                        "source_display": self.coding_display(group.get("source"), element.get("code"), element),
                        "source_page": self.outcome_ref({"system": source[0], "code": source[1]}).page if source in self._outcome_keys else None,
                        "code": target.get("code"),
                        "display": self.text(target, "display"),
                        "equivalence": str(target.get("equivalence") or ""),
                        "comment": self.text(target, "comment"),
                    })
        return rows

    def response_rows(self, response: dict) -> list[dict]:
        """The answered items of a QuestionnaireResponse, with the question's text from its
        Questionnaire when the package has it."""
        questionnaire = self.by_url.get(str(response.get("questionnaire") or "").partition("|")[0])
        view = next((q for q in self.questionnaires if q.resource is questionnaire), None)
        rows = []

        def visit(items: Any) -> None:
            for item in items if isinstance(items, list) else ():
                if not isinstance(item, dict):
                    continue
                link_id = str(item.get("linkId"))
                answers = [a for a in item.get("answer") or () if isinstance(a, dict)]
                if answers:
                    item_view = view.by_link_id.get(link_id) if view else None
                    question = item_view.text if item_view is not None else self.text(item, "text")
                    rows.append({"link_id": link_id, "question": question, "answers": [self._answer_value(a, item_view) for a in answers]})
                for answer in answers:
                    visit(answer.get("item"))
                visit(item.get("item"))

        visit(response.get("item"))
        return rows

    def _answer_value(self, answer: dict, item: ItemView | None) -> Text:
        for key, value in answer.items():
            if key == "valueCoding" and isinstance(value, dict):
                for option in item.options if item is not None else ():
                    if option.system == (value.get("system") or "") and option.code == value.get("code"):
                        return option.display
                return self.coding_display(value.get("system"), value.get("code"), value)
            if key == "valueBoolean" and isinstance(value, bool):
                return boolean_text(value, self.languages)
            if key.startswith("value"):
                return self.languages.plain(plain_value(value))
        return EMPTY

    def response_outcomes(self, response: dict) -> list[OutcomeRef] | None:
        """The outcomes the engine finds for a response (None: its Questionnaire is not in the package)."""
        questionnaire = self.by_url.get(str(response.get("questionnaire") or "").partition("|")[0])
        if questionnaire is None or questionnaire.get("resourceType") != "Questionnaire":
            return None
        result = self.logic.questionnaire(questionnaire).evaluate(response)
        return [self.outcome_ref(o) for o in result.outcomes]


    def valueset_members(self, valueset: dict) -> list[tuple[str, str, Text]] | None:
        """(system, code, display) of the expansion the engine computes, or None if it cannot."""
        codes = self.logic.valuesets.get(valueset.get("url")) if isinstance(valueset.get("url"), str) else None
        if codes is None:
            return None
        return [(s, c, self.coding_display(s, c)) for s, c in sorted(codes, key=lambda sc: (str(sc[0]), _code_key(str(sc[1]))))]


class _Computed:
    """A summary computed in this process, collected like a Background one (and so stored)."""

    def __init__(self, value: Any):
        self._value = value

    def result(self) -> Any:
        return self._value


def _walk_concepts(concepts: Any):
    for concept in concepts if isinstance(concepts, list) else ():
        if isinstance(concept, dict) and isinstance(concept.get("code"), str):
            yield concept
            yield from _walk_concepts(concept.get("concept"))


def _rank(concept: dict | None) -> int:
    for prop in (concept or {}).get("property") or ():
        if isinstance(prop, dict) and prop.get("code") == "rang" and isinstance(prop.get("valueInteger"), int):
            return prop["valueInteger"]
    return 99


def _code_key(code: str) -> tuple:
    """Codes in natural order: '2' before '10', '3.2' before '3.10'."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\-]", code))
