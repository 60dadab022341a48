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
    """Items that are an outcome: a group with the outcome's code around one display item (R4
    que-3 forbids a code on a display item). Enabled, they are the response's outcomes."""
    return [i for i, _ in walk_items(questionnaire["item"]) if i["type"] in ("display", "group") and i.get("code")]


def answer_groups(questionnaire) -> list[dict]:
    """Groups that show one of the book's answers (prefix 'Antwoord <n>'), coded or not: the
    outcome itself when nothing is asked about the answer, else an uncoded group with the
    answer's text and the question(s) about it, followed by a coded outcome with a closing line."""
    return [i for i, _ in walk_items(questionnaire["item"]) if i["type"] == "group" and i.get("prefix", "").startswith("Antwoord ")]


def shown_text(item: dict) -> dict:
    """The display item that opens an outcome or answer group (its text, or the closing line)."""
    inner = item["item"][0]
    assert inner["type"] == "display" and not inner.get("code") and inner["linkId"] == f"{item['linkId']}.tekst"
    return inner


def is_closing_line(item: dict) -> bool:
    """A coded outcome after a question about its answer: its display is our closing line."""
    return bool(item.get("code")) and tekstbron_code(shown_text(item)) == "fhirrug"


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


def test_every_answer_verbatim_in_its_answer_groups(questionnaire, book_answers):
    by_number: dict[int, list[dict]] = {}
    for item in answer_groups(questionnaire):
        by_number.setdefault(int(item["prefix"].removeprefix("Antwoord ")), []).append(item)
    assert sorted(by_number) == list(range(1, 32))
    for number, paragraphs in book_answers.items():
        showing = [i for i in by_number[number] if not is_closing_line(i)]
        assert showing, number  # every answer's text is shown somewhere
        for item in showing:
            # Paragraph breaks may be kept as newlines; the words must be the book's.
            assert squash(shown_text(item)["text"]) == squash(" ".join(paragraphs)), (number, item["linkId"])
        for item in by_number[number]:
            if item.get("code"):
                assert item["code"][0] == {**item["code"][0], "system": A, "code": str(number)}, item["linkId"]


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
        assert coding["display"] == concept["display"], item["linkId"]
        assert english(coding["_display"]) == english(concept["_display"]), item["linkId"]
        # the display is fhirrug's own short title, and says so
        assert tekstbron_code(coding["_display"]) == "fhirrug", item["linkId"]
    for item in items + [g for g in answer_groups(questionnaire) if not g.get("code")]:
        code = item["code"][0]["code"] if item.get("code") else item["prefix"].removeprefix("Antwoord ")
        concept = systems[item["code"][0]["system"] if item.get("code") else A][code]
        assert item["text"] == concept["display"] and tekstbron_code(item["_text"]) == "fhirrug", item["linkId"]
        if is_closing_line(item):
            continue
        assert shown_text(item)["text"] == concept["definition"], item["linkId"]
        assert english(shown_text(item)["_text"]) == english(concept["_definition"]), item["linkId"]


def test_alarm_outcomes_are_marked_as_not_from_the_book(items):
    alarm_items = [i for i in items.values() if i.get("code") and i["code"][0]["system"] == ALARM]
    assert sorted(i["code"][0]["code"] for i in alarm_items) == ["cauda-equina", "toenemende-uitval"]
    for item in alarm_items:
        assert tekstbron_code(shown_text(item)) in {"st-antonius-rughernia", "ischias-faq-blog"}, item["linkId"]


def test_alarm_questions_say_whose_content_they_reword(items):
    """The alarm questions and the advice for patients in treatment are a source's content in our
    words, never presented as its own words: alarm.1 and its advice after the St. Antonius leaflet
    (which has no such question), alarm.2 and alarm.3 after the book (answer 7; 'Hoe loopt u?')."""
    expected = {"alarm.1": "st-antonius-rughernia-bewerkt", "alarm.1.advies": "st-antonius-rughernia-bewerkt",
                "alarm.2": "spreekuur-thuis-bewerkt", "alarm.3": "spreekuur-thuis-bewerkt", "alarm.2.advies": "fhirrug"}
    assert {link_id: tekstbron_code(items[link_id]) for link_id in expected} == expected


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


