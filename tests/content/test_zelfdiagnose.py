"""The self-diagnosis Questionnaire of 'Spreekuur Thuis' against the book (issue 3).

Expected texts are extracted here from the content map (../shared/content/content-map.md), never
from the Questionnaire. The routes are checked twice: by a walk over the enableWhen graph that
needs no engine (every outcome item's conditions, expanded to the sets of answers that enable it,
compared with the book's routes written out below), and by evaluating every example response
with the enableWhen engine and comparing its outcomes with the expected TOML.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from fhirrug.manifest import load_manifest

REPO = Path(__file__).resolve().parents[2]
Q_PATH = REPO / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json"
EXAMPLES = REPO / "examples"
BASE = "https://fhir.fhirrug.nl"
A = f"{BASE}/CodeSystem/zelfdiagnose-antwoord"
ALARM = f"{BASE}/CodeSystem/rugalarm-uitkomst"
KEUZE = f"{BASE}/CodeSystem/zelfdiagnose-keuze"
TEKSTBRON = f"{BASE}/StructureDefinition/tekstbron"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
TRANSLATABLE = {"title", "description", "purpose", "copyright", "text", "prefix", "display", "definition"}


# ---------------------------------------------------------------------------------------------
# Fixtures: the Questionnaire and what the content map says
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def questionnaire() -> dict:
    return json.loads(Q_PATH.read_text(encoding="utf-8"))


def walk_items(items, parents=()):
    for item in items or []:
        yield item, parents
        yield from walk_items(item.get("item"), parents + (item,))


@pytest.fixture(scope="module")
def items(questionnaire) -> dict[str, dict]:
    return {item["linkId"]: item for item, _ in walk_items(questionnaire["item"])}


@pytest.fixture(scope="module")
def content_map(shared_dir) -> str:
    return (shared_dir / "content" / "content-map.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def book_bullets(content_map) -> dict[str, tuple[str, list[int]]]:
    """bullet id ('3.4') -> (verbatim text, answer numbers) from the tables of content map 1.3."""
    section = content_map[content_map.index("### 1.3"): content_map.index("### 1.4")]
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"\d\.\d{1,2}", cells[0]):
            target = cells[2].strip("`")
            numbers = [int(n) for n in re.findall(r"\d+", target)] if target.startswith("zie antwoord") else []
            out[cells[0]] = (cells[1], numbers)
    return out


@pytest.fixture(scope="module")
def book_answers(content_map) -> dict[int, list[str]]:
    """answer number -> its paragraphs, verbatim, from content map section 2."""
    section = content_map[content_map.index("## 2. Answers"): content_map.index("## 3.")]
    out: dict[int, list[str]] = {}
    for block in re.split(r"^### Antwoord ", section, flags=re.M)[1:]:
        number = int(block.split(" ", 1)[0])
        quoted = block.split("**Text (verbatim):**", 1)[1]
        paragraphs, current = [], []
        for line in quoted.splitlines():
            if line.startswith(">"):
                body = line[1:].strip()
                if body:
                    current.append(body)
                elif current:
                    paragraphs.append(" ".join(current))
                    current = []
            elif current:
                paragraphs.append(" ".join(current))
                current = []
        if current:
            paragraphs.append(" ".join(current))
        out[number] = paragraphs
    return out


def quoted(content_map: str, marker: str) -> str:
    """The first “…” quotation after `marker`."""
    rest = content_map[content_map.index(marker) + len(marker):]
    return rest[rest.index("“") + 1: rest.index("”")]


def english(element: dict | None) -> str | None:
    for ext in (element or {}).get("extension", []):
        if ext.get("url") == TRANSLATION:
            parts = {e["url"]: e for e in ext.get("extension", [])}
            if parts.get("lang", {}).get("valueCode") == "en":
                return parts.get("content", {}).get("valueString")
    return None


def tekstbron_code(element: dict) -> str | None:
    for ext in element.get("extension", []):
        if ext.get("url") == TEKSTBRON:
            return ext["valueCoding"]["code"]
    return None


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def outcome_items(questionnaire) -> list[dict]:
    """Items that show an outcome: a group with the outcome's code around one display item with
    the text (the lead's decision, R4 que-3), or a display item with a code (issue 3's first
    wording, scripts/make_zelfdiagnose_questionnaire.py --outcome-style=display)."""
    return [i for i, _ in walk_items(questionnaire["item"]) if i["type"] in ("display", "group") and i.get("code")]


def shown_text(item: dict) -> dict:
    """The element that carries the source's text of an outcome item."""
    if item["type"] == "display":
        return item
    (inner,) = item["item"]
    assert inner["type"] == "display" and not inner.get("code")
    return inner


