"""The anamnesis Questionnaire against the book's chapter 'Diagnose: de anamnese van lage
rugklachten' as the content map (../shared/content/content-map.md §4) quotes it verbatim.

Expected texts are read from the content map, never from the Questionnaire; where the book sends
the reader to a self-diagnosis list is written out below from the book's text.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

import fhirrug
from fhirrug.engine import Engine
from fhirrug.manifest import load_manifest
from fhirrug.package import load_package

from example_checks import check_example

REPO = Path(__file__).resolve().parents[2]
SHARED = (REPO / ".." / "shared").resolve()
CONTENT_MAP = SHARED / "content" / "content-map.md"
Q_PATH = REPO / "questionnaires" / "Questionnaire-anamnese-lage-rugklachten.json"
ZELFDIAGNOSE = REPO / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json"
ANTWOORDEN = REPO / "valuesets" / "CodeSystem-zelfdiagnose-antwoord.json"
EXAMPLES = REPO / "examples"
BASE = "https://fhir.fhirrug.nl"
VERSION = load_manifest(REPO).version  # the release the responses are for; `fhirrug bump` changes it
CS = f"{BASE}/CodeSystem/anamnese-lage-rugklachten"
ZD_ANTWOORD = f"{BASE}/CodeSystem/zelfdiagnose-antwoord"
ZD_Q = f"{BASE}/Questionnaire/zelfdiagnose-lage-rugklachten"
TEKSTBRON = f"{BASE}/StructureDefinition/tekstbron"
SUPPORT_LINK = "http://hl7.org/fhir/StructureDefinition/questionnaire-supportLink"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"

# The paragraph about figure 7 (the figure is missing from the extract) is left out.
LEFT_OUT = ("Voor mij is de grafiek in figuur 7",)


@pytest.fixture(scope="module")
def chapter() -> dict[str, list[str]]:
    """heading -> verbatim paragraphs of content map §4.0 to §4.2 (blockquotes; '• ' bullets unmarked)."""
    if not CONTENT_MAP.is_file():
        pytest.skip(f"{CONTENT_MAP} is absent: the reference material is not beside the repository")
    text = CONTENT_MAP.read_text(encoding="utf-8")
    section = text[text.index("## 4. Anamnese") : text.index("## 5. ")]
    out: dict[str, list[str]] = {}
    heading = None
    for block in re.split(r"\n(?=#{3,4} )", section):
        first, _, rest = block.partition("\n")
        heading = first.lstrip("#").strip()
        quoted = [line[1:].strip() for line in rest.splitlines() if line.startswith(">")]
        paragraphs, current = [], []
        for line in quoted + [""]:
            if line:
                current.append(line)
            elif current:
                paragraphs.append(" ".join(current).removeprefix("• "))
                current = []
        if paragraphs:
            out[heading] = paragraphs
    return out


@pytest.fixture(scope="module")
def questions(chapter) -> list[str]:
    """The ten questions of §4.1 (the headings between the introduction and §4.2)."""
    headings = list(chapter)
    return headings[1 : next(i for i, h in enumerate(headings) if h.startswith("4.2"))]


@pytest.fixture(scope="module")
def questionnaire() -> dict:
    return json.loads(Q_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def items(questionnaire) -> list[dict]:
    found = []

    def walk(nodes):
        for node in nodes:
            found.append(node)
            walk(node.get("item", []))

    walk(questionnaire["item"])
    return found


@pytest.fixture(scope="module")
def by_id(items) -> dict[str, dict]:
    return {item["linkId"]: item for item in items}


def lines_of(text: str) -> list[str]:
    return [line[2:] if line.startswith("- ") else line for line in text.split("\n") if line.strip()]


def mark_of(element: dict) -> str | None:
    return next((e["valueCoding"]["code"] for e in element.get("extension", []) if e.get("url") == TEKSTBRON), None)


def marked_ours(element: dict) -> bool:
    return mark_of(element) == "fhirrug"


def marked_not_verbatim(element: dict) -> bool:
    """Marked as ours (`fhirrug`) or as a source's content in our words (`<source>-bewerkt`)."""
    code = mark_of(element)
    return code == "fhirrug" or bool(code and code.endswith("-bewerkt"))


def is_help(item: dict) -> bool:
    return any(e.get("url") == ITEM_CONTROL and e["valueCodeableConcept"]["coding"][0]["code"] == "help" for e in item.get("extension", []))


