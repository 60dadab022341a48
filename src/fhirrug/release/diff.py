"""What changed between two releases, in a content owner's terms, and what kind of release it is.

Classification (semantic versioning seen from a stored QuestionnaireResponse):
- major: a stored response could become invalid or change its outcome: an item, linkId, answer
  option, code, concept mapping or resource removed; enableWhen or enableBehavior changed; an
  item made required, made non-repeating, moved to another group, reordered or given another
  type; an answer value set replaced;
- minor: content added compatibly (items, answer options, codes, resources), codes retired
  (still valid in stored responses), other structural changes;
- patch: texts and translations only (text, title, display, definition, description, ...);
- none: nothing but version, date and the version part of references.

Version and date are release bookkeeping and never count as a change; neither does the version
part of a versioned canonical reference (`url|0.1.0` -> `url|0.2.0`).

A comparison that cannot be made is never "no change": a resource whose shape the comparison
cannot read raises DiffError naming it, and a stored response the engine cannot replay is a
ReplayFailure (collected, or raised as ReplayFailed), so a pipeline gate never passes on it.
"""

from __future__ import annotations

import json
import re
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any

from ..model import build

LEVELS = ("none", "patch", "minor", "major")
_RANK = {level: i for i, level in enumerate(LEVELS)}
CANONICAL_TYPES = ("StructureDefinition", "CodeSystem", "ValueSet", "ConceptMap", "Questionnaire")

# String elements a content owner sees as text; changing them is a patch.
TEXT_KEYS = {"title", "description", "purpose", "copyright", "text", "prefix", "display", "definition", "name", "publisher"}
# `text` (the resource's narrative) is generated from the rest by `fhirrug export`: a folder and
# its exported package must compare equal.
BOOKKEEPING = {"version", "date", "meta", "id", "text"}
_OWN: ContextVar[frozenset | None] = ContextVar("fhirrug_diff_own_urls", default=None)
# The CodeSystem urls of both releases: an outcome's code comes from one of them, as the engine
# counts a package's outcomes (None when neither release has CodeSystems: every code counts, as
# in `fhirrug.evaluate` without a package).
_SYSTEMS: ContextVar[frozenset | None] = ContextVar("fhirrug_diff_codesystems", default=None)
_VERSIONED = re.compile(r"^([a-z][a-z0-9+.-]*:[^|\s]*)\|[^|\s]+$")


@dataclass(frozen=True)
class Change:
    resource: str  # canonical url, or Type/id for resources without one
    kind: str  # e.g. item-added, answer-option-removed, enableWhen-changed, text-changed
    level: str  # major | minor | patch
    expression: str  # FHIRPath location in the NEW resource (OLD for removals)
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ReplayFailure:
    """A stored response the enableWhen engine could not evaluate: the release cannot be judged."""

    response: str  # QuestionnaireResponse/<id>
    questionnaire: str  # the Questionnaire's url
    release: str  # "old" or "new": which release's Questionnaire it failed on
    error: str  # the exception, e.g. "TypeError: ..."

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.response} against {self.questionnaire} in {self.release.upper()}: {self.error}"


class DiffError(Exception):
    """OLD and NEW cannot be compared (a resource of a shape the comparison cannot read)."""


class ReplayFailed(DiffError):
    """Stored responses could not be replayed; `failures` lists them."""

    def __init__(self, failures: list[ReplayFailure]):
        self.failures = failures
        super().__init__(f"{len(failures)} stored responses could not be replayed through the enableWhen engine: " + "; ".join(map(str, failures[:3])))


def max_level(changes: list[Change]) -> str:
    return max((c.level for c in changes), key=_RANK.__getitem__, default="none")


def key_of(resource: dict) -> str:
    url = resource.get("url")
    if resource.get("resourceType") in CANONICAL_TYPES and isinstance(url, str):
        return url
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def strip_versions(value: Any) -> Any:
    """The value without the versions of references to the package's own resources: the
    `|version` of `url|version`, the `version` beside a `system` (Coding, compose.include) and a
    ConceptMap group's `sourceVersion`/`targetVersion`. A bump rewrites exactly these, so they are
    bookkeeping; a reference to somebody else's resource keeps its version (changing it matters).
    Outside `diff_changes` (no package known) every `url|version` string loses its version."""
    own = _OWN.get()
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "version" and isinstance(value.get("system"), str) and _is_own(value["system"], own):
                continue
            if key in ("sourceVersion", "targetVersion") and _is_own(value.get(key[:6]), own):
                continue
            out[key] = strip_versions(item)
        return out
    if isinstance(value, list):
        return [strip_versions(v) for v in value]
    if isinstance(value, str):
        match = _VERSIONED.match(value)
        return match[1] if match and _is_own(match[1], own) else value
    return value


