"""fhirrug.tekstbron: which mark applies to a text, and the rule fhirrug-verbatim and the review
site reading it alike."""

from __future__ import annotations

from fhirrug.rules.verbatim import claims
from fhirrug.site.texts import Languages
from fhirrug.tekstbron import TEKSTBRON_URL, Mark, mark, text_mark

SYSTEM = "https://fhir.fhirrug.nl/CodeSystem/tekstbron"


def _marked(code: str, **extra) -> dict:
    return {"extension": [{"url": TEKSTBRON_URL, "valueCoding": {"system": SYSTEM, "code": code, "display": code.upper()}}], **extra}


def test_the_primitive_wins_over_its_holder_and_the_holder_over_its_owners():
    holder = {"display": "x", "_display": _marked("primitive"), **_marked("holder")}
    assert text_mark(holder, "display", _marked("owner")).code == "primitive"
    del holder["_display"]
    assert text_mark(holder, "display", _marked("owner")).code == "holder"
    assert text_mark({"display": "x"}, "display", None, _marked("owner")) == Mark("owner", SYSTEM, "OWNER")
    assert text_mark({"display": "x"}, "display") is None


def test_only_a_tekstbron_coding_with_a_code_is_a_mark():
    assert mark({"extension": [{"url": "https://example.org/other", "valueCoding": {"code": "fhirrug"}}]}) is None
    assert mark({"extension": [{"url": TEKSTBRON_URL, "valueCoding": {"display": "no code"}}]}) is None
    assert mark({"extension": [{"url": TEKSTBRON_URL, "valueString": "fhirrug"}]}) is None
    assert mark("not an element") is None and mark(None) is None
    found = mark({"extension": [{"url": TEKSTBRON_URL, "valueCoding": {"code": "fhirrug", "system": 3}}]})
    assert found == Mark("fhirrug") and found.ours


def test_the_rule_and_the_site_attribute_every_text_to_the_same_source():
    """A Questionnaire with marks on every level: each text the rule checks has the source the site shows."""
    questionnaire = _marked("main", resourceType="Questionnaire", item=[
        {"linkId": "a", "type": "display", "text": "unmarked"},
        {"linkId": "b", "type": "display", "text": "primitive", "_text": _marked("b-text")},
        _marked("c-item", linkId="c", type="choice", text="on the item", answerOption=[
            {"valueCoding": {"code": "1", "display": "on the option"}, **_marked("option")},
            {"valueCoding": {"code": "2", "display": "on the coding", **_marked("coding")}},
            {"valueCoding": {"code": "3", "display": "on its display", "_display": _marked("display")}, **_marked("option")},
            {"valueCoding": {"code": "4", "display": "unmarked option"}},
        ], item=[{"linkId": "c.1", "type": "display", "text": "nested: not the parent's"}]),
    ])
    languages = Languages("nl-NL", ())
    site = {}

    def visit(items, path):
        for i, item in enumerate(items):
            here = f"{path}.item[{i}]"
            site[f"{here}.text"] = languages.text(item, "text").source
            for j, option in enumerate(item.get("answerOption", [])):
                site[f"{here}.answerOption[{j}].valueCoding.display"] = languages.text(option["valueCoding"], "display", option).source
            visit(item.get("item", []), here)

    visit(questionnaire["item"], "Questionnaire")
    found = {c.expression: c.code for c in claims(questionnaire)}
    assert found.keys() == site.keys()
    # the site shows an unmarked text as the main source's; the rule attributes it to the resource's mark
    assert {k: (m.code if m else "main") for k, m in site.items()} == found
    assert found["Questionnaire.item[2].answerOption[0].valueCoding.display"] == "option"
    assert found["Questionnaire.item[2].answerOption[2].valueCoding.display"] == "display"
    assert found["Questionnaire.item[2].item[0].text"] == "main"