# ---------------------------------------------------------------------------------------------
# Verbatim text
# ---------------------------------------------------------------------------------------------
def test_content_map_parsed_completely(book_bullets, book_answers):
    # 6 + 4 + 5 + 4 + 5 + 10 + 4 bullets/options, answers 1-31 (content map 1.3 and 2).
    assert len(book_bullets) == 38
    assert sorted(book_answers) == list(range(1, 32))


def test_every_bullet_verbatim_in_its_item(items, book_bullets):
    for bid, (text, _) in book_bullets.items():
        lijst, number = bid.split(".")
        if lijst in ("1", "6"):  # yes/no lists: one boolean item per bullet
            item = items[f"lijst{lijst}.{number}"]
            assert item["type"] == "boolean", bid
            assert item["text"] == text, bid
            assert item["prefix"] == f"{number}.", bid
        else:  # choice lists: one answerOption per bullet, code = bullet id
            question = items["lijst2"] if lijst == "2" else items[f"lijst{lijst}.keuze"]
            displays = {o["valueCoding"]["code"]: o["valueCoding"]["display"] for o in question["answerOption"]}
            assert displays.get(bid) == text, bid


def test_choice_lists_have_exactly_the_books_options(items, book_bullets):
    for lijst in ("2", "3", "4", "5", "7"):
        question = items["lijst2"] if lijst == "2" else items[f"lijst{lijst}.keuze"]
        codes = [o["valueCoding"]["code"] for o in question["answerOption"]]
        book = sorted((b for b in book_bullets if b.split(".")[0] == lijst), key=lambda b: int(b.split(".")[1]))
        assert codes == book + (["2.geen"] if lijst == "2" else []), lijst
        assert all(o["valueCoding"]["system"] == KEUZE for o in question["answerOption"])


def test_headings_and_procedural_lines_verbatim(items, content_map):
    lijst1 = quoted(content_map, "**Lijst 1.** Heading, verbatim:")
    lijst2 = quoted(content_map, "**Lijst 2.** Heading, verbatim:")
    assert f"{items['lijst1']['prefix']} {items['lijst1']['text']}" == lijst1
    assert f"{items['lijst2']['prefix']} {items['lijst2']['text']}" == lijst2
    assert items["lijst1.slot"]["text"] == quoted(content_map, "Closing line, verbatim:")
    assert items["lijst7.keuze"]["text"] == quoted(content_map, "Lead-in, verbatim:")
    instructie = content_map[content_map.index("### 1.2"):].split("\n> ", 1)[1].split("\n", 1)[0]
    assert items["instructie"]["text"] == instructie.strip()
    closest = "Of kies wat er het dichtste bij komt."
    holders = sorted(i["linkId"] for i in items.values() if i.get("text") == closest)
    # Only Lijst 3, 4 and 5 end with it (content map 1.2).
    assert holders == ["lijst3.keuze.dichtstbij", "lijst4.keuze.dichtstbij", "lijst5.keuze.dichtstbij"]


def test_every_answer_verbatim_in_an_outcome_item(questionnaire, book_answers):
    by_code: dict[str, list[dict]] = {}
    for item in outcome_items(questionnaire):
        coding = item["code"][0]
        if coding["system"] == A:
            by_code.setdefault(coding["code"], []).append(item)
    assert sorted(by_code, key=int) == [str(n) for n in range(1, 32)]
    for number, paragraphs in book_answers.items():
        for item in by_code[str(number)]:
            # Paragraph breaks may be kept as newlines; the words must be the book's.
            assert squash(shown_text(item)["text"]) == squash(" ".join(paragraphs)), number
            assert item["prefix"] == f"Antwoord {number}"