def _is_own(url: Any, own: frozenset | None) -> bool:
    return isinstance(url, str) and (own is None or url in own)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(strip_versions(a), sort_keys=True) == json.dumps(strip_versions(b), sort_keys=True)


def diff_resources(old: list[dict], new: list[dict], failures: list[ReplayFailure] | None = None) -> dict:
    """{"recommended": level, "changes": [Change.to_dict(), ...]} for two sets of resources.
    Replay failures go to `failures` if given, else raise ReplayFailed."""
    changes = diff_changes(old, new, failures)
    return {"recommended": max_level(changes), "changes": [c.to_dict() for c in changes]}


def diff_changes(old: list[dict], new: list[dict], failures: list[ReplayFailure] | None = None) -> list[Change]:
    """Every change from OLD to NEW. Raises DiffError for a resource the comparison cannot read;
    stored responses that cannot be replayed are appended to `failures`, or, without that list,
    raised together as ReplayFailed once everything else is compared."""
    own = frozenset(
        r["url"] for r in [*old, *new] if isinstance(r, dict) and r.get("resourceType") in CANONICAL_TYPES and isinstance(r.get("url"), str)
    )
    systems = frozenset(
        r["url"] for r in [*old, *new] if isinstance(r, dict) and r.get("resourceType") == "CodeSystem" and isinstance(r.get("url"), str)
    )
    collected: list[ReplayFailure] = [] if failures is None else failures
    token, systems_token = _OWN.set(own), _SYSTEMS.set(systems or None)
    try:
        changes = _diff_changes(old, new, collected)
    finally:
        _OWN.reset(token)
        _SYSTEMS.reset(systems_token)
    if failures is None and collected:
        raise ReplayFailed(collected)
    return changes


def _diff_changes(old: list[dict], new: list[dict], failures: list[ReplayFailure]) -> list[Change]:
    before = {key_of(r): r for r in old if isinstance(r, dict)}
    after = {key_of(r): r for r in new if isinstance(r, dict)}
    changes: list[Change] = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        rtype = (b or a).get("resourceType", "Resource")
        example = rtype == "QuestionnaireResponse"
        if a is None:
            changes.append(Change(key, "resource-added", "patch" if example else "minor", rtype, f"new {rtype}"))
        elif b is None:
            changes.append(Change(key, "resource-removed", "patch" if example else "major", rtype, f"{rtype} removed"))
        elif example:
            if not _same(_without(a, BOOKKEEPING), _without(b, BOOKKEEPING)):
                changes.append(Change(key, "example-changed", "patch", rtype, "example response changed"))
        else:
            try:
                changes += _diff_resource(key, rtype, a, b)
            except Exception as exc:  # noqa: BLE001 - malformed content: say which resource, never a traceback
                raise DiffError(f"{key}: cannot compare this {rtype} ({type(exc).__name__}: {exc}); `fhirrug validate` shows what is wrong with it") from exc
    changes += replay_responses(old, new, failures)
    return changes


def _without(value: dict, keys: set[str]) -> dict:
    return {k: v for k, v in value.items() if k not in keys}


def _diff_resource(key: str, rtype: str, a: dict, b: dict) -> list[Change]:
    special = {"Questionnaire": ("item",), "CodeSystem": ("concept",), "ValueSet": ("compose",), "ConceptMap": ("group",)}
    handled = set(special.get(rtype, ()))
    changes = _diff_plain(key, rtype, a, b, skip=BOOKKEEPING | handled)
    if rtype == "Questionnaire":
        changes += _diff_items(key, a, b)
    elif rtype == "CodeSystem":
        changes += _diff_concepts(key, a, b)
    elif rtype == "ValueSet":
        changes += _diff_compose(key, a, b)
    elif rtype == "ConceptMap":
        changes += _diff_conceptmap(key, a, b)
    return changes


