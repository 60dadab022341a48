"""Structured mutants of the shipped resources and example responses, as Hypothesis strategies.

A mutant starts from one of the package's own files (a Questionnaire, CodeSystem, ValueSet,
ConceptMap, StructureDefinition or example QuestionnaireResponse) and applies one to three
mutations, each at a place picked by its key name first (so that `linkId`, `system`,
`enableWhen` and `answerCoding` are hit as often as the thousands of translation extensions):

- a field deleted, an array element or object key duplicated, an array made giant;
- a value retyped or swapped for null, {}, [], "", a huge number, a long string, odd Unicode
  (a lone surrogate escape, bidi controls, NUL, combining marks), a wrapped value ([v], {"value": v}),
  or a value from elsewhere in the same resource;
- an enableWhen broken: unknown, self or later target, a bogus operator, an answer[x] of the
  wrong JSON type, none or two answer[x];
- the bytes: truncated, a key written twice, invalid UTF-8.

Each mutant says whether its mutations touched only places the enableWhen engine never reads
(`inert`): the evaluation of such a response must equal the original's.

Used by the suite (`tests/fuzz/test_fuzz_*.py`, bounded) and by `scripts/fuzz.py --minutes N`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

REPO_ROOT = Path(__file__).resolve().parents[2]

# Values that replace a field's value.
LONG = 100_000
ODD_VALUES: tuple = (
    None, {}, [], "", " ", "\t\n", 0, -1, 3, 1.5, -0.0, True, False,
    10**30, 10**400, -(10**300), 1e308, 5e-324,
    "true", "null", "[]", "=", "exists", "choice", "group", "display",
    "\u202eevil\u202c", "\u0000", "e\u0301\u0301\u0301", "\U0001f9b4", "\ufeffbom", "\u200b", "\ud800", "\udfff\ud800",
    "a" * LONG, "é" * (LONG // 2), [None], [[]], [{}], {"a": {}}, {"value": None},
    ["x", "y"], {"system": "s", "code": "c"}, [{"system": "s", "code": "c"}],
)

# Keys the enableWhen engine never reads, by where they sit: root of a QuestionnaireResponse,
# a response item, an answer. Mutating only these must not change an evaluation.
INERT_ROOT = ("id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
              "identifier", "basedOn", "partOf", "subject", "encounter", "authored", "author", "source")
INERT_ITEM = ("id", "extension", "modifierExtension", "definition")
INERT_ANSWER = ("id", "extension", "modifierExtension")

ENABLE_WHEN_ANSWERS = ("answerBoolean", "answerDecimal", "answerInteger", "answerDate", "answerDateTime",
                       "answerTime", "answerString", "answerCoding", "answerQuantity", "answerReference")


@dataclass(frozen=True)
class Seed:
    name: str  # file name, e.g. Questionnaire-ischias-faq.json
    folder: str  # content folder, e.g. questionnaires
    data: dict = field(repr=False, compare=False)

    @property
    def resource_type(self) -> str:
        return self.data.get("resourceType", "")


@dataclass
class Mutant:
    seed: Seed
    data: Any = field(repr=False)  # the mutated JSON value
    raw: bytes = field(repr=False)  # what is written to the file / the NDJSON line
    steps: list[str] = field(default_factory=list)  # what was done, for the report
    inert: bool = False  # only places the engine never reads were touched (responses)

    def describe(self) -> str:
        return f"{self.seed.name}: " + "; ".join(self.steps)


@cache
def seeds() -> tuple[Seed, ...]:
    """The package's own files (from its fhirrug.toml), parsed."""
    from fhirrug.manifest import load_manifest

    manifest = load_manifest(REPO_ROOT)
    found = []
    for path in manifest.content_files():
        data = json.loads(path.read_text(encoding="utf-8"))
        found.append(Seed(path.name, path.parent.relative_to(REPO_ROOT).as_posix(), data))
    return tuple(found)


def seeds_of(*resource_types: str) -> tuple[Seed, ...]:
    return tuple(s for s in seeds() if not resource_types or s.resource_type in resource_types)


# -- places in a JSON tree ----------------------------------------------------------------


