"""The ischias FAQ Questionnaire against the blog (seed 000), with the enableWhen engine.

Expected texts come from the seed itself (../shared/seeds/000_…txt), never from the
Questionnaire; what each choice must enable is written out here from the design the issue asks
for (a chosen question shows exactly its answer; an answered statement reveals its explanation).
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
from fhirrug.scoring import score_response

REPO = Path(__file__).resolve().parents[2]
SHARED = (REPO / ".." / "shared").resolve()
SEED = SHARED / "seeds" / "000_ce2e7e203e5140e5.txt"
Q_PATH = REPO / "questionnaires" / "Questionnaire-ischias-faq.json"
EXAMPLES = REPO / "examples"
BASE = "https://fhir.fhirrug.nl"
VERSION = load_manifest(REPO).version  # the release the responses are for; `fhirrug bump` changes it
VRAAG = f"{BASE}/CodeSystem/ischias-faq-vraag"
STELLING = f"{BASE}/CodeSystem/ischias-faq-stelling"
TEKSTBRON = f"{BASE}/StructureDefinition/tekstbron"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
RELATED = "http://hl7.org/fhir/StructureDefinition/cqf-relatedArtifact"
CODES = [str(n) for n in range(1, 11)] + [f"u{n}" for n in range(1, 6)]

# The blog's marketing blocks and link teaser (content map §6.0): not content.
MARKETING = (
    "Wil je herstellen van ischias zónder operatie?",
    "Pak je ischias- en herniaklachten aan",
    "Ontdek in onze rug community",
    "Meerdere mensen gingen je voor.",
    "Denk jij alles te weten over ischiasklachten?",
    "Er zijn veel misvattingen, waardoor je niet herstelt",
    "Ontdek in 2 minuten wat jij (nog) niet weet",
    "Echt weten hoe je kunt herstellen",
    "Stop met gokken.",
    "Leer hoe je stap voor stap klachtenvrij wordt",
    "Sluit je aan bij tientallen anderen in herstel.",
    "Lees hier verder over hernia’s en zenuwpijn tijdens de zwangerschap",
)


@pytest.fixture(scope="module")
def seed_lines() -> list[str]:
    if not SEED.is_file():
        pytest.skip(f"{SEED} is absent: the seeds are not beside the repository")
    return [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def questionnaire() -> dict:
    return json.loads(Q_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def items(questionnaire) -> dict[str, dict]:
    found: dict[str, dict] = {}

    def walk(nodes):
        for node in nodes:
            found[node["linkId"]] = node
            walk(node.get("item", []))

    walk(questionnaire["item"])
    return found


@pytest.fixture(scope="module")
def blog(seed_lines) -> dict:
    """The blog's parts, read from the seed: numbered questions, the answer lines of each, and the rest."""
    headings = [(i, line) for i, line in enumerate(seed_lines) if re.match(r"^\d+\. ", line)]
    more = seed_lines.index("Heb je nog vragen? Hieronder vind je nog meer vragen over ischias")
    references = seed_lines.index("Referenties")
    content = [
        line
        for line in seed_lines[headings[0][0] : references]
        if line and line != "-" and not re.match(r"^\d+\. ", line) and not any(m in line for m in MARKETING) and line != seed_lines[more]
    ]
    return {
        "questions": [re.sub(r"^\d+\. ", "", line) for _, line in headings],
        "content": content,
        "unnumbered": [line for line in seed_lines[more + 1 : references] if line],
        "references": [line[2:] for line in seed_lines[references + 1 :] if line.startswith("- ")],
    }


def lines_of(text: str) -> list[str]:
    """An item's text as the blog's lines: paragraphs and '- ' list items."""
    return [line[2:] if line.startswith("- ") else line for line in text.split("\n") if line.strip()]


def marked_ours(element: dict) -> bool:
    return any(e.get("url") == TEKSTBRON and e["valueCoding"]["code"] == "fhirrug" for e in element.get("extension", []))


def response(*entries) -> dict:
    return {"resourceType": "QuestionnaireResponse", "questionnaire": f"{BASE}/Questionnaire/ischias-faq|{VERSION}", "status": "completed", "item": list(entries)}


def chosen(*codes) -> dict:
    return {"linkId": "vragen", "answer": [{"valueCoding": {"system": VRAAG, "code": c}} for c in codes]}


def statements(**answers) -> dict:
    return {"linkId": "zelftest", "item": [{"linkId": link.replace("_", "-"), "answer": [{"valueCoding": {"system": STELLING, "code": code}}]} for link, code in answers.items()]}