def _diff_plain(key: str, path: str, a: dict, b: dict, skip: set[str]) -> list[Change]:
    """Top-level elements: texts (patch) and anything else (minor; status etc.)."""
    changes = []
    for name in sorted((a.keys() | b.keys()) - skip):
        if _same(a.get(name), b.get(name)):
            continue
        base = name.lstrip("_")
        if base in TEXT_KEYS:
            kind = "translation-changed" if name.startswith("_") else "text-changed"
            changes.append(Change(key, kind, "patch", f"{path}.{base}", f"{base}: {_show(a.get(name))} -> {_show(b.get(name))}"))
        else:
            changes.append(Change(key, f"{name}-changed", "minor", f"{path}.{name}", f"{name}: {_show(a.get(name))} -> {_show(b.get(name))}"))
    return changes


def _show(value: Any, limit: int = 80) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(strip_versions(value), ensure_ascii=False, sort_keys=True)
    return repr(text[:limit] + "…") if len(text) > limit else repr(text)


# --- Questionnaire ----------------------------------------------------------------------------


def _flatten_items(questionnaire: dict) -> dict[str, dict]:
    """linkId -> the item (read through the Questionnaire's model: `fhirrug.model`), its nearest
    ancestor's linkId, FHIRPath and the linkIds of its siblings; a repeated linkId: the last."""
    model = build(questionnaire)
    out: dict[str, dict] = {}
    for node in model.items:
        if node.link_id is None:
            continue
        parent = next((a.link_id for a in node.ancestors() if a.link_id is not None), None)
        siblings = [s.item.get("linkId") for s in (node.parent.children if node.parent is not None else model.top)]
        out[node.link_id] = {"item": node.item, "node": node, "parent": parent, "path": node.path, "siblings": siblings}
    return out


_ITEM_HANDLED = {"linkId", "item", "answerOption", "enableWhen", "enableBehavior", "required", "repeats", "type", "answerValueSet"}


def _option_key(option: dict) -> str:
    for name, value in option.items():
        if name.startswith("value"):
            if isinstance(value, dict):
                return f"{value.get('system', '')}|{value.get('code', '')}" if "code" in value else json.dumps(value, sort_keys=True)
            return f"{name}:{value}"
    return json.dumps(option, sort_keys=True)


def _diff_items(key: str, old: dict, new: dict) -> list[Change]:
    before, after = _flatten_items(old), _flatten_items(new)
    changes: list[Change] = []
    for link_id in before.keys() - after.keys():
        changes.append(Change(key, "item-removed", "major", before[link_id]["path"], f"item {link_id!r} removed"))
        outcome = _outcome_code(before[link_id])
        if outcome:
            changes.append(Change(key, "outcome-removed", "major", before[link_id]["path"], f"outcome {outcome} (item {link_id!r}) can no longer be reached"))
    for link_id in sorted(after.keys() - before.keys(), key=list(after).index):
        item = after[link_id]["item"]
        outcome = _outcome_code(after[link_id])
        if outcome:
            changes.append(Change(key, "outcome-added", "minor", after[link_id]["path"], f"outcome {outcome} (item {link_id!r}) added"))
        required = item.get("required") is True and not item.get("enableWhen")
        changes.append(Change(key, "item-added-required" if required else "item-added", "major" if required else "minor", after[link_id]["path"], f"item {link_id!r} added" + (" (required)" if required else "")))
    for link_id in [l for l in after if l in before]:
        changes += _diff_item(key, link_id, before[link_id], after[link_id])
    return sorted(changes, key=lambda c: (c.expression, c.kind))


def _outcome_code(entry: dict) -> str | None:
    """`system|code` of the outcome an item stands for, by the one definition every command uses
    (`fhirrug.model.Item.outcome`: in this package a coded group around the answer's text), with
    the codes of the releases' CodeSystems, as the engine counts them."""
    outcome = entry["node"].outcome(_SYSTEMS.get())
    if outcome is None:
        return None
    return f"{outcome['system'] if outcome['system'] is not None else ''}|{outcome['code']}"