def test_outcome_texts_equal_the_codesystems(questionnaire):
    systems = {}
    for name, url in (("CodeSystem-zelfdiagnose-antwoord.json", A), ("CodeSystem-rugalarm-uitkomst.json", ALARM)):
        path = REPO / "valuesets" / name
        if not path.exists():
            pytest.fail(f"{name} is missing: the outcome texts must be copied from it")
        cs = json.loads(path.read_text(encoding="utf-8"))
        assert cs["url"] == url
        systems[url] = {c["code"]: c for c in cs["concept"]}
    items = outcome_items(questionnaire)
    assert {i["code"][0]["system"] for i in items} == {A, ALARM}
    for item in items:
        coding = item["code"][0]
        concept = systems[coding["system"]][coding["code"]]
        assert shown_text(item)["text"] == concept["definition"], item["linkId"]
        assert english(shown_text(item)["_text"]) == english(concept["_definition"]), item["linkId"]
        assert coding["display"] == concept["display"], item["linkId"]
        assert english(coding["_display"]) == english(concept["_display"]), item["linkId"]
        # the display is fhirrug's own short title, and says so
        assert tekstbron_code(coding["_display"]) == "fhirrug", item["linkId"]


def test_alarm_outcomes_are_marked_as_not_from_the_book(items):
    alarm_items = [i for i in items.values() if i.get("code") and i["code"][0]["system"] == ALARM]
    assert sorted(i["code"][0]["code"] for i in alarm_items) == ["cauda-equina", "toenemende-uitval"]
    for item in alarm_items:
        assert tekstbron_code(shown_text(item)) in {"st-antonius-rughernia", "ischias-faq-blog"}, item["linkId"]
    for link_id in ("alarm.1", "alarm.2"):
        assert tekstbron_code(items[link_id]) == "st-antonius-rughernia"