# --------------------------------------------------------------------------------------------
# Verbatim and complete
# --------------------------------------------------------------------------------------------
def test_ten_numbered_questions_verbatim_in_order(blog, items):
    assert len(blog["questions"]) == 10
    options = [o["valueCoding"] for o in items["vragen"]["answerOption"]]
    assert [(o["code"], o["display"]) for o in options[:10]] == list(zip(CODES[:10], blog["questions"]))
    assert [items[f"vraag-{n}"]["text"] for n in range(1, 11)] == blog["questions"]


def test_every_answer_line_is_a_line_of_the_blog(blog, items):
    content = set(blog["content"])
    for code in CODES:
        for line in lines_of(items[f"antwoord-{code}"]["text"]):
            assert line in content, (code, line)


def test_the_blog_is_complete_and_each_line_is_in_one_answer(blog, items):
    answered = [line for code in CODES for line in lines_of(items[f"antwoord-{code}"]["text"])]
    assert sorted(answered) == sorted(blog["content"])


def test_answers_follow_their_questions(blog, items, seed_lines):
    # the first line of each numbered answer is the line right after its heading in the seed
    for n in range(1, 11):
        heading = next(i for i, line in enumerate(seed_lines) if line.startswith(f"{n}. "))
        assert lines_of(items[f"antwoord-{n}"]["text"])[0] == seed_lines[heading + 1]


def test_the_five_unnumbered_answers_in_blog_order(blog, items):
    # five answers; the sixth paragraph continues the fifth (content map §6.2)
    firsts = [lines_of(items[f"antwoord-u{n}"]["text"])[0] for n in range(1, 6)]
    assert firsts == blog["unnumbered"][:5]
    assert lines_of(items["antwoord-u5"]["text"]) == blog["unnumbered"][4:6]


def test_our_questions_are_marked_and_the_blogs_are_not(items, questionnaire):
    for code in CODES:
        ours = code.startswith("u")
        assert marked_ours(items[f"vraag-{code}"]) is ours, code
        option = next(o for o in items["vragen"]["answerOption"] if o["valueCoding"]["code"] == code)
        assert marked_ours(option) is ours, code
    codesystem = json.loads((REPO / "valuesets" / "CodeSystem-ischias-faq-vraag.json").read_text(encoding="utf-8"))
    assert [(c["code"], marked_ours(c)) for c in codesystem["concept"]] == [(c, c.startswith("u")) for c in CODES]


def test_no_marketing_text(questionnaire):
    text = json.dumps(questionnaire, ensure_ascii=False)
    for block in MARKETING:
        assert block not in text


def test_references_with_dois(blog, questionnaire):
    assert len(blog["references"]) == 5
    artifacts = [e["valueRelatedArtifact"] for e in questionnaire["extension"] if e["url"] == RELATED]
    assert [a["citation"] for a in artifacts] == blog["references"]
    assert [a["label"] for a in artifacts] == ["[1]", "[2]", "[3]", "[4]", "[5]"]
    for artifact in artifacts:
        assert artifact["type"] == "citation"
        doi = re.search(r"https://doi\.org/\S+", artifact["citation"]).group(0)
        assert artifact["url"] == doi
        assert doi in questionnaire["description"]


# --------------------------------------------------------------------------------------------
# Choosing questions: exactly their answers (the enableWhen engine)
# --------------------------------------------------------------------------------------------
def answer_items(evaluation) -> set[str]:
    return {link for link in evaluation.enabled if link.startswith(("vraag-", "antwoord-"))}


@pytest.mark.parametrize("code", CODES)
def test_choosing_a_question_enables_exactly_its_answer(questionnaire, code):
    evaluation = fhirrug.evaluate(questionnaire, response(chosen(code)))
    assert evaluation.valid, evaluation.issues
    assert answer_items(evaluation) == {f"vraag-{code}", f"antwoord-{code}"}
    assert evaluation.is_enabled("antwoorden")


def test_no_choice_shows_no_answers(questionnaire):
    evaluation = fhirrug.evaluate(questionnaire, response())
    assert answer_items(evaluation) == set()
    assert not evaluation.is_enabled("antwoorden")


def test_several_choices_show_each_answer(questionnaire):
    evaluation = fhirrug.evaluate(questionnaire, response(chosen("2", "9", "u5")))
    assert answer_items(evaluation) == {"vraag-2", "antwoord-2", "vraag-9", "antwoord-9", "vraag-u5", "antwoord-u5"}


def test_alarm_signals_always_shown(questionnaire):
    evaluation = fhirrug.evaluate(questionnaire, response())
    assert {"alarmsignalen", "alarmsignalen-rijbroekgebied", "alarmsignalen-advies"} <= set(evaluation.enabled)


# --------------------------------------------------------------------------------------------
# The self-check
# --------------------------------------------------------------------------------------------
# The correct answers, from the blog: ischias is not the same as a hernia (Q4); a scan is not
# always needed (Q8); inactivity, not rest, is to be avoided (Q7, Q10); radiating pain is mostly
# not nerve pain (Q3); painful postures are not harmful (Q7); half improve within 3 months (Q5);
# operations are rarely needed (In het kort).
CORRECT = {1: "niet-waar", 2: "niet-waar", 3: "niet-waar", 4: "niet-waar", 5: "niet-waar", 6: "waar", 7: "niet-waar"}