def _diff_item(key: str, link_id: str, old: dict, new: dict) -> list[Change]:
    a, b, path = old["item"], new["item"], new["path"]
    changes: list[Change] = []

    def add(kind: str, level: str, detail: str, where: str = path) -> None:
        changes.append(Change(key, kind, level, where, f"item {link_id!r}: {detail}"))

    if old["parent"] != new["parent"]:
        add("item-moved", "major", f"moved from group {old['parent']!r} to {new['parent']!r}")
    elif _before(old["siblings"], new["siblings"], link_id):
            add("item-reordered", "major", "order among its siblings changed (stored responses keep the old order)")
    if a.get("type") != b.get("type"):
        add("item-type-changed", "major", f"type {a.get('type')!r} -> {b.get('type')!r}")
    if bool(a.get("required")) != bool(b.get("required")):
        made = bool(b.get("required"))
        add("item-required-changed", "major" if made else "minor", "made required" if made else "no longer required")
    if bool(a.get("repeats")) != bool(b.get("repeats")):
        add("item-repeats-changed", "minor" if b.get("repeats") else "major", "may repeat" if b.get("repeats") else "no longer repeats")
    if not _same(a.get("enableWhen"), b.get("enableWhen")) or a.get("enableBehavior") != b.get("enableBehavior"):
        add("enableWhen-changed", "major", f"enableWhen {_show(_enable_summary(a))} -> {_show(_enable_summary(b))}", f"{path}.enableWhen")
        if _outcome_code(new):
            add("outcome-condition-changed", "major", f"outcome {_outcome_code(new)} is now reached under other conditions", f"{path}.enableWhen")
    if _outcome_code(old) != _outcome_code(new) and _outcome_code(old) and _outcome_code(new):
        add("outcome-code-changed", "major", f"outcome {_outcome_code(old)} -> {_outcome_code(new)}", f"{path}.code")
    if not _same(a.get("answerValueSet"), b.get("answerValueSet")):
        add("answerValueSet-changed", "major", f"answerValueSet {_show(a.get('answerValueSet'))} -> {_show(b.get('answerValueSet'))}", f"{path}.answerValueSet")
    old_options = {_option_key(o): (i, o) for i, o in enumerate(a.get("answerOption", []) or []) if isinstance(o, dict)}
    new_options = {_option_key(o): (i, o) for i, o in enumerate(b.get("answerOption", []) or []) if isinstance(o, dict)}
    for option in old_options.keys() - new_options.keys():
        add("answer-option-removed", "major", f"answer option {option} removed", f"{path}.answerOption[{old_options[option][0]}]")
    for option in new_options.keys() - old_options.keys():
        add("answer-option-added", "minor", f"answer option {option} added", f"{path}.answerOption[{new_options[option][0]}]")
    for option in old_options.keys() & new_options.keys():
        (_, oa), (i, ob) = old_options[option], new_options[option]
        if not _same(oa, ob):
            text_only = _texts_only_differ(oa, ob)
            add("answer-option-text-changed" if text_only else "answer-option-changed", "patch" if text_only else "minor", f"answer option {option} changed", f"{path}.answerOption[{i}]")
    rest_a, rest_b = _without(a, _ITEM_HANDLED), _without(b, _ITEM_HANDLED)
    for change in _diff_plain(key, path, rest_a, rest_b, skip=set()):
        changes.append(Change(key, change.kind, change.level, change.expression, f"item {link_id!r}: {change.detail}"))
    return changes


def _before(old_siblings: list, new_siblings: list, link_id: str) -> bool:
    """Report a reorder once, on the items whose relative order with a common sibling flipped."""
    common = [l for l in old_siblings if l in new_siblings]
    old_rank = {l: i for i, l in enumerate(common)}
    new_order = [l for l in new_siblings if l in old_rank]
    new_rank = {l: i for i, l in enumerate(new_order)}
    return old_rank.get(link_id) != new_rank.get(link_id)


def _enable_summary(item: dict) -> Any:
    conditions = strip_versions(item.get("enableWhen") or [])
    return {"enableBehavior": item.get("enableBehavior"), "enableWhen": conditions} if item.get("enableBehavior") else conditions


def _texts_only_differ(a: Any, b: Any) -> bool:
    """True when a and b differ only in text elements (display, text, ...) and their translations."""

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items() if k.lstrip("_") not in TEXT_KEYS}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    return _same(scrub(a), scrub(b))


# --- CodeSystem -------------------------------------------------------------------------------


def _flatten_concepts(concepts: list, prefix: str = "CodeSystem") -> dict[str, tuple[str, dict]]:
    out: dict[str, tuple[str, dict]] = {}
    for index, concept in enumerate(concepts or []):
        if isinstance(concept, dict) and isinstance(concept.get("code"), str):
            path = f"{prefix}.concept[{index}]"
            out[concept["code"]] = (path, concept)
            out.update(_flatten_concepts(concept.get("concept", []), path))
    return out


def _retired(concept: dict) -> bool:
    for prop in concept.get("property", []) or []:
        if prop.get("code") == "status" and prop.get("valueCode") in ("retired", "deprecated"):
            return True
        if prop.get("code") in ("inactive", "deprecated") and prop.get("valueBoolean") is True:
            return True
    return False


