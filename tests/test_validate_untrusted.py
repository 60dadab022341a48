"""`fhirrug validate` on untrusted JSON: rules that crashed on lists and objects where strings
belong (`fhirrug-response`, `fhirrug-translation-invalid`), findings without a location, one
failing rule contained to itself, and a bound on the values of one file (time per file)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from fhirrug.cli import main
from fhirrug.jsonio import MAX_FILE_BYTES, parse_bytes

ROOT = Path(__file__).resolve().parents[1]
RESPONSE = json.loads((ROOT / "examples" / "QuestionnaireResponse-zelfdiagnose-lijst3-1.json").read_text(encoding="utf-8"))
QUESTIONNAIRE = json.loads((ROOT / "questionnaires" / "Questionnaire-ischias-faq.json").read_text(encoding="utf-8"))


def validate(*paths):
    result = CliRunner().invoke(main, ["validate", "--format", "json", *map(str, paths)])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)["issues"]


@pytest.fixture
def project(tmp_path):
    """A copy of this package, so that a response finds its Questionnaire."""
    import shutil

    shutil.copy(ROOT / "fhirrug.toml", tmp_path / "fhirrug.toml")
    for folder in ("definitions", "questionnaires", "valuesets", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("invalid"))
    return tmp_path


def _write(project: Path, folder: str, name: str, data) -> Path:
    path = project / folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("value", [["lijst3"], {"a": 1}])
@pytest.mark.parametrize("where", ["linkId", "system"])
def test_response_rule_on_a_list_or_object_where_a_string_belongs(project, where, value):
    response = copy.deepcopy(RESPONSE)
    if where == "linkId":
        response["item"][1]["linkId"] = value
        expected = ("fhirrug-qr-structure", "QuestionnaireResponse.item[1].linkId")
    else:
        answer = response["item"][2]["answer"][0]
        answer["valueCoding"]["system"] = value
        expected = ("fhirrug-qr-value", "QuestionnaireResponse.item[2].answer[0].value.ofType(Coding).system")
    path = _write(project, "examples", "QuestionnaireResponse-zelfdiagnose-lijst3-1.json", response)
    code, issues = validate(path)
    assert code == 1
    assert "fhirrug-internal-error" not in {i["code"] for i in issues}
    assert expected in {(i["code"], i["expression"]) for i in issues}
    assert all(i["file"] and i["expression"] for i in issues)


@pytest.mark.parametrize("url", [["lang"], {"x": "lang"}, 5])
def test_translation_rule_on_a_part_url_that_is_not_a_string(project, url):
    questionnaire = copy.deepcopy(QUESTIONNAIRE)
    parts = questionnaire["_title"]["extension"][0]["extension"]
    parts[0]["url"] = url
    path = _write(project, "questionnaires", "Questionnaire-ischias-faq.json", questionnaire)
    code, issues = validate(path)
    assert "fhirrug-internal-error" not in {i["code"] for i in issues}
    found = {(i["code"], i["expression"]) for i in issues}
    if isinstance(url, str):
        return
    assert ("fhirrug-translation-invalid", "Questionnaire.title.extension[0].extension[0].url") in found
    assert all(i["file"] and i["expression"] for i in issues)


def test_missing_resource_type_is_located(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"status": "draft"}', encoding="utf-8")
    _, issues = validate(path)
    assert [(i["code"], i["expression"]) for i in issues] == [("fhirrug-resource-type-missing", "resourceType")]


def test_a_failing_rule_is_contained_and_located(project):
    from dataclasses import replace

    from fhirrug.rules import all_rules
    from fhirrug.validate.pipeline import validate_paths

    def boom(*args):
        yield from ()
        raise RuntimeError("simulated bug")

    rules = [replace(r, check=boom) if r.id in ("que-2", "fhirrug-canonical-duplicate") else r for r in all_rules()]
    questionnaire = copy.deepcopy(QUESTIONNAIRE)
    questionnaire["status"] = "bogus"  # a finding of another stage, still reported
    path = _write(project, "questionnaires", "Questionnaire-ischias-faq.json", questionnaire)
    issues = validate_paths([path], rules=rules).issues
    internal = sorted((Path(i.file).name, i.expression, i.message.split(" failed")[0]) for i in issues if i.code == "fhirrug-internal-error")
    assert internal == [("Questionnaire-ischias-faq.json", "Questionnaire", "rule que-2"), ("fhirrug.toml", "", "rule fhirrug-canonical-duplicate")]
    assert "Terminology_TX_NoValid_16" in {i.code for i in issues}


def test_a_resource_of_too_many_values_is_refused_before_the_stages(tmp_path):
    # 20 MB of `[0,0,...]` is 10 million values, each checked by every stage: minutes for one file.
    # The value limit bounds the time per file as the byte limit bounds memory.
    subject = ",".join(["0"] * 300_000)
    raw = ('{"resourceType": "Questionnaire", "status": "draft", "subjectType": [' + subject + "]}").encode()
    assert len(raw) < MAX_FILE_BYTES
    data, issues = parse_bytes(raw, "big.json")
    assert data is None and [(i.code, i.file) for i in issues] == [("fhirrug-file-too-large", "big.json")]
    path = tmp_path / "big.json"
    path.write_bytes(raw)
    code, found = validate(path)
    assert code == 1 and [i["code"] for i in found] == ["fhirrug-file-too-large"]
    # the package's largest resource is far below the limit
    biggest = (ROOT / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json").read_bytes()
    assert parse_bytes(biggest, "q.json")[1] == []


def _overlaps_reference(a: str, b: str) -> bool:
    """One location is the other or lies inside it (`x.item[0]` and `x.item[0].linkId`)."""
    if a == b:
        return True
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return long.startswith(short) and long[len(short)] in ".["


LOCATIONS = ["", "Q", "Q.item", "Q.item[0]", "Q.item[0].linkId", "Q.item[1]", "Q.item[10]", "Q.ite", ".x", "[0]", "Q.item[0].answer[0].valueCoding", "Q.itemx", "Q.item[0]x"]


@given(st.lists(st.sampled_from(LOCATIONS), max_size=6), st.sampled_from(LOCATIONS))
def test_model_stage_overlap_index_answers_as_the_pairwise_check(reported, where):
    # The model stage leaves out what schema and bindings reported at, inside or around the same
    # place. It compared each model error with each finding: 9 s for one response of 10,000 bad
    # items (20,000 findings x 10,000 errors), most of a batch of 50 mutated files taking 30 s.
    from fhirrug.validate.model import _Reported

    assert _Reported(reported).overlaps(where) == any(_overlaps_reference(where, other) for other in reported)


@pytest.mark.parametrize("prop", [1.5, {"code": "letterlijk"}, "letterlijk"])
@pytest.mark.parametrize("code", ["ours", ["a", "list"]])
def test_verbatim_rule_on_a_concept_property_that_is_no_array(project, prop, code):
    # The long fuzz run: `CodeSystem.concept[1].property` a number made fhirrug-verbatim crash
    # (an internal error instead of the schema's finding).
    import shutil

    shutil.copytree(ROOT / "sources", project / "sources")
    path = project / "valuesets" / "CodeSystem-tekstbron.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["concept"][1]["property"] = prop
    data["concept"][0]["code"] = code
    _write(project, "valuesets", path.name, data)
    _, issues = validate(project)
    assert [i for i in issues if i["code"] == "fhirrug-internal-error"] == []
    assert any(i["file"].endswith(path.name) and i["expression"].startswith("CodeSystem.concept[1].property") for i in issues)
