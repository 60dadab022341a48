"""`fhirrug translate` and fhirrug.translate: single-language copies of resources."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug import exitcodes
from fhirrug.cli.translate import translate as translate_command
from fhirrug.package import load_files
from fhirrug.rules import all_rules
from fhirrug.translate import TRANSLATION_URL, codesystem_displays, translatable_strings, translate_resource
from fhirrug.validate.pipeline import validate_package

REPO = Path(__file__).resolve().parents[1]
FAQ = REPO / "questionnaires" / "Questionnaire-ischias-faq.json"


def tr(*pairs):
    return {"extension": [{"url": TRANSLATION_URL, "extension": [{"url": "lang", "valueCode": lang}, {"url": "content", "valueString": text}]} for lang, text in pairs]}


RENDERING = {"url": "http://hl7.org/fhir/StructureDefinition/rendering-xhtml", "valueString": "<b>Rugpijn</b>"}


def sample() -> dict:
    return {
        "resourceType": "Questionnaire",
        "id": "x",
        "language": "nl-NL",
        "title": "Rugpijn",
        "_title": {"extension": [RENDERING] + tr(("en", "Back pain"))["extension"]},
        "status": "draft",
        "item": [
            {
                "linkId": "1",
                "text": "Straalt de pijn uit?",
                "_text": tr(("en", "Does the pain radiate?"), ("de", "Strahlt der Schmerz aus?")),
                "type": "choice",
                "answerOption": [
                    {"valueString": "Ja", "_valueString": tr(("en", "Yes"))},
                    {"valueCoding": {"system": "urn:x", "code": "n", "display": "Nee", "_display": tr(("en", "No"))}},
                ],
            },
            {"linkId": "2", "text": "Alleen Nederlands", "type": "display"},
        ],
    }


def has_translation_extension(node) -> bool:
    return TRANSLATION_URL in json.dumps(node)


def test_english_copy_replaces_texts_and_removes_translations():
    out, issues = translate_resource(sample(), "en", "nl-NL", "x.json")
    assert out["language"] == "en"
    assert out["title"] == "Back pain"
    assert out["item"][0]["text"] == "Does the pain radiate?"
    assert out["item"][0]["answerOption"][0]["valueString"] == "Yes"
    assert out["item"][0]["answerOption"][1]["valueCoding"]["display"] == "No"
    assert not has_translation_extension(out)
    # an underscore sibling left empty is removed; one with another extension keeps it
    assert "_text" not in out["item"][0]
    assert "_valueString" not in out["item"][0]["answerOption"][0]
    assert out["_title"] == {"extension": [RENDERING]}
    # the untranslated text is kept and reported where it is
    assert out["item"][1]["text"] == "Alleen Nederlands"
    assert [(i.code, i.severity, i.expression, i.file) for i in issues] == [
        ("fhirrug-translation-missing", "warning", "Questionnaire.item[1].text", "x.json")
    ]


def test_other_language_and_regional_tags():
    out, _ = translate_resource(sample(), "de", "nl-NL")
    assert out["item"][0]["text"] == "Strahlt der Schmerz aus?"
    assert out["title"] == "Rugpijn"  # no German title: the original stays
    out, issues = translate_resource(sample(), "en-GB", "nl-NL")
    assert out["item"][0]["text"] == "Does the pain radiate?" and out["language"] == "en-GB"
    assert [i.expression for i in issues] == ["Questionnaire.item[1].text"]


def test_source_language_only_strips_translations():
    out, issues = translate_resource(sample(), "nl", "nl-NL")
    assert issues == []
    assert out["item"][0]["text"] == "Straalt de pijn uit?"
    assert out["language"] == "nl-NL"  # the source's own tag is kept
    assert not has_translation_extension(out)


def test_language_is_added_when_absent_and_input_untouched():
    resource = sample()
    del resource["language"]
    before = copy.deepcopy(resource)
    out, _ = translate_resource(resource, "en")
    assert resource == before
    assert list(out)[:3] == ["resourceType", "id", "language"]


def test_codings_take_the_codesystems_display_in_the_language():
    codesystem = {
        "resourceType": "CodeSystem",
        "url": "urn:bron",
        "concept": [{"code": "fhirrug", "display": "Geschreven door fhirrug", "_display": tr(("en", "Written by fhirrug")), "concept": [{"code": "sub", "display": "Onder"}]}],
    }
    displays = codesystem_displays([codesystem], "nl-NL")
    assert displays[("urn:bron", "fhirrug")] == {"nl-NL": "Geschreven door fhirrug", "en": "Written by fhirrug"}
    assert displays[("urn:bron", "sub")] == {"nl-NL": "Onder"}
    resource = sample()
    resource["item"][1]["extension"] = [{"url": "urn:tekstbron", "valueCoding": {"system": "urn:bron", "code": "fhirrug", "display": "Geschreven door fhirrug"}}]
    resource["item"][1]["code"] = [{"system": "urn:bron", "code": "fhirrug", "display": "Geschreven door fhirrug"}]  # no translation of its own
    out, issues = translate_resource(resource, "en", "nl-NL", displays=displays)
    assert out["item"][1]["extension"][0]["valueCoding"]["display"] == "Written by fhirrug"
    assert out["item"][1]["code"][0]["display"] == "Written by fhirrug"
    assert [i.expression for i in issues] == ["Questionnaire.item[1].text"]  # the code display is resolved
    dutch, _ = translate_resource(resource, "nl", "nl-NL", displays=displays)
    assert dutch["item"][1]["extension"][0]["valueCoding"]["display"] == "Geschreven door fhirrug"


def test_other_resource_types_only_lose_translations():
    sd = {"resourceType": "StructureDefinition", "id": "s", "language": "nl-NL", "title": "Tekstbron", "_title": tr(("en", "Text source"))}
    out, issues = translate_resource(sd, "en")
    assert out == {"resourceType": "StructureDefinition", "id": "s", "language": "nl-NL", "title": "Tekstbron"}
    assert issues == []


def test_faq_english_copy_has_no_dutch_left():
    faq = json.loads(FAQ.read_text(encoding="utf-8"))
    out, issues = translate_resource(faq, "en", "nl-NL")
    assert issues == []
    originals = {s.value for s in translatable_strings(faq)}
    translated = {s.value for s in translatable_strings(out)}
    # every text changed except those that are the same in both languages (e.g. the reference list)
    assert len(originals & translated) <= 3
    assert out["item"][0]["text"].startswith("Do you have radiating pain")


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------
def test_cli_single_file_to_stdout(tmp_path):
    path = tmp_path / "Questionnaire-x.json"
    path.write_text(json.dumps(sample()), encoding="utf-8")
    result = CliRunner().invoke(translate_command, ["--lang", "en", str(path)])
    assert result.exit_code == exitcodes.OK, result.output
    out = json.loads(result.stdout)
    assert out["item"][0]["text"] == "Does the pain radiate?"
    assert "fhirrug-translation-missing" in result.stderr
    assert "Questionnaire.item[1].text" in result.stderr


def test_cli_several_files_need_out(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"Questionnaire-{name}.json").write_text(json.dumps(sample()), encoding="utf-8")
    result = CliRunner().invoke(translate_command, ["--lang", "en", str(tmp_path)])
    assert result.exit_code == exitcodes.USAGE
    assert "--out" in result.stderr


def test_cli_bad_input_is_a_usage_error_without_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(translate_command, ["--lang", "en", str(bad)])
    assert result.exit_code == exitcodes.USAGE
    assert "Traceback" not in result.output
    assert "fhirrug-json-syntax" in result.stderr


def test_cli_missing_lang_is_usage():
    result = CliRunner().invoke(translate_command, [])
    assert result.exit_code == exitcodes.USAGE


@pytest.fixture(scope="module")
def english_package(tmp_path_factory) -> Path:
    """The shipped content package translated into English with the default PATHs."""
    out = tmp_path_factory.mktemp("en")
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        result = CliRunner().invoke(translate_command, ["--lang", "en", "--quiet", "--out", str(out)])
    finally:
        os.chdir(cwd)
    assert result.exit_code == exitcodes.OK, result.output
    return out


def test_cli_package_keeps_the_tree_and_skips_responses(english_package):
    written = {p.relative_to(english_package).as_posix() for p in english_package.rglob("*.json")}
    assert "questionnaires/Questionnaire-ischias-faq.json" in written
    assert "questionnaires/Questionnaire-anamnese-lage-rugklachten.json" in written
    assert "valuesets/CodeSystem-ischias-faq-vraag.json" in written
    assert not any("QuestionnaireResponse" in w for w in written)
    faq = json.loads((english_package / "questionnaires" / "Questionnaire-ischias-faq.json").read_text(encoding="utf-8"))
    assert faq["language"] == "en" and faq["title"] == "Sciatica: the 10 most frequently asked questions"
    text = (english_package / "questionnaires" / "Questionnaire-ischias-faq.json").read_text(encoding="utf-8")
    assert text.endswith("}\n") and "\n  \"id\"" in text  # the project's JSON format


def _errors(files: list[Path], root: Path) -> set[tuple[str, str, str]]:
    package = load_files(files)
    result = validate_package(package, rules=[r for r in all_rules() if not r.id.startswith("fhirrug-translation")])
    return {(i.code, Path(i.file).resolve().relative_to(root.resolve()).as_posix() if i.file else "", i.expression) for i in result.issues if i.severity != "information"}


def test_translated_package_validates_as_well_as_the_source(english_package):
    """Translating adds no finding: the English copy has no error or warning that the Dutch source
    does not have (e.g. no Coding display that disagrees with its translated CodeSystem), and the
    FAQ and anamnesis have none at all."""
    translated = _errors(sorted(english_package.rglob("*.json")), english_package)
    source = _errors([REPO / p for p in (p.relative_to(english_package) for p in sorted(english_package.rglob("*.json")))], REPO)
    assert translated <= source
    ours = ("ischias-faq", "anamnese-lage-rugklachten")
    assert [e for e in translated if any(name in e[1] for name in ours)] == []


def test_console_script_translates(fhirrug_exe):
    result = subprocess.run([str(fhirrug_exe), "translate", "--lang", "en", str(FAQ)], capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert result.returncode == exitcodes.OK, result.stderr
    faq = json.loads(result.stdout)
    assert faq["language"] == "en"
    # the tekstbron Coding (inside an extension) takes the English display of CodeSystem tekstbron,
    # read from the project beside the file
    tekstbron = json.loads((REPO / "valuesets" / "CodeSystem-tekstbron.json").read_text(encoding="utf-8"))
    (concept,) = [c for c in tekstbron["concept"] if c["code"] == "fhirrug"]
    english = concept["_display"]["extension"][0]["extension"][1]["valueString"]
    vragen = next(i for i in faq["item"] if i["linkId"] == "vragen")
    assert vragen["extension"][0]["valueCoding"]["display"] == english != concept["display"]