def _diff_concepts(key: str, a: dict, b: dict) -> list[Change]:
    before, after = _flatten_concepts(a.get("concept", [])), _flatten_concepts(b.get("concept", []))
    changes = []
    for code in sorted(before.keys() - after.keys()):
        changes.append(Change(key, "code-removed", "major", before[code][0], f"code {code!r} removed"))
    for code in sorted(after.keys() - before.keys()):
        changes.append(Change(key, "code-added", "minor", after[code][0], f"code {code!r} added"))
    for code in sorted(before.keys() & after.keys()):
        (_, ca), (path, cb) = before[code], after[code]
        if _same(_without(ca, {"concept"}), _without(cb, {"concept"})):
            continue
        if not _retired(ca) and _retired(cb):
            changes.append(Change(key, "code-retired", "minor", path, f"code {code!r} retired (still valid in stored responses)"))
        elif _texts_only_differ(_without(ca, {"concept"}), _without(cb, {"concept"})):
            changes.append(Change(key, "code-text-changed", "patch", path, f"code {code!r}: display or definition changed"))
        else:
            changes.append(Change(key, "code-changed", "minor", path, f"code {code!r}: properties changed"))
    return changes


# --- ValueSet ---------------------------------------------------------------------------------


def _compose_members(value_set: dict) -> dict[str, str]:
    """What the compose includes: 'system|code', 'system|*' or 'valueSet:url' -> FHIRPath."""
    members: dict[str, str] = {}
    compose = value_set.get("compose") or {}
    for part in ("include", "exclude"):
        for i, include in enumerate(compose.get(part, []) or []):
            path = f"ValueSet.compose.{part}[{i}]"
            system = include.get("system", "")
            for vs in include.get("valueSet", []) or []:
                members[f"{part}:valueSet:{strip_versions(vs)}"] = path
            if include.get("filter"):
                members[f"{part}:{system}|filter:{json.dumps(include['filter'], sort_keys=True)}"] = path
            elif include.get("concept"):
                for j, concept in enumerate(include["concept"]):
                    members[f"{part}:{system}|{concept.get('code')}"] = f"{path}.concept[{j}]"
            elif system:
                members[f"{part}:{system}|*"] = path
    return members


def _diff_compose(key: str, a: dict, b: dict) -> list[Change]:
    before, after = _compose_members(a), _compose_members(b)
    changes = []
    for member in sorted(before.keys() - after.keys()):
        level = "minor" if member.startswith("exclude:") else "major"
        changes.append(Change(key, "valueset-member-removed", level, before[member], f"{member.split(':', 1)[1]} no longer {member.split(':')[0]}d"))
    for member in sorted(after.keys() - before.keys()):
        level = "major" if member.startswith("exclude:") else "minor"
        changes.append(Change(key, "valueset-member-added", level, after[member], f"{member.split(':', 1)[1]} now {member.split(':')[0]}d"))
    if not changes and not _same(a.get("compose"), b.get("compose")):
        text_only = _texts_only_differ(a.get("compose"), b.get("compose"))
        changes.append(Change(key, "compose-text-changed" if text_only else "compose-changed", "patch" if text_only else "minor", "ValueSet.compose", "compose changed"))
    return changes


# --- ConceptMap -------------------------------------------------------------------------------


def _mappings(concept_map: dict) -> dict[str, tuple[str, Any]]:
    out: dict[str, tuple[str, Any]] = {}
    for g, group in enumerate(concept_map.get("group", []) or []):
        for e, element in enumerate(group.get("element", []) or []):
            source = f"{group.get('source', '')}|{element.get('code')}"
            targets = sorted(
                (f"{group.get('target', '')}|{t.get('code')}", t.get("equivalence", ""))
                for t in element.get("target", []) or []
            )
            out[source] = (f"ConceptMap.group[{g}].element[{e}]", targets)
    return out