def response(*entries) -> dict:
    return {"resourceType": "QuestionnaireResponse", "questionnaire": f"{BASE}/Questionnaire/anamnese-lage-rugklachten|{VERSION}", "status": "in-progress", "item": list(entries)}


def coded(link_id: str, *codes: str) -> dict:
    return {"linkId": link_id, "answer": [{"valueCoding": {"system": CS, "code": c}} for c in codes]}


def boolean(link_id: str, value: bool) -> dict:
    return {"linkId": link_id, "answer": [{"valueBoolean": value}]}


# --------------------------------------------------------------------------------------------
# Verbatim from the book
# --------------------------------------------------------------------------------------------
def test_the_ten_questions_verbatim_in_book_order(questions, items):
    assert len(questions) == 10
    texts = [item.get("text") for item in items]
    positions = [texts.index(q) for q in questions]  # ValueError when one is missing
    assert positions == sorted(positions)
    for q in questions:
        assert not marked_ours(items[texts.index(q)])


def test_every_unmarked_display_is_the_books_words(chapter, items):
    paragraphs = {p for ps in chapter.values() for p in ps}
    for item in items:
        if item["type"] == "display" and not marked_not_verbatim(item):
            for line in lines_of(item["text"]):
                assert line in paragraphs, (item["linkId"], line[:60])


def test_every_paragraph_of_the_chapter_is_shown(chapter, items):
    shown = {line for item in items if item["type"] == "display" for line in lines_of(item["text"])}
    options = {o["valueCoding"]["display"] for item in items for o in item.get("answerOption", [])}
    for heading, paragraphs in chapter.items():
        for paragraph in paragraphs:
            if paragraph.startswith(LEFT_OUT):
                continue
            subheading = re.fullmatch(r"\*\*(.+)\*\*", paragraph)
            if subheading:  # the activity sub-headings are the activity choices
                assert subheading.group(1) in options
            else:
                assert paragraph in shown, (heading, paragraph[:60])


def test_each_question_carries_the_books_explanation_as_help(chapter, questions, items):
    texts = [item.get("text") for item in items]
    for question in questions:
        item = items[texts.index(question)]
        helps = [child for child in item.get("item", []) if is_help(child)]
        assert len(helps) == 1, question
        assert helps[0]["type"] == "display"
        assert lines_of(helps[0]["text"])[0] == chapter[question][0], question


def test_texts_not_in_the_book_are_marked(questionnaire, chapter, items):
    """The book is the main source (tekstbron on the resource); a question or option that is not
    the book's words, character for character (only a fragment's first letter may be a capital),
    is marked as ours or as the book's content in our words. The old check ignored case and a
    final '?', and let 'Hebt u buikklachten ... menstruatie?' (a shortened book sentence) pass."""
    assert mark_of(questionnaire) == "spreekuur-thuis"
    book = " ".join([*chapter, *(p for ps in chapter.values() for p in ps)])

    def verbatim(text: str) -> bool:
        return text in book or (text[:1].lower() + text[1:]) in book

    for item in items:
        if "text" in item and item["type"] != "display":
            assert verbatim(item["text"]) != marked_not_verbatim(item), item["linkId"]
        for option in item.get("answerOption", []):
            display = option["valueCoding"]["display"]
            if not verbatim(display):
                assert marked_not_verbatim(option), (item["linkId"], display)


def test_shortened_book_sentences_are_marked_adapted(by_id):
    for link_id in ("buikklachten", "darmklachten"):
        assert mark_of(by_id[link_id]) == "spreekuur-thuis-bewerkt", link_id


def test_intro_is_the_chapter_introduction(chapter, by_id):
    assert lines_of(by_id["inleiding"]["text"]) == chapter["4.0 Introduction (verbatim)"]


# --------------------------------------------------------------------------------------------
# Answer types
# --------------------------------------------------------------------------------------------
def test_answer_types_fit_the_questions(by_id):
    for link_id in ("last", "plek", "uitstraling", "activiteiten", "aanleiding"):
        assert (by_id[link_id]["type"], by_id[link_id].get("repeats")) == ("choice", True), link_id
    assert by_id["begin"]["type"] == "date"
    for link_id in ("hoesten", "familie", "klapvoet", "been-slepen", "geopereerd", "buikklachten", "darmklachten"):
        assert by_id[link_id]["type"] == "boolean", link_id
    assert by_id["fotos.bevinding"]["type"] == "string"
    activities = {o["valueCoding"]["code"] for o in by_id["activiteiten"]["answerOption"]}
    assert {"zitten", "staan", "lopen", "bukken", "liggen", "fietsen"} <= activities