def places(tree: Any) -> dict[str, list[tuple]]:
    """Every place in `tree` (a path of keys and indexes, never the root), grouped by the name of
    the key it sits under (list elements by their list's key, with '[]')."""
    groups: dict[str, list[tuple]] = {}
    stack: list[tuple[Any, tuple, str]] = [(tree, (), "")]
    while stack:
        node, path, name = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                groups.setdefault(key, []).append(path + (key,))
                stack.append((value, path + (key,), key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                groups.setdefault(name + "[]", []).append(path + (index,))
                stack.append((value, path + (index,), name))
    return groups


def get(tree: Any, path: tuple) -> Any:
    for step in path:
        tree = tree[step]
    return tree


def fhirpath(resource_type: Any, path: tuple) -> str:
    out = resource_type if isinstance(resource_type, str) else "Resource"
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else f".{step}"
    return out


# -- the mutations --------------------------------------------------------------------------
# Each takes (draw, tree, place) and returns a short description; it changes `tree` in place.


def _delete(draw, tree, place):
    parent = get(tree, place[:-1])
    del parent[place[-1]]
    return "deleted"


def _retype(draw, tree, place):
    value = draw(st.sampled_from(ODD_VALUES))
    get(tree, place[:-1])[place[-1]] = copy.deepcopy(value)
    shown = repr(value) if not isinstance(value, str) or len(value) < 20 else f"a string of {len(value)}"
    return f"set to {shown}"


def _wrap(draw, tree, place):
    parent = get(tree, place[:-1])
    value = parent[place[-1]]
    parent[place[-1]] = draw(st.sampled_from(([value], {"value": value}, [value, copy.deepcopy(value)])))
    return "wrapped"


def _swap(draw, tree, place):
    others = [p for group in places(tree).values() for p in group]
    other = draw(st.sampled_from(others))
    get(tree, place[:-1])[place[-1]] = copy.deepcopy(get(tree, other))
    return f"swapped with {other}"


def _duplicate(draw, tree, place):
    parent = get(tree, place[:-1])
    if isinstance(parent, list):
        parent.insert(place[-1], copy.deepcopy(parent[place[-1]]))
        return "array element duplicated"
    # an object key: duplicated in the bytes (see encode)
    return "duplicate key"


def _giant(draw, tree, place):
    value = get(tree, place)
    count = draw(st.sampled_from((100, 1_000, 10_000)))
    if isinstance(value, list) and value:
        parent = get(tree, place[:-1])
        element = value[draw(st.integers(0, len(value) - 1))]
        size = len(json.dumps(element))
        count = max(1, min(count, 2_000_000 // max(size, 1)))  # stay far below the 20 MB limit
        parent[place[-1]] = value + [copy.deepcopy(element) for _ in range(count)]
        return f"array made {len(value) + count} long"
    count = max(1, min(count, 2_000_000 // max(len(json.dumps(value)), 1)))  # as above
    # Copies, not [value] * count: a later mutation inside one repetition must not reach all of
    # them (10,000 shared items each made 10,000 long were 100 million values).
    get(tree, place[:-1])[place[-1]] = [copy.deepcopy(value) for _ in range(count)]
    return f"value repeated {count} times"


MUTATIONS = (_delete, _retype, _retype, _wrap, _swap, _duplicate, _giant)


def _enable_when(draw, tree) -> str | None:
    """Break one enableWhen of a Questionnaire (None: it has none)."""
    conditions = places(tree).get("enableWhen[]", [])
    if not conditions:
        return None
    place = draw(st.sampled_from(conditions))
    ew = get(tree, place)
    if not isinstance(ew, dict):
        return None
    link_ids = [get(tree, p) for p in places(tree).get("linkId", [])]
    how = draw(st.sampled_from(("target", "operator", "answer-type", "no-answer", "two-answers", "answer-key")))
    if how == "target":
        ew["question"] = draw(st.sampled_from(["bestaat-niet", "", *link_ids[:1], *link_ids[-1:]] + link_ids[:50]))
    elif how == "operator":
        ew["operator"] = draw(st.sampled_from(["~", "==", "EXISTS", ">", "<=", "exists", None, 1, ["="]]))
    else:
        keys = [k for k in ew if k.startswith("answer")]
        if how == "answer-type":
            for k in keys:
                ew[k] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES[:20] + ({"code": 3}, {"system": ["s"], "code": {}}, {"value": "3", "unit": []}))))
        elif how == "no-answer":
            for k in keys:
                del ew[k]
        elif how == "two-answers":
            ew[draw(st.sampled_from(ENABLE_WHEN_ANSWERS))] = draw(st.sampled_from((True, 3, "x", {"code": "c"})))
        else:
            value = ew.pop(keys[0]) if keys else True
            ew[draw(st.sampled_from(ENABLE_WHEN_ANSWERS + ("answerUri", "answer", "valueBoolean")))] = value
    return f"enableWhen {fhirpath('', place)}: {how}"


def _mutate_tree(draw, tree) -> list[str]:
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        if tree.get("resourceType") == "Questionnaire" and draw(st.integers(0, 3)) == 0:
            step = _enable_when(draw, tree)
            if step:
                steps.append(step)
                continue
        groups = places(tree)
        if not groups:
            break
        name = draw(st.sampled_from(sorted(groups)))
        place = draw(st.sampled_from(groups[name]))
        mutation = draw(st.sampled_from(MUTATIONS))
        steps.append(f"{fhirpath(tree.get('resourceType', ''), place)} {mutation(draw, tree, place)}")
        if steps[-1].endswith("duplicate key"):
            steps[-1] = f"duplicate key {place[-1]!r}"
    return steps


def encode(data: Any) -> bytes:
    """Compact JSON as bytes (a lone surrogate stays a \\u escape: ensure_ascii for those only)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data, separators=(",", ":")).encode("ascii")


def _bytes_mutation(draw, raw: bytes, steps: list[str]) -> bytes:
    how = draw(st.sampled_from(("none", "none", "none", "truncate", "invalid-utf8", "bom")))
    if how == "truncate":
        cut = draw(st.integers(0, max(len(raw) - 1, 0)))
        steps.append(f"truncated at byte {cut}")
        return raw[:cut]
    if how == "invalid-utf8":
        at = draw(st.integers(0, len(raw)))
        steps.append(f"byte 0xff inserted at {at}")
        return raw[:at] + b"\xff" + raw[at:]
    if how == "bom":
        steps.append("byte-order mark")
        return b"\xef\xbb\xbf" + raw
    return raw


def _with_duplicate_key(raw: bytes, key: str) -> bytes:
    """The first `"key":value` written twice (textual: a dict cannot hold a key twice)."""
    needle = json.dumps(key, ensure_ascii=False).encode("utf-8") + b":"
    at = raw.find(needle)
    if at < 0:
        return raw
    return raw[:at] + needle + b"null," + raw[at:]


@st.composite
def mutants(draw, seed_list: tuple[Seed, ...] | None = None, *, raw_bytes: bool = True) -> Mutant:
    """One mutant of one seed. raw_bytes: also mutate the bytes (truncation, encoding)."""
    seed = draw(st.sampled_from(seed_list or seeds()))
    tree = copy.deepcopy(seed.data)
    steps = _mutate_tree(draw, tree)
    raw = encode(tree)
    for step in steps:
        if step.startswith("duplicate key "):
            raw = _with_duplicate_key(raw, step[len("duplicate key "):].strip("'\""))
    if raw_bytes:
        raw = _bytes_mutation(draw, raw, steps)
    return Mutant(seed, tree, raw, steps)


@st.composite
def inert_mutants(draw, seed_list: tuple[Seed, ...] | None = None) -> Mutant:
    """A response mutated only where the engine never reads: its evaluation must not change."""
    seed = draw(st.sampled_from(seed_list or seeds_of("QuestionnaireResponse")))
    tree = copy.deepcopy(seed.data)
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        groups = places(tree)
        where = draw(st.sampled_from(("root", "item", "answer")))
        if where == "root":
            container, keys, at = tree, INERT_ROOT, ()
        else:
            candidates = groups.get("item[]" if where == "item" else "answer[]", [])
            if not candidates:
                continue
            at = draw(st.sampled_from(candidates))
            container = get(tree, at)
            keys = INERT_ITEM if where == "item" else INERT_ANSWER
        key = draw(st.sampled_from(keys))
        if key in container and draw(st.booleans()):
            del container[key]
            steps.append(f"{fhirpath('QuestionnaireResponse', at + (key,))} deleted")
        else:
            container[key] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
            steps.append(f"{fhirpath('QuestionnaireResponse', at + (key,))} set")
    return Mutant(seed, tree, encode(tree), steps, inert=True)
