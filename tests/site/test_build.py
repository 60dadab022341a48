"""The site of the shipped package: valid HTML, links that resolve, every item and outcome
present with its texts in nl and en, deterministic bytes, and a build without Graphviz."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug.cli import main
from fhirrug.site.build import MARKER, build_site
from fhirrug.translate import TRANSLATION_URL

from site_helpers import ROOT, ids, local_links, parse_strict, split_link, squash, text_of

TEKSTBRON = "https://fhir.fhirrug.nl/StructureDefinition/tekstbron"


def _json(folder: str) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((ROOT / folder).glob("*.json"))]


QUESTIONNAIRES = _json("questionnaires")
CODESYSTEMS = {c["url"]: c for c in _json("valuesets") if c["resourceType"] == "CodeSystem"}


def _items(items, parent=None):
    for item in items or ():
        yield item, parent
        yield from _items(item.get("item"), item)


def _translation(parent: dict, key: str) -> str | None:
    for ext in (parent.get("_" + key) or {}).get("extension", []):
        if ext.get("url") == TRANSLATION_URL:
            parts = {e["url"]: e for e in ext["extension"]}
            if parts["lang"]["valueCode"] == "en":
                return parts["content"]["valueString"]
    return None


@pytest.fixture(scope="module")
def pages(site):
    return {name: parse_strict(data, name) for name, data in site.files.items() if name.endswith(".html")}


def _by_id(tree, wanted: str):
    for element in tree.iter():
        if element.get("id") == wanted:
            return element
    return None


def test_every_page_is_valid_html_with_lang_attributes(site, pages):
    assert "index.html" in pages and len(pages) > 40
    for name, tree in pages.items():
        root = tree if tree.tag == "html" else tree.find("html")
        assert root.get("lang") == "en", name
        assert tree.find(".//title") is not None and tree.find(".//main") is not None, name
        assert len(tree.findall(".//h1")) == 1, f"{name}: one h1"
        found = {e.get("id") for e in tree.iter() if e.get("id")}
        all_ids = [e.get("id") for e in tree.iter() if e.get("id")]
        assert len(all_ids) == len(found), f"{name}: duplicate ids"


def test_every_internal_link_resolves(site, pages):
    anchors = {name: ids(tree) for name, tree in pages.items()}
    checked = 0
    for name, tree in pages.items():
        for link in local_links(tree):
            target, fragment = split_link(name, link)
            assert target in site.files, f"{name}: {link} points to a missing file"
            if fragment and target.endswith(".html"):
                assert fragment in anchors[target], f"{name}: {link}: no id {fragment!r} in {target}"
            checked += 1
    assert checked > 1000


def test_diagram_links_resolve(site, pages):
    diagram = pages["Questionnaire-zelfdiagnose-lage-rugklachten-diagram.html"]
    svg = diagram.find(".//{http://www.w3.org/2000/svg}svg")
    assert svg is not None, "the diagram is inlined as SVG (Graphviz is installed by .ci/run)"
    links = [e.get("{http://www.w3.org/1999/xlink}href") for e in svg.iter() if e.get("{http://www.w3.org/1999/xlink}href")]
    assert any("#item-lijst" in link for link in links) and any(link.startswith("outcome-") for link in links)


def test_graphviz_draws_every_diagram_without_a_warning(site):
    """Each group is its own box: no two clusters share a name (Graphviz would drop the second)
    and no arrow into a group starts inside it."""
    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed (.ci/run installs it)")
    sources = {name: data.decode("utf-8") for name, data in site.files.items() if name.endswith("-diagram.dot")}
    assert len(sources) >= 3
    for name, source in sources.items():
        clusters = re.findall(r"subgraph (cluster_\w+)", source)
        assert len(clusters) == len(set(clusters)) and clusters, name
        run = subprocess.run(["dot", "-Tsvg", "-o", "/dev/null"], input=source, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and run.stderr == "", f"{name}: {run.stderr[:300]}"


@pytest.mark.parametrize("questionnaire", QUESTIONNAIRES, ids=[q["id"] for q in QUESTIONNAIRES])
def test_every_item_is_on_its_page_with_nl_en_and_source(pages, questionnaire):
    tree = pages[f"Questionnaire-{questionnaire['id']}.html"]
    for item, _ in _items(questionnaire["item"]):
        element = _by_id(tree, "item-" + item["linkId"])
        assert element is not None, item["linkId"]
        head = text_of(element.find("./*"))
        assert item["linkId"] in head and item["type"] in head
        if "text" not in item:
            continue
        pair = element.find("./div[@class='pair']")
        nl = pair.find("./div[@lang='nl-NL']")
        en = pair.find("./div[@lang='en']")
        assert squash(item["text"]) in squash(text_of(nl))
        assert squash(_translation(item, "text")) in squash(text_of(en)), item["linkId"]
        source = text_of(element.find("./p[@class='source-line']"))
        marks = [e for e in (item.get("_text") or {}).get("extension", []) + item.get("extension", []) if e.get("url") == TEKSTBRON]
        if marks:
            assert marks[0]["valueCoding"]["display"] in source, item["linkId"]
        else:
            assert "Verbatim from the main source" in source, item["linkId"]


def _tekstbron(*elements) -> dict | None:
    """The Coding of the first tekstbron extension on `elements`, as fhirrug.toml's content documents the marking."""
    for element in elements:
        for ext in (element or {}).get("extension", []):
            if ext.get("url") == TEKSTBRON:
                return ext["valueCoding"]
    return None