def _diff_conceptmap(key: str, a: dict, b: dict) -> list[Change]:
    before, after = _mappings(a), _mappings(b)
    changes = []
    for source in sorted(before.keys() - after.keys()):
        changes.append(Change(key, "mapping-removed", "major", before[source][0], f"mapping of {source} removed"))
    for source in sorted(after.keys() - before.keys()):
        changes.append(Change(key, "mapping-added", "minor", after[source][0], f"mapping of {source} added"))
    for source in sorted(before.keys() & after.keys()):
        if before[source][1] != after[source][1]:
            changes.append(Change(key, "mapping-changed", "major", after[source][0], f"{source}: {before[source][1]} -> {after[source][1]}"))
    if not changes and not _same(a.get("group"), b.get("group")):
        text_only = _texts_only_differ(a.get("group"), b.get("group"))
        changes.append(Change(key, "mapping-text-changed" if text_only else "mapping-other-changed", "patch" if text_only else "minor", "ConceptMap.group", "group changed"))
    return changes


# --- stored responses replayed through the enableWhen engine ----------------------------------


def replay_responses(old: list[dict], new: list[dict], failures: list[ReplayFailure] | None = None) -> list[Change]:
    """Evaluate every QuestionnaireResponse of OLD (the responses stored under the old release)
    against its Questionnaire in OLD and in NEW with the enableWhen engine: a response that was
    valid and no longer is, or that reaches other outcomes, is a major change. A response the
    engine cannot evaluate is appended to `failures` (never silently skipped)."""
    from ..engine import evaluate, expand_valuesets

    failures = [] if failures is None else failures
    old_q = {r["url"]: r for r in old if isinstance(r, dict) and r.get("resourceType") == "Questionnaire" and isinstance(r.get("url"), str)}
    new_q = {r["url"]: r for r in new if isinstance(r, dict) and r.get("resourceType") == "Questionnaire" and isinstance(r.get("url"), str)}
    responses = [r for r in old if isinstance(r, dict) and r.get("resourceType") == "QuestionnaireResponse"]
    if not responses:
        return []
    contexts = {}
    for name, resources in (("old", old), ("new", new)):
        systems = [r["url"] for r in resources if isinstance(r, dict) and r.get("resourceType") == "CodeSystem" and isinstance(r.get("url"), str)]
        try:
            contexts[name] = (systems, expand_valuesets(resources, strict=True))
        except Exception as exc:  # noqa: BLE001 - malformed terminology: no replay can be trusted
            raise DiffError(f"cannot expand the ValueSets of {name.upper()} to replay the stored responses ({type(exc).__name__}: {exc}); `fhirrug validate` shows what is wrong") from exc
    changes = []
    for response in sorted(responses, key=lambda r: str(r.get("id"))):
        url = str(response.get("questionnaire", "")).partition("|")[0]
        if url not in old_q or url not in new_q or _same(old_q[url], new_q[url]) and _same_terminology(old, new):
            continue
        where = f"QuestionnaireResponse/{response.get('id')}"
        try:
            release = "old"
            before = _evaluate(evaluate, old_q[url], response, contexts["old"])
            release = "new"
            after = _evaluate(evaluate, new_q[url], response, contexts["new"])
        except Exception as exc:  # noqa: BLE001 - reported: the release cannot be judged on this response
            failures.append(ReplayFailure(where, url, release, f"{type(exc).__name__}: {exc}"))
            continue
        if before.valid and not after.valid:
            first = next((i for i in after.issues if i.severity in ("error", "fatal")), None)
            detail = f"{first.code} at {first.expression}" if first else "invalid"
            changes.append(Change(url, "stored-response-invalid", "major", where, f"stored response {response.get('id')!r} becomes invalid ({detail})"))
        old_outcomes = [f"{o.get('system')}|{o.get('code')}" for o in before.outcomes]
        new_outcomes = [f"{o.get('system')}|{o.get('code')}" for o in after.outcomes]
        if old_outcomes != new_outcomes:
            changes.append(Change(url, "stored-response-outcome-changed", "major", where, f"stored response {response.get('id')!r}: outcomes {old_outcomes} -> {new_outcomes}"))
    return changes


def _same_terminology(old: list[dict], new: list[dict]) -> bool:
    pick = lambda rs: sorted((json.dumps(strip_versions(_without(r, BOOKKEEPING)), sort_keys=True) for r in rs if isinstance(r, dict) and r.get("resourceType") in ("CodeSystem", "ValueSet")))  # noqa: E731
    return pick(old) == pick(new)


def _evaluate(evaluate, questionnaire: dict, response: dict, context):
    systems, valuesets = context
    # The stored response names the old version; evaluate it as a response to this one.
    copy = dict(response, questionnaire=f"{questionnaire.get('url')}|{questionnaire.get('version', '')}")
    return evaluate(questionnaire, copy, codesystems=systems, valuesets=valuesets)