# ---------------------------------------------------------------------------------------------
# Conventions: translations, tekstbron, metadata, linkIds
# ---------------------------------------------------------------------------------------------
def _strings_missing_translation(node, path="Questionnaire"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("_"):
                continue
            if key in TRANSLATABLE and isinstance(value, str) and not english(node.get(f"_{key}")):
                yield f"{path}.{key}"
            yield from _strings_missing_translation(value, f"{path}.{key}")
        if "valueString" in node and not english(node.get("_valueString")) and path.endswith("answerOption"):
            yield f"{path}.valueString"
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings_missing_translation(value, f"{path}[{i}]")


@pytest.mark.parametrize("path", [Q_PATH, REPO / "valuesets" / "CodeSystem-zelfdiagnose-keuze.json"]
                         + sorted((REPO / "valuesets").glob("ValueSet-zelfdiagnose-lijst*.json")), ids=lambda p: p.name)
def test_every_translatable_string_has_english(path):
    resource = json.loads(path.read_text(encoding="utf-8"))
    # jurisdiction's "Netherlands" is the ISO display itself, in English already; values inside
    # extensions (tekstbron's display) are not translatable (rule fhirrug-translation-missing).
    missing = [p for p in _strings_missing_translation(resource) if ".jurisdiction" not in p and ".extension" not in p]
    assert missing == []


def test_text_not_from_the_book_carries_tekstbron(items, book_bullets, book_answers, content_map):
    verbatim = {t for t, _ in book_bullets.values()}
    verbatim |= {" ".join(p) for p in book_answers.values()}
    verbatim |= {quoted(content_map, m) for m in ("Closing line, verbatim:", "Lead-in, verbatim:")}
    verbatim |= {"Of kies wat er het dichtste bij komt.", "U hebt rugklachten (met of zonder uitstraling) én……",
                 "U hebt rugklachten met..."}
    book_copies = content_map  # instruction and the general caveat are quoted in the map too
    outcome_shown = {id(shown_text(i)) for i in items.values() if i.get("code")}
    for item in items.values():
        text = squash(item["text"])
        if item["type"] == "group" and item.get("code"):
            # outcome group: its text is fhirrug's short title, marked on _text as in the CodeSystem
            assert tekstbron_code(item["_text"]) == "fhirrug", item["linkId"]
            continue
        if id(item) in outcome_shown and item["type"] == "display" and not item.get("code"):
            from_book_or_marked = text in {squash(" ".join(p)) for p in book_answers.values()} or tekstbron_code(item)
            assert from_book_or_marked, item["linkId"]
            continue
        from_book = text in verbatim or (item["type"] == "display" and not item.get("code") and text in squash(book_copies))
        if item.get("code") and item["code"][0]["system"] == A:
            from_book = True
        if from_book:
            assert tekstbron_code(item) is None, item["linkId"]
        else:
            assert tekstbron_code(item) is not None, item["linkId"]
        for option in item.get("answerOption", []):
            c = option["valueCoding"]
            if c["code"] == "2.geen":
                assert tekstbron_code(option) == "fhirrug"
            else:
                assert c["display"] in verbatim and tekstbron_code(option) is None, c["code"]


def test_metadata_for_import(questionnaire):
    q = questionnaire
    assert q["url"] == f"{BASE}/Questionnaire/{q['id']}"
    assert Q_PATH.name == f"Questionnaire-{q['id']}.json"
    m = load_manifest(REPO)  # after `fhirrug bump` the package's version, date and status apply
    assert (q["version"], q["status"], q["date"], q["publisher"], q["language"]) == (m.version, m.status, m.date, m.publisher, m.language)
    assert q["url"].startswith(m.canonical)
    assert q["experimental"] is False
    assert q["name"] and q["title"] and q["description"]
    assert "Spreekuur Thuis" in q["copyright"] and "St. Antonius" in q["copyright"] and "ischias" in q["copyright"]
    assert q["jurisdiction"] == [{"coding": [{"system": "urn:iso:std:iso:3166", "code": "NL", "display": "Netherlands"}]}]
    assert q["useContext"]


def test_linkids_unique_and_conditions_point_backwards(questionnaire):
    seen: list[str] = []
    for item, _ in walk_items(questionnaire["item"]):
        assert item["linkId"] not in seen
        for condition in item.get("enableWhen", []):
            assert condition["question"] in seen, (item["linkId"], condition["question"])
        if len(item.get("enableWhen", [])) > 1:
            assert item.get("enableBehavior") in ("all", "any"), item["linkId"]
        seen.append(item["linkId"])


def test_required_questions(items):
    required = {i["linkId"] for i in items.values() if i.get("required")}
    expected = {"alarm.1", "alarm.2", "lijst2", "lijst3.keuze", "lijst4.keuze", "lijst5.keuze", "lijst7.keuze"}
    expected |= {f"lijst1.{k}" for k in range(1, 7)} | {f"lijst6.{k}" for k in range(1, 11)}
    assert required == expected


# ---------------------------------------------------------------------------------------------
# The enableWhen graph, without the engine
# ---------------------------------------------------------------------------------------------
EXISTS = "*"  # stands for 'exists = true' in a path


def enabling_paths(questionnaire) -> dict[str, set[frozenset]]:
    """linkId -> the sets of (question, answer) facts under which the item is enabled.

    Follows the fhirrug semantics: an answer counts only when its item is enabled, a disabled
    parent disables its children, enableBehavior any/all. Only the operators this Questionnaire
    uses ('=' and 'exists' true) are supported; anything else fails the test.
    """
    parent_of: dict[str, str | None] = {}
    by_id: dict[str, dict] = {}
    for item, parents in walk_items(questionnaire["item"]):
        by_id[item["linkId"]] = item
        parent_of[item["linkId"]] = parents[-1]["linkId"] if parents else None
    memo: dict[str, set[frozenset]] = {}

    def consistent(facts: frozenset) -> bool:
        seen: dict[str, object] = {}
        for q, v in facts:
            if v == EXISTS:
                continue
            if seen.setdefault(q, v) != v:
                return False
        return True

    def conj(a: set[frozenset], b: set[frozenset]) -> set[frozenset]:
        return {x | y for x, y in itertools.product(a, b) if consistent(x | y)}

    def condition(c: dict) -> set[frozenset]:
        if c["operator"] == "=":
            value = c.get("answerBoolean", c.get("answerCoding", {}).get("code"))
            assert value is not None, c
        elif c["operator"] == "exists" and c.get("answerBoolean") is True:
            value = EXISTS
        else:
            raise AssertionError(f"operator not covered by this test: {c}")
        return conj({frozenset({(c["question"], value)})}, enabled(c["question"]))

    def inside(link_id: str, ancestor: str) -> bool:
        while (link_id := parent_of[link_id]) is not None:
            if link_id == ancestor:
                return True
        return False

    def enabled(link_id: str) -> set[frozenset]:
        if link_id in memo:
            return memo[link_id]
        item = by_id[link_id]
        parent = parent_of[link_id]
        paths = enabled(parent) if parent else {frozenset()}
        conditions = item.get("enableWhen", [])
        if conditions and parent and all(inside(c["question"], parent) for c in conditions):
            # Every condition already implies that its question, and so this item's parent, is
            # enabled: the parent's paths add nothing (and the product would be large).
            paths = {frozenset()}
        if conditions:
            if item.get("enableBehavior", "all") == "any":
                own = set().union(*(condition(c) for c in conditions))
            else:
                own = {frozenset()}
                for c in conditions:
                    own = conj(own, condition(c))
            paths = conj(paths, own)
        memo[link_id] = paths
        return paths

    return {link_id: enabled(link_id) for link_id in by_id}


def book_routes() -> dict[str, set[frozenset]]:
    """outcome system|code -> the sets of answers that reach it, from the book (content map 1.3/1.4)
    and the decisions in questionnaires/README.md. Written independently of the Questionnaire."""
    routes: dict[str, set[frozenset]] = {}

    def add(outcome: str, facts: set[frozenset]):
        routes.setdefault(outcome, set()).update(facts)

    def extend(paths: set[frozenset], *facts) -> set[frozenset]:
        return {p | frozenset(facts) for p in paths}

    start = {frozenset()}
    add(f"{ALARM}|cauda-equina", extend(start, ("alarm.1", True)))
    add(f"{ALARM}|toenemende-uitval", extend(start, ("alarm.1", False), ("alarm.2", True)))
    # Lijst 1: answer in order; the first 'ja' ends the list. Answer 3 and answer 5 let the reader
    # continue (with 1.4 after the GP has excluded a fracture; with 'de laatste vraag van Lijst 1').
    at = extend(start, ("alarm.1", False), ("alarm.2", False))
    for k in range(1, 7):
        add(f"{A}|{k}", extend(at, (f"lijst1.{k}", True)))
        after_nee = extend(at, (f"lijst1.{k}", False))
        if k in (3, 5):
            after_nee |= extend(at, (f"lijst1.{k}", True), (f"lijst1.antwoord-{k}.verder", True))
        at = after_nee
    lijst2 = at  # 1.6 'nee'
    lijst_3_tot_5 = {3: ("2.1", {1: 27, 2: 9, 3: 7, 4: 8, 5: 10}),
                     4: ("2.2", {1: 13, 2: 12, 3: 14, 4: 11}),
                     5: ("2.3", {1: 15, 2: 16, 3: 17, 4: 18, 5: 19})}
    lijst7 = extend(lijst2, ("lijst2", "2.geen"))
    for n, (option, table) in lijst_3_tot_5.items():
        entered = extend(lijst2, ("lijst2", option))
        for k, answer in table.items():
            add(f"{A}|{answer}", extend(entered, (f"lijst{n}.keuze", f"{n}.{k}")))
        # not recognising the closest statement's answer: "nog niets herkenbaars gevonden" -> Lijst 7
        lijst7 |= extend(entered, (f"lijst{n}.keuze", EXISTS), (f"lijst{n}.herkenning", False))
    lijst6 = {1: [20, 21], 2: [21], 3: [21], 4: [22], 5: [22], 6: [19], 7: [6, 23], 8: [24], 9: [25], 10: [26]}
    at = extend(lijst2, ("lijst2", "2.4"))
    for k, answers in lijst6.items():
        for answer in answers:
            add(f"{A}|{answer}", extend(at, (f"lijst6.{k}", True)))
        # 'nee', or 'ja' with an answer not recognised: go on with the next bullet
        at = extend(at, (f"lijst6.{k}", False)) | extend(at, (f"lijst6.{k}", True), (f"lijst6.{k}.herkenning", False))
    lijst7 |= at  # after 6.10
    for k, answer in {1: 28, 2: 29, 3: 30, 4: 31}.items():
        add(f"{A}|{answer}", extend(lijst7, ("lijst7.keuze", f"7.{k}")))
    return routes


@pytest.fixture(scope="module")
def paths(questionnaire) -> dict[str, set[frozenset]]:
    return enabling_paths(questionnaire)


def test_each_outcome_is_reached_by_exactly_the_books_routes(questionnaire, paths):
    found: dict[str, set[frozenset]] = {}
    for item in outcome_items(questionnaire):
        coding = item["code"][0]
        found.setdefault(f"{coding['system']}|{coding['code']}", set()).update(paths[item["linkId"]])
    expected = book_routes()
    assert sorted(found) == sorted(expected)
    for outcome in expected:
        assert found[outcome] == expected[outcome], outcome


def test_two_answers_for_bullets_6_1_and_6_7(questionnaire, paths):
    """A bullet 'shows' an outcome when a path of the outcome answers it 'ja' and does not go on
    past it (its answer not recognised)."""
    shown_by: dict[str, set[str]] = {}
    for item in outcome_items(questionnaire):
        for p in paths[item["linkId"]]:
            for q, v in p:
                if re.fullmatch(r"lijst6\.\d+", q) and v is True and (f"{q}.herkenning", False) not in p:
                    shown_by.setdefault(q, set()).add(item["code"][0]["code"])
    assert shown_by["lijst6.1"] == {"20", "21"}
    assert shown_by["lijst6.7"] == {"6", "23"}
    assert all(len(v) == 1 for k, v in shown_by.items() if k not in ("lijst6.1", "lijst6.7"))


# ---------------------------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------------------------
def _expected() -> dict[str, dict]:
    return tomllib.loads((EXAMPLES / "zelfdiagnose-lage-rugklachten.expected.toml").read_text(encoding="utf-8"))


def _example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("QuestionnaireResponse-zelfdiagnose-*.json"))