def test_each_statement_records_its_correct_answer(items):
    for n, correct in CORRECT.items():
        statement = items[f"stelling-{n}"]
        assert marked_ours(statement)
        weights = {}
        for option in statement["answerOption"]:
            (ordinal,) = [e["valueDecimal"] for e in option["extension"] if e["url"] == ORDINAL]
            weights[option["valueCoding"]["code"]] = ordinal
        assert weights == {"waar": int(correct == "waar"), "niet-waar": int(correct == "niet-waar")}
        expected_text = "waar." if correct == "waar" else "niet waar."
        assert items[f"stelling-{n}-juist"]["text"].endswith(expected_text)


def test_explanations_are_the_blogs_words(blog, items):
    content = set(blog["content"]) | set(blog["unnumbered"])
    in_het_kort = set(lines_of(items["in-het-kort-punten"]["text"]))
    for n in CORRECT:
        explanation = items[f"stelling-{n}-uitleg"]
        assert not marked_ours(explanation)
        for line in lines_of(explanation["text"]):
            assert line in content or line in in_het_kort, (n, line)


def test_answering_a_statement_reveals_only_its_explanation(questionnaire):
    evaluation = fhirrug.evaluate(questionnaire, response(statements(stelling_3="waar")))
    revealed = {link for link in evaluation.enabled if link.endswith(("-juist", "-uitleg"))}
    assert revealed == {"stelling-3-juist", "stelling-3-uitleg"}


def test_self_check_scores_correct_answers(questionnaire):
    all_right = {f"stelling_{n}": code for n, code in CORRECT.items()}
    qr = response(statements(**all_right))
    score = score_response(questionnaire, qr, fhirrug.evaluate(questionnaire, qr).enabled)
    assert (score.total, score.maximum) == (7, 7)
    all_wrong = {f"stelling_{n}": ("waar" if code == "niet-waar" else "niet-waar") for n, code in CORRECT.items()}
    assert score_response(questionnaire, response(statements(**all_wrong))).total == 0
    two = {"stelling_1": "niet-waar", "stelling_6": "niet-waar", "stelling_7": "waar"}
    score = score_response(questionnaire, response(statements(**two)))
    assert score.total == 1 and score.items == {"stelling-1": 1, "stelling-6": 0, "stelling-7": 0}


# --------------------------------------------------------------------------------------------
# The examples and their expected results
# --------------------------------------------------------------------------------------------
def expected() -> dict:
    return tomllib.loads((EXAMPLES / "ischias-faq.expected.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def engine():
    return Engine(load_package(REPO))


def test_every_faq_example_has_expectations():
    files = {p.stem for p in EXAMPLES.glob("QuestionnaireResponse-ischias-faq-*.json")}
    assert files == set(expected()) and len(files) >= 3


@pytest.mark.parametrize("stem", sorted(expected()))
def test_example_matches_expected(engine, questionnaire, stem):
    table = expected()[stem]
    evaluation = check_example(engine, EXAMPLES / f"{stem}.json", table, exact=True)
    qr = evaluation.response
    score = score_response(questionnaire, qr, evaluation.enabled)
    assert (score.total, score.maximum) == (table["score"], table["maximum"])


# --------------------------------------------------------------------------------------------
# Source marking (issue 10)
# --------------------------------------------------------------------------------------------
def mark_of(element: dict) -> str | None:
    return next((e["valueCoding"]["code"] for e in element.get("extension", []) if e.get("url") == TEKSTBRON), None)


def test_the_blog_is_the_main_source_and_our_options_say_so(questionnaire, items):
    assert mark_of(questionnaire) == "ischias-faq-blog"
    for n in CORRECT:
        assert [mark_of(o) for o in items[f"stelling-{n}"]["answerOption"]] == ["fhirrug", "fhirrug"], n


def test_an_explanation_stitched_from_two_answers_is_marked_adapted(blog, items, seed_lines):
    """An explanation whose lines come from more than one of the blog's answers is the blog's
    content in our arrangement (stelling-3-uitleg: Q7 and Q10), not one passage of it."""
    answer_of_line = {}
    for code in CODES:
        for line in lines_of(items[f"antwoord-{code}"]["text"]):
            answer_of_line.setdefault(line, code)
    for n in CORRECT:
        explanation = items[f"stelling-{n}-uitleg"]
        answers = {answer_of_line.get(line, "in-het-kort") for line in lines_of(explanation["text"])}
        assert (mark_of(explanation) == "ischias-faq-blog-bewerkt") is (len(answers) > 1), (n, answers)