def test_answer_options_are_the_codesystem():
    q = json.loads(Q_PATH.read_text(encoding="utf-8"))
    codesystem = json.loads((REPO / "valuesets" / "CodeSystem-anamnese-lage-rugklachten.json").read_text(encoding="utf-8"))
    concepts = {c["code"]: c["display"] for c in codesystem["concept"]}
    seen = set()

    def walk(nodes):
        for node in nodes:
            for option in node.get("answerOption", []):
                coding = option["valueCoding"]
                assert coding["system"] == CS
                assert concepts[coding["code"]] == coding["display"]
                seen.add(coding["code"])
            walk(node.get("item", []))

    walk(q["item"])
    assert seen == set(concepts) and codesystem["count"] == len(concepts)


# --------------------------------------------------------------------------------------------
# Links to the self-diagnosis
# --------------------------------------------------------------------------------------------
def test_links_to_self_diagnosis_answers_resolve(items):
    answers = {c["code"] for c in json.loads(ANTWOORDEN.read_text(encoding="utf-8"))["concept"]}
    links = [item for item in items if any(c["system"] == ZD_ANTWOORD for c in item.get("code", []))]
    assert len(links) >= 10
    for link in links:
        (coding,) = link["code"]
        assert coding["code"] in answers
        assert link["type"] == "group" and link["enableWhen"]  # R4 que-3: no code on a display item
        (shown,) = link["item"]
        assert shown["type"] == "display" and marked_ours(shown)
        assert f"antwoord {coding['code']}" in shown["text"]


def test_links_to_self_diagnosis_lists_resolve(items):
    zelfdiagnose = json.loads(ZELFDIAGNOSE.read_text(encoding="utf-8"))
    link_ids = set()

    def walk(nodes):
        for node in nodes:
            link_ids.add(node["linkId"])
            walk(node.get("item", []))

    walk(zelfdiagnose["item"])
    lists = [(item, e["valueUri"]) for item in items for e in item.get("extension", []) if e["url"] == SUPPORT_LINK and "#" in e["valueUri"]]
    assert len(lists) >= 4
    for item, uri in lists:
        canonical, _, link_id = uri.partition("#")
        assert canonical == ZD_Q and link_id in link_ids
        number = re.fullmatch(r"lijst(\d+)", link_id).group(1)
        assert f"Lijst {number}" in item["text"]


# Where the book says "Lijst 3": radiation to the big toe, the little toe or the knee
# ('U moet verder met de vragen uit Lijst 3'), a foot drop or a dragging leg ('Zie de vragen
# onder Lijst 3'), and loss of strength ('denk aan zenuwuitval', Radiculair syndroom).
@pytest.mark.parametrize(
    "answers, link",
    [
        ([coded("uitstraling", "grote-teen")], "uitstraling.zie-lijst3"),
        ([coded("uitstraling", "kleine-teen")], "uitstraling.zie-lijst3"),
        ([coded("uitstraling", "knie")], "uitstraling.zie-lijst3"),
        ([coded("doof", "geen-gevoel"), boolean("klapvoet", True)], "doof.zie-lijst3"),
        ([coded("doof", "bovenbeen"), boolean("been-slepen", True)], "doof.zie-lijst3"),
        ([coded("last", "krachtsverlies")], "last.zie-lijst3"),
    ],
)
def test_the_book_sends_the_reader_to_lijst3(questionnaire, answers, link):
    evaluation = fhirrug.evaluate(questionnaire, response(*answers))
    assert evaluation.is_enabled(link)


def test_no_link_without_the_answer(questionnaire):
    evaluation = fhirrug.evaluate(questionnaire, response(coded("uitstraling", "nee"), coded("doof", "nee-doof"), coded("last", "pijn")))
    assert not [link for link in evaluation.enabled if ".zie-" in link]
    assert not evaluation.is_enabled("klapvoet")  # asked only when there is numbness


ACTIVITIES = ["zitten", "halfgebukt", "staan", "opstaan", "slenteren", "bukken", "liggen", "fietsen"]


