"""The model layer (fhirrug.model): what every reader of a Questionnaire relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhirrug.model import MAX_DEPTH, build, model_for
from fhirrug.model.compare import never
from fhirrug.package import Package, Resource


def _q(*items):
    return {"resourceType": "Questionnaire", "url": "http://example.org/Questionnaire/m", "status": "draft", "item": list(items)}


def _item(link_id, kind="boolean", *children, **extra):
    out = {"linkId": link_id, "type": kind, "text": link_id, **extra}
    if children:
        out["item"] = list(children)
    return out


def _when(question, operator="=", **answer):
    return {"question": question, "operator": operator, **answer}


def test_items_in_document_order_with_paths_parents_and_a_first_wins_index():
    model = build(_q(_item("g", "group", _item("a"), _item("b")), _item("c"), _item("a")))
    assert [(i.index, i.link_id, i.path) for i in model.items] == [
        (0, "g", "Questionnaire.item[0]"), (1, "a", "Questionnaire.item[0].item[0]"),
        (2, "b", "Questionnaire.item[0].item[1]"), (3, "c", "Questionnaire.item[1]"), (4, "a", "Questionnaire.item[2]"),
    ]
    assert model.by_link_id["a"] is model.items[1]
    assert [i.path for i in model.duplicates["a"]] == ["Questionnaire.item[0].item[0]", "Questionnaire.item[2]"]
    b = model.items[2]
    assert b.parent is model.items[0] and list(b.ancestors()) == [model.items[0]] and b.lineage == (model.items[0],)
    assert [i.link_id for i in model.items[0].descendants()] == ["a", "b"]
    assert ("duplicate-linkId", model.items[4], "Questionnaire.item[2]") in model.notes


def test_conditions_resolve_their_target_and_compile_their_test():
    model = build(_q(_item("a"), _item("b", enableWhen=[_when("a", answerBoolean=True), _when("zz", "!=", answerBoolean=True)], enableBehavior="any")))
    first, second = model.items[1].conditions
    assert first.target is model.items[0] and first.problems == () and first.problem is None
    assert first.test([{"valueBoolean": True}]) is True and first.test([]) is False
    assert second.target is None and second.problems == ("no-target",) and second.test([]) is True  # != without answers holds
    assert model.items[1].any


@pytest.mark.parametrize(
    ("when", "problems"),
    [
        (_when("b", answerBoolean=True), ("self",)),
        (_when("a", "==", answerBoolean=True), ("operator",)),
        ({"question": "a", "answerBoolean": True}, ("no-operator",)),
        (_when("a"), ("no-answer",)),
        (_when("a", answerBoolean=True, answerString="x"), ("answers",)),
        (_when("a", "exists", answerString="x"), ("exists-not-boolean",)),
        (_when("a", ">", answerBoolean=True), ("not-orderable",)),
        (_when("a", answerString="ja"), ("type",)),
        (_when("later", answerBoolean=True), ("after",)),
    ],
)
def test_condition_problems(when, problems):
    model = build(_q(_item("a"), _item("b", enableWhen=[when]), _item("later")))
    [condition] = model.items[1].conditions
    assert condition.problems == problems
    assert (condition.test is never) == condition.broken


def test_a_condition_on_an_inner_item():
    model = build(_q(_item("g", "group", _item("x"), enableWhen=[_when("x", answerBoolean=True)])))
    [condition] = model.items[0].conditions
    assert condition.problems == ("inner",) and condition.target is model.items[1] and condition.checked_target is None


def test_typed_answers_compare_numbers_across_integer_and_decimal():
    model = build(_q(_item("n", "integer"), _item("b", enableWhen=[_when("n", answerDecimal=2.0)])))
    [condition] = model.items[1].conditions
    assert condition.value == ("number", 2.0)
    assert condition.matches({"valueInteger": 2}) is True and condition.matches({"valueInteger": 3}) is False


def test_options():
    options = [{"valueCoding": {"system": "s", "code": "x"}}, {"valueCoding": {"code": "y"}}, {"valueInteger": 3}, "junk", {"valueString": ["unhashable"]}]
    [item] = build(_q(_item("c", "choice", answerOption=options))).items
    assert item.options.codings == {("s", "x")} and item.options.codes == {"y"}
    assert item.options.values == {("valueInteger", 3)} and item.options.keys == ("valueCoding", "valueInteger")
    assert item.options.coding_dicts() == [{"system": "s", "code": "x"}, {"code": "y"}]


def test_outcome_is_a_titled_coded_group_around_display_text_or_a_coded_display_item():
    code = [{"system": "http://example.org/cs", "code": "7", "display": "Zeven"}]
    model = build(_q(
        _item("uitkomst", "group", _item("uitkomst.tekst", "display"), code=code),
        {"linkId": "pointer", "type": "group", "code": code, "item": [_item("pointer.tekst", "display")]},  # no text: a cross-reference
        _item("sectie", "group", _item("vraag"), code=code),  # holds a question
        _item("oud", "display", code=code),  # que-3 forbids it; still honoured
    ))
    assert [(i.link_id, o["code"]) for i, o in model.outcomes()] == [("uitkomst", "7"), ("oud", "7")]
    assert model.outcomes(codesystems={"http://example.org/other"}) == []


def test_malformed_shapes_are_notes_never_exceptions():
    model = build(_q(_item("a", enableWhen={"question": "x"}), 5, {"type": "boolean"}, _item("z", "bogus", item="x")))
    kinds = [kind for kind, _, _ in model.notes]
    assert kinds == ["item-not-an-object", "no-linkId", "item-type", "item-not-a-list"]
    assert model.items[0].conditions == []
    for garbage in (None, [], "x", {"item": {"linkId": "a"}}):
        build(garbage)


def test_deep_nesting_is_cut_and_noted_without_recursion():
    node = _item("leaf")
    for k in range(MAX_DEPTH + 50):
        node = _item(f"g{k}", "group", node)
    model = build(_q(node))
    assert len(model.items) == MAX_DEPTH
    assert [kind for kind, _, _ in model.notes] == ["too-deep"]


def test_the_model_is_kept_with_the_package_and_forgotten_on_request():
    questionnaire = _q(_item("a"))
    package = Package(manifest=None, resources=[Resource(Path("Questionnaire-m.json"), questionnaire)])
    model = model_for(questionnaire, package)
    assert model_for(questionnaire, package) is model
    assert model_for(questionnaire) is not model  # no package: nothing kept anywhere
    package.forget()
    assert model_for(questionnaire, package) is not model