def test_examples_and_expected_table_match():
    assert sorted(_expected()) == sorted(p.stem for p in _example_files())


def test_examples_cover_every_outcome():
    covered = {o for table in _expected().values() for o in table["outcomes"]}
    assert covered == {f"{A}|{n}" for n in range(1, 32)} | {f"{ALARM}|cauda-equina", f"{ALARM}|toenemende-uitval"}


def test_examples_cover_every_bullet_route():
    """Every bullet -> answer edge of the book has an example whose only 'ja' or choice is that bullet."""
    answers = {}
    for path in _example_files():
        qr = json.loads(path.read_text(encoding="utf-8"))
        for item, _ in walk_items(qr["item"]):
            for answer in item.get("answer", []):
                if answer.get("valueBoolean") is True and re.fullmatch(r"lijst[16]\.\d+", item["linkId"]):
                    answers.setdefault(path.stem, set()).add(item["linkId"].removeprefix("lijst"))
                if "valueCoding" in answer and item["linkId"] != "lijst2":
                    answers.setdefault(path.stem, set()).add(answer["valueCoding"]["code"])
    singles = {next(iter(v)) for v in answers.values() if len(v) == 1}
    book = {f"1.{k}" for k in range(1, 7)} | {f"3.{k}" for k in range(1, 6)} | {f"4.{k}" for k in range(1, 5)}
    book |= {f"5.{k}" for k in range(1, 6)} | {f"6.{k}" for k in range(1, 11)} | {f"7.{k}" for k in range(1, 5)}
    assert book <= singles


