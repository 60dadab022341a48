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
    assert "questionnaires/Questionnaire-ischias-faq-en.json" in written
    assert "questionnaires/Questionnaire-anamnese-lage-rugklachten-en.json" in written
    assert "valuesets/CodeSystem-ischias-faq-vraag-en.json" in written
    assert not any("QuestionnaireResponse" in w or "StructureDefinition" in w for w in written)
    faq = json.loads((english_package / "questionnaires" / "Questionnaire-ischias-faq-en.json").read_text(encoding="utf-8"))
    assert faq["language"] == "en" and faq["title"] == "Sciatica: the 10 most frequently asked questions"
    text = (english_package / "questionnaires" / "Questionnaire-ischias-faq-en.json").read_text(encoding="utf-8")
    assert text.endswith("}\n") and "\n  \"id\"" in text  # the project's JSON format


def _errors(files: list[Path], root: Path, beside: list[Path] = ()) -> set[tuple[str, str, str]]:
    package = load_files([*files, *beside])
    only = {str(f) for f in files}
    result = validate_package(package, rules=[r for r in all_rules() if not r.id.startswith("fhirrug-translation")], only=only)
    return {(i.code, Path(i.file).resolve().relative_to(root.resolve()).as_posix().replace("-en.json", ".json") if i.file else "", i.expression) for i in result.issues if i.severity != "information"}


def test_translated_package_validates_as_well_as_the_source(english_package):
    """Translating adds no finding: the English copies, imported beside the Dutch originals as an
    integrator does, have no error or warning that the Dutch source does not have (no clash of
    url or id with the originals, no Coding display that disagrees with its CodeSystem), and the
    FAQ and anamnesis have none at all."""
    originals = [p for p in sorted(REPO.glob("*/*.json")) if p.parent.name in ("definitions", "questionnaires", "valuesets")]
    translated = _errors(sorted(english_package.rglob("*.json")), english_package, originals)
    source = _errors(originals, REPO)
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


def _console(fhirrug_exe, *args, cwd=REPO):
    result = subprocess.run([str(fhirrug_exe), "translate", *map(str, args)], capture_output=True, text=True, encoding="utf-8", timeout=120, cwd=cwd)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


def test_console_script_refuses_a_language_the_package_does_not_declare(fhirrug_exe):
    result = _console(fhirrug_exe, "--lang", "fr", FAQ)
    assert result.returncode == exitcodes.USAGE and result.stdout == ""
    assert "'fr'" in result.stderr and "fhirrug.toml" in result.stderr
    assert _console(fhirrug_exe, "--lang", "en-GB", FAQ).returncode == exitcodes.OK  # same primary language as en


def test_console_script_copies_have_an_identity_of_their_own(fhirrug_exe, tmp_path):
    out = tmp_path / "en"
    assert _console(fhirrug_exe, "--lang", "en", "--quiet", "--out", out).returncode == exitcodes.OK
    faq = json.loads((out / "questionnaires" / "Questionnaire-ischias-faq-en.json").read_text(encoding="utf-8"))
    original = json.loads(FAQ.read_text(encoding="utf-8"))
    assert (faq["id"], faq["url"], faq["version"]) == (original["id"] + "-en", original["url"] + "-en", original["version"])
    assert faq["derivedFrom"][-1] == f"{original['url']}|{original['version']}"
    # references to the package's ValueSets point at their English copies, which were written;
    # the group's source stays the CodeSystem (its url is the system of the codes)
    conceptmap = json.loads((out / "valuesets" / "ConceptMap-zelfdiagnose-antwoord-snomed-en.json").read_text(encoding="utf-8"))
    copies = {json.loads(p.read_text(encoding="utf-8"))["url"] for p in out.rglob("ValueSet-*.json")}
    assert conceptmap["sourceCanonical"].partition("|")[0] in copies and conceptmap["sourceCanonical"].partition("|")[0].endswith("-en")
    assert conceptmap["group"][0]["source"] == "https://fhir.fhirrug.nl/CodeSystem/zelfdiagnose-antwoord"
    # a CodeSystem's url is the system of its codes: the copy supplements it instead
    vraag = json.loads((out / "valuesets" / "CodeSystem-ischias-faq-vraag-en.json").read_text(encoding="utf-8"))
    source = json.loads((REPO / "valuesets" / "CodeSystem-ischias-faq-vraag.json").read_text(encoding="utf-8"))
    assert vraag["content"] == "supplement" and vraag["supplements"] == f"{source['url']}|{source['version']}"
    assert vraag["url"] != source["url"] and vraag["concept"][0]["designation"][-1]["language"] == "en"
    # imported beside the originals nothing clashes (the whole check is test_translated_package_...)
    validated = subprocess.run(
        [str(fhirrug_exe), "validate", "--format", "json", "--package", REPO, *sorted(out.rglob("*.json"))],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    codes = {i["code"] for i in json.loads(validated.stdout)["issues"]}
    assert not codes & {"fhirrug-canonical-duplicate", "fhirrug-id-duplicate", "fhirrug-canonical-unresolved"}


@pytest.mark.parametrize(
    "mangle",
    [
        lambda q: q.setdefault("extension", []).append({"url": "x", "valueCoding": {"system": ["a"], "code": "b", "display": "c"}}),
        lambda q: q.update({"_title": {"extension": [{"url": ["http://hl7.org/fhir/StructureDefinition/translation"], "extension": [{"url": "lang", "valueCode": "en"}]}]}}),
        lambda q: q.update({"_title": {"extension": {"url": "x"}}, "item": [{"linkId": ["a"], "text": 5, "_text": [1]}]}),
    ],
    ids=["system-list", "url-list", "wrong-shapes"],
)
def test_console_script_never_shows_a_traceback_on_malformed_resources(fhirrug_exe, tmp_path, mangle):
    data = json.loads(FAQ.read_text(encoding="utf-8"))
    mangle(data)
    bad = tmp_path / "Questionnaire-kapot.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    # with a CodeSystem beside it, so that Codings are looked up (where the traceback was)
    tekstbron = json.loads((REPO / "valuesets" / "CodeSystem-tekstbron.json").read_text(encoding="utf-8"))
    tekstbron["concept"].append({"code": ["x"], "display": "y"})
    (tmp_path / "CodeSystem-tekstbron.json").write_text(json.dumps(tekstbron), encoding="utf-8")
    result = _console(fhirrug_exe, "--lang", "en", "--out", tmp_path / "out", bad, tmp_path / "CodeSystem-tekstbron.json", cwd=tmp_path)
    assert result.returncode in (exitcodes.OK, exitcodes.USAGE)