def test_text_not_from_the_book_carries_tekstbron(questionnaire, items, book_bullets, book_answers, content_map):
    """The Questionnaire names the book as its main source (tekstbron on the resource); every text
    that is not the book's verbatim carries its own mark: `fhirrug` (ours), `<source>-bewerkt`
    (a source's content in our words) or another document's code (verbatim from it)."""
    assert tekstbron_code(questionnaire) == "spreekuur-thuis"
    verbatim = {t for t, _ in book_bullets.values()}
    verbatim |= {squash(" ".join(p)) for p in book_answers.values()}
    verbatim |= {quoted(content_map, m) for m in ("Closing line, verbatim:", "Lead-in, verbatim:")}
    verbatim |= {"Of kies wat er het dichtste bij komt.", "U hebt rugklachten (met of zonder uitstraling) én……",
                 "U hebt rugklachten met..."}
    # the instruction and the general caveat are quoted in the map's sections on the book (1-4)
    book_copies = squash(content_map[: content_map.index("## 5. ")])
    for item in items.values():
        text = squash(item["text"])
        mark = tekstbron_code(item.get("_text") or {}) or tekstbron_code(item)
        from_book = text in verbatim or (item["type"] == "display" and text in book_copies)
        if from_book:
            assert mark is None, item["linkId"]
        else:
            assert mark is not None, item["linkId"]
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