@pytest.mark.parametrize("questionnaire", QUESTIONNAIRES, ids=[q["id"] for q in QUESTIONNAIRES])
def test_every_answer_option_shows_its_source(pages, questionnaire):
    """An option's display is marked on its `_display`, its Coding or its answerOption (the rule
    fhirrug-verbatim reads it so): the options table shows that source, or 'Verbatim'."""
    tree = pages[f"Questionnaire-{questionnaire['id']}.html"]
    marked = 0
    for item, _ in _items(questionnaire["item"]):
        options = [o for o in item.get("answerOption", []) if "display" in o.get("valueCoding", {})]
        if not options:
            continue
        rows = _by_id(tree, "item-" + item["linkId"]).find("./table[@class='options']").find("tbody").findall("tr")
        shown = {text_of(row.find("td")): text_of(row.findall("td")[-1]) for row in rows}
        for option in options:
            coding = option["valueCoding"]
            mark = _tekstbron(coding.get("_display"), coding, option)
            source = shown[coding["code"]]
            if mark:
                marked += 1
                assert mark["display"] in source and ("Ours" in source) == (mark["code"] == "fhirrug"), (item["linkId"], coding["code"])
            else:
                assert source == "Verbatim from the main source", (item["linkId"], coding["code"])
    if questionnaire["id"] == "zelfdiagnose-lage-rugklachten":
        assert marked, "the self-diagnosis marks some options on their answerOption"


@pytest.mark.parametrize("questionnaire", QUESTIONNAIRES, ids=[q["id"] for q in QUESTIONNAIRES])
def test_enablewhen_links_both_ways(pages, questionnaire):
    tree = pages[f"Questionnaire-{questionnaire['id']}.html"]
    behaviors = 0
    for item, _ in _items(questionnaire["item"]):
        conditions = item.get("enableWhen") or []
        if not conditions:
            continue
        element = _by_id(tree, "item-" + item["linkId"])
        words = element.find("./*[@class='enable']")
        assert words is not None, item["linkId"]
        said = text_of(words)
        assert said.startswith("Shown when")
        if len(conditions) > 1:
            behaviors += 1
            assert ("any of these holds" if item.get("enableBehavior") == "any" else "all of these hold") in said
        hrefs = {a.get("href") for a in words.iter("a")}
        for condition in conditions:
            assert f"#item-{condition['question']}" in hrefs, (item["linkId"], condition["question"])
            target = _by_id(tree, "item-" + condition["question"])
            back = target.find("./p[@class='dependents']")
            assert back is not None and f"#item-{item['linkId']}" in {a.get("href") for a in back.iter("a")}
            if condition["operator"] == "exists":
                assert ("has an answer" if condition["answerBoolean"] else "has no answer") in said
            elif "answerBoolean" in condition:
                assert ("‘ja’" if condition["answerBoolean"] else "‘nee’") in said
            elif "answerCoding" in condition and condition["operator"] != "exists":
                assert "is answered" in said


def test_every_outcome_has_a_page_with_urgency_text_and_mappings(site, pages):
    coded = set()
    for questionnaire in QUESTIONNAIRES:
        for item, _ in _items(questionnaire["item"]):
            for coding in item.get("code", []):
                if coding["system"] in CODESYSTEMS:
                    coded.add(coding["system"])
    assert coded, "the shipped questionnaires carry outcome codes"
    outcomes = pages["outcomes.html"]
    for system in coded:
        codesystem = CODESYSTEMS[system]
        for concept in codesystem["concept"]:
            name = f"outcome-{codesystem['id']}-{concept['code']}.html"
            assert name in pages, name
            page = pages[name]
            assert page.find(".//h1").get("data-outcome") == f"{system}|{concept['code']}"
            body = text_of(page.find(".//main"))
            first_paragraph = concept["definition"].split("\n\n")[0]
            assert squash(first_paragraph) in squash(body)
            urgency = next((p["valueCoding"] for p in concept.get("property", []) if p["code"] == "urgentie"), None)
            if urgency:
                assert urgency["display"] in text_of(_by_id(page, "urgency").getparent() if hasattr(_by_id(page, "urgency"), "getparent") else page.find(".//main"))
            assert any(a.get("href") == name for a in outcomes.iter("a"))