def _outcome_keys(outcomes) -> list[str]:
    keys = []
    for o in outcomes:
        if isinstance(o, dict):
            keys.append(f"{o.get('system')}|{o.get('code')}")
        elif isinstance(o, str):
            keys.append(o)
        else:
            keys.append(f"{getattr(o, 'system', None)}|{getattr(o, 'code', None)}")
    return keys


def _evaluate():
    try:
        from fhirrug.engine import evaluate
    except ImportError as exc:  # the engine is written in parallel; the graph test above stands in
        pytest.skip(f"fhirrug.engine.evaluate is not available yet: {exc}")
    return evaluate


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.stem.removeprefix("QuestionnaireResponse-zelfdiagnose-"))
def test_example_outcomes_with_the_engine(questionnaire, path):
    evaluate = _evaluate()
    qr = json.loads(path.read_text(encoding="utf-8"))
    result = evaluate(questionnaire, qr)
    enabled = set(result.enabled)
    shown = [f"{i['code'][0]['system']}|{i['code'][0]['code']}" for i in outcome_items(questionnaire) if i["linkId"] in enabled]
    assert shown == _expected()[path.stem]["outcomes"]
    if "enabled" in _expected()[path.stem]:
        assert sorted(enabled) == sorted(_expected()[path.stem]["enabled"])
    # The engine lists the same outcomes itself (groups with a code from a package CodeSystem).
    assert _outcome_keys(result.outcomes) == shown
    errors = [(i.code, i.expression) for i in result.issues if i.severity in ("fatal", "error")]
    assert errors == []