def test_required_questions(items, book_bullets):
    """Every question is required while enabled: a completed response always says where the reader
    stopped (an unanswered recognition question would leave an answer neither taken nor rejected)."""
    required = {i["linkId"] for i in items.values() if i.get("required")}
    expected = {"alarm.1", "alarm.2", "alarm.3", "lijst2", "lijst3.keuze", "lijst4.keuze", "lijst5.keuze", "lijst7.keuze"}
    expected |= {f"lijst1.{k}" for k in range(1, 7)} | {f"lijst6.{k}" for k in range(1, 11)}
    expected |= {"lijst1.antwoord-3.fractuur-uitgesloten", "lijst1.antwoord-3.oorzaak",
                 "lijst1.antwoord-5.complicatie", "lijst1.antwoord-5.bekkeninstabiliteit"}
    expected |= {f"lijst6.{k}.herkenning" for k in range(1, 11)}
    for n in (3, 4, 5):
        statements = [b for b in book_bullets if b.startswith(f"{n}.")]
        expected |= {f"lijst{n}.keuze-2.na-{b}" for b in statements}
        for b in statements:
            (answer,) = book_bullets[b][1]
            expected |= {f"lijst{n}.antwoord-{answer}.herkenning", f"lijst{n}.keuze-2.antwoord-{answer}.herkenning"}
    assert required == expected
    assert all(items[link_id]["type"] in ("boolean", "choice") for link_id in required)


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
    and the decisions in questionnaires/README.md. Written independently of the Questionnaire.

    An outcome is an answer the reader stops at: one nothing is asked about, or one the reader
    recognises (Lijst 3-6) or stays with (answers 3 and 5). An answer the reader rejects is none."""
    routes: dict[str, set[frozenset]] = {}

    def add(outcome: str, facts: set[frozenset]):
        routes.setdefault(outcome, set()).update(facts)

    def extend(paths: set[frozenset], *facts) -> set[frozenset]:
        return {p | frozenset(facts) for p in paths}

    start = {frozenset()}
    add(f"{ALARM}|cauda-equina", extend(start, ("alarm.1", True)))
    # clearly decreasing strength, or a foot drop that is there (recently) without it
    add(f"{ALARM}|toenemende-uitval", extend(start, ("alarm.1", False), ("alarm.2", True)))
    add(f"{ALARM}|toenemende-uitval", extend(start, ("alarm.1", False), ("alarm.2", False), ("alarm.3", True)))
    # Lijst 1: answer in order; the first 'ja' ends the list. Answer 3 and answer 5 let the reader
    # continue (with 1.4 once the GP has ruled out a fracture and found no cause; with 'de laatste
    # vraag van Lijst 1' when there is no complication and no Bekkeninstabiliteit).
    at = extend(start, ("alarm.1", False), ("alarm.2", False), ("alarm.3", False))
    a3, a5 = "lijst1.antwoord-3", "lijst1.antwoord-5"
    stop = {3: [((f"{a3}.fractuur-uitgesloten", False),), ((f"{a3}.fractuur-uitgesloten", True), (f"{a3}.oorzaak", True))],
            5: [((f"{a5}.complicatie", True),), ((f"{a5}.complicatie", False), (f"{a5}.bekkeninstabiliteit", True))]}
    go_on = {3: ((f"{a3}.fractuur-uitgesloten", True), (f"{a3}.oorzaak", False)),
             5: ((f"{a5}.complicatie", False), (f"{a5}.bekkeninstabiliteit", False))}
    for k in range(1, 7):
        if k in stop:
            for facts in stop[k]:
                add(f"{A}|{k}", extend(at, (f"lijst1.{k}", True), *facts))
        else:
            add(f"{A}|{k}", extend(at, (f"lijst1.{k}", True)))
        after_nee = extend(at, (f"lijst1.{k}", False))
        if k in go_on:
            after_nee |= extend(at, (f"lijst1.{k}", True), *go_on[k])
        at = after_nee
    lijst2 = at  # 1.6 'nee'
    lijst_3_tot_5 = {3: ("2.1", {1: 27, 2: 9, 3: 7, 4: 8, 5: 10}),
                     4: ("2.2", {1: 13, 2: 12, 3: 14, 4: 11}),
                     5: ("2.3", {1: 15, 2: 16, 3: 17, 4: 18, 5: 19})}
    lijst7 = extend(lijst2, ("lijst2", "2.geen"))
    for n, (option, table) in lijst_3_tot_5.items():
        entered = extend(lijst2, ("lijst2", option))
        for k, answer in table.items():
            first = extend(entered, (f"lijst{n}.keuze", f"{n}.{k}"))
            add(f"{A}|{answer}", extend(first, (f"lijst{n}.antwoord-{answer}.herkenning", True)))
            # not recognised: back to the list ("ga daar verder"), the closest of the other statements
            rejected = extend(first, (f"lijst{n}.antwoord-{answer}.herkenning", False))
            for j, other in table.items():
                if j == k:
                    continue
                second = extend(rejected, (f"lijst{n}.keuze-2.na-{n}.{k}", f"{n}.{j}"))
                add(f"{A}|{other}", extend(second, (f"lijst{n}.keuze-2.antwoord-{other}.herkenning", True)))
                # two answers not recognised: "nog niets herkenbaars gevonden" -> Lijst 7
                lijst7 |= extend(second, (f"lijst{n}.keuze-2.antwoord-{other}.herkenning", False))
    lijst6 = {1: [20, 21], 2: [21], 3: [21], 4: [22], 5: [22], 6: [19], 7: [6, 23], 8: [24], 9: [25], 10: [26]}
    at = extend(lijst2, ("lijst2", "2.4"))
    for k, answers in lijst6.items():
        for answer in answers:
            add(f"{A}|{answer}", extend(at, (f"lijst6.{k}", True), (f"lijst6.{k}.herkenning", True)))
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


def _first_condition_only(item):
    item["enableWhen"] = item["enableWhen"][:1]
    item.pop("enableBehavior", None)


@pytest.mark.parametrize("link_id, change", [
    # forget answer 3's "kunt u alsnog met deze vragenlijst verder gaan"
    ("lijst1.4", _first_condition_only),
    # Lijst 4 reached from the wrong Lijst 2 option
    ("lijst4", lambda i: i["enableWhen"][0]["answerCoding"].__setitem__("code", "2.3")),
    # Lijst 7 no longer the fallback after Lijst 6
    ("lijst7", lambda i: i.__setitem__("enableWhen", i["enableWhen"][:-2])),
    # the alarm no longer stops the procedure
    ("lijst1", lambda i: i.pop("enableWhen")),
    # a foot drop that is already there no longer an alarm (issue 10: it went on to answer 7)
    ("alarm.2.uitkomst", _first_condition_only),
    # the old structure: a rejected answer stays an outcome (answer 20 after 6.1 'ja', recognised or not)
    ("lijst6.uitkomst-20", lambda i: i.__setitem__("enableWhen", [{"question": "lijst6.1", "operator": "=", "answerBoolean": True}])),
    # the old structure: 'niet herkend' in Lijst 3 straight to Lijst 7, without the rest of the list
    ("lijst7", lambda i: i["enableWhen"].append({"question": "lijst3.antwoord-27.herkenning", "operator": "=", "answerBoolean": False})),
], ids=["answer-3-continue", "lijst4-route", "lijst7-fallback", "alarm-stops", "foot-drop-alarm", "rejected-outcome", "second-choice"])
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


# ---------------------------------------------------------------------------------------------
# The clinical review of issue 10: each defect as a response or a structure that must hold
# ---------------------------------------------------------------------------------------------
def response_for(questionnaire: dict, answers: dict) -> dict:
    """A completed response answering the given linkIds, nested as the Questionnaire nests them."""
    def build(items):
        out = []
        for item in items:
            if item["type"] == "group":
                children = build(item.get("item", []))
                if children:
                    out.append({"linkId": item["linkId"], "item": children})
            elif item["linkId"] in answers:
                value = answers[item["linkId"]]
                answer = {"valueBoolean": value} if isinstance(value, bool) else {"valueCoding": {"system": KEUZE, "code": value}}
                out.append({"linkId": item["linkId"], "answer": [answer]})
        return out

    return {"resourceType": "QuestionnaireResponse", "questionnaire": questionnaire["url"], "status": "completed",
            "item": build(questionnaire["item"])}


NO_ALARM = {"alarm.1": False, "alarm.2": False, "alarm.3": False}
LIJST1_NO = {f"lijst1.{k}": False for k in range(1, 7)}


def _outcomes(questionnaire, answers) -> tuple[list[str], object]:
    evaluation = _evaluate()(questionnaire, response_for(questionnaire, answers))
    errors = [(i.code, i.expression) for i in evaluation.issues if i.severity in ("fatal", "error")]
    assert errors == [], errors
    return _outcome_keys(evaluation.outcomes), evaluation


def test_a_foot_drop_that_is_already_there_reaches_the_alarm(questionnaire):
    """Strength not (or no longer) decreasing, but a foot drop that came recently: before, this
    reader answered 'nee' to the only weakness question and ended at answer 7 (huisarts)."""
    outcomes, evaluation = _outcomes(questionnaire, {"alarm.1": False, "alarm.2": False, "alarm.3": True})
    assert outcomes == [f"{ALARM}|toenemende-uitval"]
    assert evaluation.is_enabled("alarm.2.advies") and not evaluation.is_enabled("lijst1")


def test_a_response_reaches_3_3_after_rejecting_3_1(questionnaire):
    """'Kunt u zich totaal niet herkennen in dit antwoord, ga dan terug naar de vraag die u met
    ‘ja’ beantwoord had en ga daar verder': the reader who rejects answer 27 (3.1) can still reach
    answer 7 (3.3, "U moet dus echt naar de dokter"), and answer 27 is no outcome."""
    answers = {**NO_ALARM, **LIJST1_NO, "lijst2": "2.1", "lijst3.keuze": "3.1", "lijst3.antwoord-27.herkenning": False,
               "lijst3.keuze-2.na-3.1": "3.3", "lijst3.keuze-2.antwoord-7.herkenning": True}
    outcomes, evaluation = _outcomes(questionnaire, answers)
    assert outcomes == [f"{A}|7"]
    assert not evaluation.is_enabled("lijst7")
    # the second choice offers exactly the other statements of the list
    items = {i["linkId"]: i for i, _ in walk_items(questionnaire["item"])}
    assert [o["valueCoding"]["code"] for o in items["lijst3.keuze-2.na-3.1"]["answerOption"]] == ["3.2", "3.3", "3.4", "3.5"]


def test_a_rejected_lijst6_answer_is_no_outcome(questionnaire):
    """6.1 'ja' shows answers 20 and 21; the reader does not recognise them and goes on to 6.4
    (answer 22). An EHR must read one outcome, not three."""
    answers = {**NO_ALARM, **LIJST1_NO, "lijst2": "2.4", "lijst6.1": True, "lijst6.1.herkenning": False,
               "lijst6.2": False, "lijst6.3": False, "lijst6.4": True, "lijst6.4.herkenning": True}
    outcomes, evaluation = _outcomes(questionnaire, answers)
    assert outcomes == [f"{A}|22"]
    assert evaluation.is_enabled("lijst6.1.antwoord-20") and evaluation.is_enabled("lijst6.1.antwoord-21")  # shown, then rejected


def test_continuing_after_answer_3_or_5_leaves_no_outcome_for_it(questionnaire):
    answers = {**NO_ALARM, "lijst1.1": False, "lijst1.2": False, "lijst1.3": True,
               "lijst1.antwoord-3.fractuur-uitgesloten": True, "lijst1.antwoord-3.oorzaak": False, "lijst1.4": True}
    assert _outcomes(questionnaire, answers)[0] == [f"{A}|4"]
    answers = {**NO_ALARM, **{f"lijst1.{k}": False for k in range(1, 5)}, "lijst1.5": True,
               "lijst1.antwoord-5.complicatie": False, "lijst1.antwoord-5.bekkeninstabiliteit": False, "lijst1.6": True}
    assert _outcomes(questionnaire, answers)[0] == [f"{A}|6"]


def test_a_complication_of_the_pregnancy_stops_at_answer_5_with_advice(questionnaire):
    answers = {**NO_ALARM, **{f"lijst1.{k}": False for k in range(1, 5)}, "lijst1.5": True, "lijst1.antwoord-5.complicatie": True}
    outcomes, evaluation = _outcomes(questionnaire, answers)
    assert outcomes == [f"{A}|5"]
    assert evaluation.is_enabled("lijst1.antwoord-5.complicatie.advies") and not evaluation.is_enabled("lijst1.6")


def test_recognition_questions_follow_the_answers_they_ask_about(questionnaire):
    """In document order: bullet (or choice), the answer's text, then 'Herkent u zich ...?', then
    the coded outcome. Before, 6.2's question stood before answer 21 and 6.4's before answer 22."""
    order = [i["linkId"] for i, _ in walk_items(questionnaire["item"])]
    for k in range(1, 11):
        shown = [link for link in order if re.fullmatch(rf"lijst6\.{k}\.antwoord-\d+", link)]
        assert shown and all(order.index(f"lijst6.{k}") < order.index(a) < order.index(f"lijst6.{k}.herkenning") for a in shown), k
    for item, _ in walk_items(questionnaire["item"]):
        if item.get("code") and is_closing_line(item):
            for condition in item["enableWhen"]:
                assert condition["question"] in order[: order.index(item["linkId"])]
        if item["type"] == "group" and item.get("prefix", "").startswith("Antwoord ") and not item.get("code"):
            # an answer shown before a question: its text comes first, the question(s) after it
            assert item["item"][0]["linkId"] == f"{item['linkId']}.tekst", item["linkId"]


def test_answer_3_and_5_ask_one_positive_thing_per_question(items):
    """Issue 10: 'Is er geen complicatie … en herkent u … niet …?' let a woman with a complication
    answer 'ja' and go on. Each question asks one thing, without a negation, in both languages."""
    for link_id in ("lijst1.antwoord-3.fractuur-uitgesloten", "lijst1.antwoord-3.oorzaak",
                    "lijst1.antwoord-5.complicatie", "lijst1.antwoord-5.bekkeninstabiliteit"):
        dutch = items[link_id]["text"].split("?")[0]
        english_text = english(items[link_id]["_text"]).split("?")[0]
        assert not re.search(r"\b(geen|niet|noch)\b", dutch) and " en " not in dutch, link_id
        assert not re.search(r"\b(no|not|nor)\b", english_text) and " and " not in english_text, link_id


def test_weakness_advice_has_the_out_of_hours_route_for_patients_in_treatment(items):
    for link_id in ("alarm.1.advies", "alarm.2.advies"):
        text = items[link_id]["text"]
        assert "onder behandeling" in text and "buiten kantooruren" in text and "Spoedeisende Hulp" in text, link_id
    assert "huisartsenpost" in items["alarm.2.advies"]["text"]


def test_the_weakness_outcome_promises_only_what_is_asked(items):
    """The outcome's title promised 'gevoelsverlies', which no question asks."""
    asked = items["alarm.2"]["text"] + items["alarm.3"]["text"]
    title = items["alarm.2.uitkomst"]["text"]
    assert "gevoel" not in title and "gevoel" not in asked
    assert "kracht" in title and "klapvoet" in title