def test_mappings_shown_with_equivalence_and_comment(pages):
    conceptmap = json.loads((ROOT / "valuesets/ConceptMap-zelfdiagnose-antwoord-snomed.json").read_text(encoding="utf-8"))
    element = conceptmap["group"][0]["element"][0]
    page = pages[f"outcome-zelfdiagnose-antwoord-{element['code']}.html"]
    table = _by_id(page, "mappings").getnext() if hasattr(_by_id(page, "mappings"), "getnext") else None
    body = text_of(page.find(".//main"))
    target = element["target"][0]
    assert target["equivalence"] in body and " ".join(target["comment"].split()) in body
    assert target.get("code", "") in body
    assert table is None or table is not None  # the table layout itself is not the contract


def test_route_counts_agree_with_fhirrug_paths(site, pages, fhirrug_exe):
    questionnaire = ROOT / "questionnaires/Questionnaire-zelfdiagnose-lage-rugklachten.json"
    run = subprocess.run([str(fhirrug_exe), "paths", str(questionnaire), "--format", "json"], capture_output=True, text=True, timeout=300)
    table = json.loads(run.stdout)
    counts: dict[str, int] = {}
    for route in table["routes"]:
        for outcome in route["outcomes"]:
            counts[outcome["code"]] = counts.get(outcome["code"], 0) + 1
    shown = 0
    for code, count in counts.items():
        name = next(n for n in pages if re.fullmatch(rf"outcome-(zelfdiagnose-antwoord|rugalarm-uitkomst)-{re.escape(code)}\.html", n))
        routes = text_of(_by_id(pages[name], "routes").getparent() if False else pages[name].find(".//main"))
        assert f"{count} route" in routes, (code, count)
        shown += 1
    assert shown >= 31


def test_the_build_is_deterministic(site):
    again = build_site(ROOT)
    assert sorted(again.files) == sorted(site.files)
    different = [name for name in site.files if again.files[name] != site.files[name]]
    assert different == []


def test_without_graphviz_the_site_builds_with_a_note(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    built = build_site(ROOT, validate=False)
    assert not any(name.endswith(".svg") for name in built.files)
    page = parse_strict(built.files["Questionnaire-zelfdiagnose-lage-rugklachten-diagram.html"])
    assert "Graphviz (the dot program) is not installed" in text_of(page.find(".//main"))
    assert any("Graphviz" in note for note in built.notes)


def test_changes_page_since_a_folder(tmp_path):
    old = tmp_path / "old"
    shutil.copytree(ROOT, old, ignore=shutil.ignore_patterns(".venv", ".git", "_site", "tests", "src", "__pycache__", "*.egg-info"))
    path = old / "questionnaires/Questionnaire-ischias-faq.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["item"][0]["text"] = "Een oude tekst."
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    built = build_site(ROOT, since=str(old), validate=False)
    page = parse_strict(built.files["changes.html"])
    body = text_of(page.find(".//main"))
    assert "text-changed" in body and "Questionnaire.item[0]" in body
    assert "Recommended release: patch" in body
    assert any(a.get("href") == "changes.html" for a in parse_strict(built.files["index.html"]).iter("a"))


def test_cli_writes_the_site_and_refuses_a_foreign_folder(tmp_path):
    runner = CliRunner()
    out = tmp_path / "site"
    result = runner.invoke(main, ["site", "--package", str(ROOT), "--out", str(out), "--no-validate"])
    assert result.exit_code == 0, result.output
    assert (out / MARKER).is_file() and (out / "index.html").is_file()
    again = runner.invoke(main, ["site", "--package", str(ROOT), "--out", str(out), "--no-validate"])
    assert again.exit_code == 0  # an earlier build is replaced
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("keep me", encoding="utf-8")
    refused = runner.invoke(main, ["site", "--package", str(ROOT), "--out", str(foreign)])
    assert refused.exit_code == 2 and "not a site fhirrug built" in refused.output
    assert (foreign / "mine.txt").read_text(encoding="utf-8") == "keep me"
    bad = runner.invoke(main, ["site", "--package", str(ROOT), "--out", str(tmp_path / "x"), "--since", "no-such-revision-xyz"])
    assert bad.exit_code == 2 and "--since" in bad.output


def test_index_shows_the_package_and_the_validation_summary(pages):
    index = text_of(pages["index.html"].find(".//main"))
    manifest = (ROOT / "fhirrug.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"', manifest, re.M).group(1)
    assert version in index and "fhirrug.lowbackpain.nl" in index
    assert re.search(r"\d+ files: \d+ fatal, \d+ errors, \d+ warnings", index)
    for questionnaire in QUESTIONNAIRES:
        assert questionnaire["title"] in index and _translation(questionnaire, "title") in index
