"""fhirrug-verbatim: a text marked as a source's own words is found in the passages the package
ships for that source (rules/verbatim.py). Fixtures are small packages written to a temporary
folder; the last tests edit a quote of the shipped content and expect the rule to fire."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from fhirrug.manifest import load_manifest
from fhirrug.package import Package, Resource, load_package
from fhirrug.rules import all_rules
from fhirrug.rules.verbatim import lines, occurs, reset_cache
from fhirrug.validate.pipeline import RuleContext, validate_package

REPO = Path(__file__).resolve().parents[2]
BASE = "https://fhir.fhirrug.nl"
TEKSTBRON = f"{BASE}/StructureDefinition/tekstbron"
SYSTEM = f"{BASE}/CodeSystem/tekstbron"
RULE = "fhirrug-verbatim"


def mark(code: str) -> dict:
    return {"url": TEKSTBRON, "valueCoding": {"system": SYSTEM, "code": code}}


def tekstbron_codesystem() -> dict:
    def concept(code, verbatim):
        return {"code": code, "display": code, "property": [{"code": "letterlijk", "valueBoolean": verbatim}]}

    return {"resourceType": "CodeSystem", "id": "tekstbron", "url": SYSTEM, "status": "draft", "content": "complete",
            "property": [{"code": "letterlijk", "type": "boolean"}],
            "concept": [concept("boek", True), concept("folder", True), concept("boek-bewerkt", False), concept("fhirrug", False)]}


PASSAGES = {
    "boek": ["Het lijkt of u af en toe géén gevoel meer hebt in uw grote of kleine tenen. Misschien hebt u zelfs een klapvoet:",
             "Neemt de afklemming toe, dan kan ook de kracht in uw voet of tenen verder afnemen."],
}


def write_project(root: Path, passages: dict | None = PASSAGES, declare: bool = True) -> None:
    content = 'folders = ["q"]\n' + ('sources = "sources"\n' if declare else "")
    (root / "fhirrug.toml").write_text(f'[package]\nname = "t"\nversion = "0.1.0"\ncanonical = "{BASE}"\npublisher = "t"\n\n[content]\n{content}', encoding="utf-8")
    if passages is not None:
        (root / "sources").mkdir(exist_ok=True)
        for code, texts in passages.items():
            body = f'code = "{code}"\n' + "".join(f'\n[[passage]]\ntext = {json.dumps(t, ensure_ascii=False)}\n' for t in texts)
            (root / "sources" / f"{code}.toml").write_text(body, encoding="utf-8")


def questionnaire(*items, main: str | None = "boek") -> dict:
    q = {"resourceType": "Questionnaire", "id": "q", "url": f"{BASE}/Questionnaire/q", "status": "draft", "item": list(items)}
    if main:
        q["extension"] = [mark(main)]
    return q


def findings(root: Path, *resources: dict) -> set[tuple[str, str]]:
    reset_cache()
    manifest = load_manifest(root)
    package = Package(manifest=manifest, resources=[Resource(path=root / f"{r['resourceType']}-{r['id']}.json", data=r)
                                                   for r in (*resources, tekstbron_codesystem())])
    rules = [r for r in all_rules() if r.id == RULE]
    return {(i.code, i.expression) for i in validate_package(package, rules=rules).issues}


BULLET = "Het lijkt of u af en toe géén gevoel meer hebt in uw grote of kleine tenen. Misschien hebt u zelfs een klapvoet:"


def test_a_verbatim_quote_passes(tmp_path):
    write_project(tmp_path)
    q = questionnaire({"linkId": "a", "type": "boolean", "text": BULLET},
                      {"linkId": "b", "type": "display", "text": "Neemt de afklemming toe, dan kan ook de kracht in uw voet of tenen verder afnemen."})
    assert findings(tmp_path, q) == set()


def test_an_edited_quote_fires(tmp_path):
    write_project(tmp_path)
    q = questionnaire({"linkId": "a", "type": "boolean", "text": BULLET.replace("klapvoet", "klompvoet")})
    assert findings(tmp_path, q) == {(RULE, "Questionnaire.item[0].text")}


def test_ours_and_adapted_texts_are_not_compared(tmp_path):
    write_project(tmp_path)
    q = questionnaire({"extension": [mark("fhirrug")], "linkId": "a", "type": "boolean", "text": "Hebt u een klapvoet?"},
                      {"linkId": "b", "type": "boolean", "text": "Neemt de kracht af?", "_text": {"extension": [mark("boek-bewerkt")]}})
    assert findings(tmp_path, q) == set()


def test_the_nearest_mark_wins_and_marks_do_not_nest(tmp_path):
    """A group marked ours does not make its children ours: they fall back to the main source."""
    write_project(tmp_path)
    q = questionnaire({"extension": [mark("fhirrug")], "linkId": "g", "type": "group", "text": "Onze titel",
                       "item": [{"linkId": "g.1", "type": "display", "text": "Niet uit het boek."}]})
    assert findings(tmp_path, q) == {(RULE, "Questionnaire.item[0].item[0].text")}


def test_answer_options_and_codesystem_concepts_are_checked(tmp_path):
    write_project(tmp_path)
    q = questionnaire({"linkId": "c", "type": "choice", "text": BULLET, "answerOption": [
        {"valueCoding": {"system": "urn:x", "code": "1", "display": "Misschien hebt u zelfs een klapvoet"}},
        {"valueCoding": {"system": "urn:x", "code": "2", "display": "Zeker een klapvoet"}},
        {"extension": [mark("fhirrug")], "valueCoding": {"system": "urn:x", "code": "3", "display": "Nee"}},
    ]})
    cs = {"resourceType": "CodeSystem", "id": "c", "url": f"{BASE}/CodeSystem/c", "status": "draft", "content": "complete",
          "extension": [mark("boek")], "concept": [{"code": "1", "display": "Misschien hebt u zelfs een klapvoet", "definition": "Een klapvoet."}]}
    assert findings(tmp_path, q, cs) == {(RULE, "Questionnaire.item[0].answerOption[1].valueCoding.display"), (RULE, "CodeSystem.concept[0].definition")}


def test_a_word_inside_a_longer_word_is_no_quote():
    haystack = "Neemt de afklemming toe"
    assert not occurs("Nee", haystack) and occurs("Neemt de", haystack)
    assert occurs("de afklemming", haystack) and not occurs("de afklem", haystack)
    assert occurs("neemt de afklemming", haystack)  # a fragment's first letter may change case
    assert not occurs("Neemt De afklemming", haystack)


def test_lines_are_compared_one_by_one_without_list_markers():
    assert lines("Eerste zin.\n\n- Tweede  zin\n-  \n") == ["Eerste zin.", "Tweede zin"]


def test_without_a_main_source_or_a_declared_folder_nothing_is_claimed(tmp_path):
    write_project(tmp_path)
    assert findings(tmp_path, questionnaire({"linkId": "a", "type": "display", "text": "Vrije tekst."}, main=None)) == set()
    other = tmp_path / "other"
    other.mkdir()
    write_project(other, declare=False)
    assert findings(other, questionnaire({"linkId": "a", "type": "display", "text": "Vrije tekst."})) == set()


def test_a_source_without_passages_or_a_missing_folder_is_said(tmp_path):
    write_project(tmp_path)
    q = questionnaire({"linkId": "a", "type": "display", "text": "Uit de folder."}, main="folder")
    assert findings(tmp_path, q) == {(RULE, "Questionnaire.item[0].text")}
    other = tmp_path / "other"
    other.mkdir()
    write_project(other, passages=None)
    assert (RULE, "Questionnaire") in findings(other, questionnaire({"linkId": "a", "type": "display", "text": BULLET}))


# ---------------------------------------------------------------------------------------------
# The shipped content: clean, and an edited quote fires (issue 10, "so this cannot regress")
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def package():
    return load_package(REPO)


def _verbatim_issues(package) -> set[tuple[str, str, str]]:
    """The rule on every resource of the package (without the other stages, which take long)."""
    reset_cache()
    (rule,) = [r for r in all_rules() if r.id == RULE]
    found = set()
    for resource in package.resources:
        if rule.applies_to(resource.resource_type):
            found |= {(RULE, resource.path.name, f.expression) for f in rule.check(resource.data, RuleContext(package, str(resource.path)))}
    return found


def test_the_shipped_content_quotes_its_sources_verbatim(package):
    assert _verbatim_issues(package) == set()


@pytest.mark.parametrize("file, find, replace", [
    ("Questionnaire-zelfdiagnose-lage-rugklachten.json", "Misschien hebt u zelfs een klapvoet:", "Misschien hebt u een klapvoet:"),
    ("CodeSystem-rugalarm-uitkomst.json", "Het is belangrijk dat dit direct wordt onderzocht.", "Het is belangrijk dat dit snel wordt onderzocht."),
    ("Questionnaire-ischias-faq.json", "Ischias is zelden gevaarlijk", "Ischias is nooit gevaarlijk"),
])
def test_an_edited_quote_in_the_shipped_content_fires(package, file, find, replace):
    edited = copy.deepcopy(package)
    (resource,) = [r for r in edited.resources if r.path.name == file]
    text = json.dumps(resource.data, ensure_ascii=False)
    assert find in text or find.lower() in text.lower(), find
    resource.data = json.loads(text.replace(find, replace).replace(find[0].lower() + find[1:], replace[0].lower() + replace[1:]))
    found = {f for f in _verbatim_issues(edited) if f[1] == file}
    assert found, (file, find)