@pytest.mark.parametrize("activity", ACTIVITIES)
def test_each_activity_shows_the_books_paragraph(questionnaire, chapter, activity):
    evaluation = fhirrug.evaluate(questionnaire, response(coded("activiteiten", activity)))
    shown = [link for link in evaluation.enabled if link in {f"activiteiten.{a}" for a in ACTIVITIES}]
    assert shown == [f"activiteiten.{activity}"]


# Issue 10: the coded "zie antwoord 22/23" groups were enabled by very common answers (sitting,
# lying); the book ties them to further conditions ('opkrikken', pain at night that wakes you).
@pytest.mark.parametrize("answers", [
    *([coded("activiteiten", a)] for a in ACTIVITIES),
    [{"linkId": "aanvullend", "item": [boolean("geopereerd", True)]}],
    [{"linkId": "aanvullend", "item": [boolean("darmklachten", True)]}],
], ids=[*ACTIVITIES, "geopereerd", "darmklachten"])
def test_no_answer_code_on_a_bare_tick(questionnaire, items, answers):
    evaluation = fhirrug.evaluate(questionnaire, response(*answers))
    coded_links = [item["linkId"] for item in items if item.get("code") and evaluation.is_enabled(item["linkId"])]
    assert coded_links == []


@pytest.mark.parametrize("answers, link", [
    ([coded("activiteiten", "zitten"), boolean("activiteiten.opkrikken", True)], "activiteiten.zie-antwoord22"),
    ([coded("activiteiten", "halfgebukt"), boolean("activiteiten.halfgebukt-plek", True)], "activiteiten.zie-antwoord30"),
    ([coded("activiteiten", "liggen"), boolean("activiteiten.nachtpijn", True)], "activiteiten.zie-antwoord23"),
    ([{"linkId": "aanvullend", "item": [boolean("geopereerd", True), boolean("geopereerd.direct-erna", True)]}], "geopereerd.zie-antwoord24"),
], ids=["opkrikken", "halfgebukt-plek", "nachtpijn", "direct-na-operatie"])
def test_the_books_condition_links_the_answer(questionnaire, answers, link):
    evaluation = fhirrug.evaluate(questionnaire, response(*answers))
    assert evaluation.is_enabled(link)
    if link == "activiteiten.zie-antwoord23":  # pain at night is an alarm sign (seed 000): see the GP
        assert evaluation.is_enabled("activiteiten.nachtpijn.advies")



# 'Onderzoek van de rug' (§4.2): the book's paragraph for each finding, shown when it is reported.
@pytest.mark.parametrize(
    "answers, shown",
    [
        ([{"linkId": "onderzoek", "item": [coded("lopen", "klapvoet-slepen")]}], {"lopen.klapvoet-slepen", "lopen.uitval-advies"}),
        ([{"linkId": "onderzoek", "item": [coded("lopen", "heup-looppatroon")]}], {"lopen.waggelend-heup", "lopen.zie-antwoord17", "lopen.zie-antwoord17.tekst"}),
        ([{"linkId": "onderzoek", "item": [coded("bewegen", "stijver")]}], {"bewegen.stijver", "bewegen.zie-antwoord23", "bewegen.zie-antwoord23.tekst"}),
        ([{"linkId": "onderzoek", "item": [boolean("been-heffen", False)]}], {"zitten-gestrekt.uitleg"}),
        ([{"linkId": "onderzoek", "item": [boolean("liggen-gestrekt", True), boolean("zitten-gestrekt", True), boolean("been-heffen", True)]}], set()),
    ],
)
def test_examination_findings_show_the_books_reading(questionnaire, answers, shown):
    evaluation = fhirrug.evaluate(questionnaire, response(*answers))
    conditional = {"lopen.", "stand.zie", "bewegen.", "zitten-gestrekt.", "liggen-gestrekt."}
    assert {link for link in evaluation.enabled if link.startswith(tuple(conditional))} == shown


# --------------------------------------------------------------------------------------------
# Examples
# --------------------------------------------------------------------------------------------
def expected() -> dict:
    return tomllib.loads((EXAMPLES / "anamnese-lage-rugklachten.expected.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def engine():
    return Engine(load_package(REPO))


def test_every_anamnese_example_has_expectations():
    files = {p.stem for p in EXAMPLES.glob("QuestionnaireResponse-anamnese-*.json")}
    assert files == set(expected()) and len(files) >= 3


@pytest.mark.parametrize("stem", sorted(expected()))
def test_example_matches_expected(engine, stem):
    check_example(engine, EXAMPLES / f"{stem}.json", expected()[stem], exact=True)