def test_invalid_examples_with_the_engine(questionnaire):
    evaluate = _evaluate()
    table = tomllib.loads((EXAMPLES / "invalid" / "expected.toml").read_text(encoding="utf-8"))
    mine = {k: v for k, v in table.items() if k.startswith("QuestionnaireResponse-zelfdiagnose-")}
    assert len(mine) >= 2
    for stem, expected in mine.items():
        qr = json.loads((EXAMPLES / "invalid" / f"{stem}.json").read_text(encoding="utf-8"))
        found = {(i.code, i.expression) for i in evaluate(questionnaire, qr).issues}
        for code, expression in expected["issues"]:
            assert (code, expression) in found, (stem, code, expression, sorted(found))


def test_generated_files_are_up_to_date(shared_dir):
    for script in ("make_zelfdiagnose_questionnaire.py", "make_zelfdiagnose_examples.py"):
        run = subprocess.run([sys.executable, str(REPO / "scripts" / script), "--check"], cwd=REPO,
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr


# ---------------------------------------------------------------------------------------------
# The checks above can fail: break a route on a copy and the graph check must notice.
# ---------------------------------------------------------------------------------------------
def _mutated(questionnaire: dict, link_id: str, change) -> dict:
    copy = json.loads(json.dumps(questionnaire))
    for item, _ in walk_items(copy["item"]):
        if item["linkId"] == link_id:
            change(item)
    return copy


def _routes_of(questionnaire: dict) -> dict[str, set[frozenset]]:
    paths = enabling_paths(questionnaire)
    found: dict[str, set[frozenset]] = {}
    for item in outcome_items(questionnaire):
        coding = item["code"][0]
        found.setdefault(f"{coding['system']}|{coding['code']}", set()).update(paths[item["linkId"]])
    return found


@pytest.mark.parametrize("link_id, change", [
    # forget answer 3's "kunt u alsnog met deze vragenlijst verder gaan"
    ("lijst1.4", lambda i: (i.__setitem__("enableWhen", i["enableWhen"][:1]), i.pop("enableBehavior"))),
    # Lijst 4 reached from the wrong Lijst 2 option
    ("lijst4", lambda i: i["enableWhen"][0]["answerCoding"].__setitem__("code", "2.3")),
    # Lijst 7 no longer the fallback after Lijst 6
    ("lijst7", lambda i: i.__setitem__("enableWhen", i["enableWhen"][:4])),
    # the alarm no longer stops the procedure
    ("lijst1", lambda i: i.pop("enableWhen")),
], ids=["answer-3-continue", "lijst4-route", "lijst7-fallback", "alarm-stops"])
def test_graph_check_notices_a_broken_route(questionnaire, link_id, change):
    assert _routes_of(_mutated(questionnaire, link_id, change)) != book_routes()


def test_outcomes_are_r4_conformant(questionnaire):
    """R4 que-3: no code on a display item. Each outcome is a group with the code, `prefix`
    'Antwoord <n>' for the book's answers, and exactly one display child with the text."""
    for item, _ in walk_items(questionnaire["item"]):
        assert not (item["type"] == "display" and item.get("code")), item["linkId"]
    for item in outcome_items(questionnaire):
        assert item["type"] == "group"
        (child,) = item["item"]
        assert child["linkId"] == f"{item['linkId']}.tekst" and child["type"] == "display"
        if item["code"][0]["system"] == A:
            assert item["prefix"] == f"Antwoord {item['code'][0]['code']}"
