"""Every resource rule (stage 5) on a fixture that fails it and one that passes, by (code, expression).

CASES is the table the meta-test reads: (rule id, resource, expected expressions); an empty
set of expressions is a passing fixture.
"""

from __future__ import annotations

import pytest

from ._helpers import CANONICAL, choice, coding, package, question, questionnaire, run, when

Q = "Questionnaire"


def _q(*items, **fields):
    return lambda: questionnaire(*items, **fields)


def _display(link_id, **fields):
    return {"linkId": link_id, "type": "display", "text": link_id, **fields}


def _group(link_id, *items, **fields):
    return {"linkId": link_id, "type": "group", "text": link_id, "item": list(items), **fields}


def _vs(**fields):
    return lambda: {"resourceType": "ValueSet", "id": "vs", "url": f"{CANONICAL}/ValueSet/vs", "status": "draft", **fields}


def _cs(**fields):
    return lambda: {"resourceType": "CodeSystem", "id": "cs", "url": f"{CANONICAL}/CodeSystem/cs", "status": "draft", "content": "complete", **fields}


def _cm(**fields):
    return lambda: {"resourceType": "ConceptMap", "id": "cm", "url": f"{CANONICAL}/ConceptMap/cm", "status": "draft", **fields}


def _qr(*items, **fields):
    return lambda: {"resourceType": "QuestionnaireResponse", "id": "qr", "status": "completed", **fields, "item": list(items)}


def _include(**fields):
    return {"compose": {"include": [fields]}}


SYSTEM = f"{CANONICAL}/CodeSystem/cs"

# (rule id, fixture factory, expected expressions) — factories so each test gets fresh dicts.
CASES = [
    # que-0: name is computer-usable
    ("que-0", _q(question("a"), name="lage rugpijn"), {Q}),
    ("que-0", _q(question("a"), name="LageRugpijn_2"), set()),
    # que-1: groups have items, display items have none
    ("que-1", _q({"linkId": "g", "type": "group", "text": "g"}, _display("d", item=[question("x")])), {f"{Q}.item[0]", f"{Q}.item[1]"}),
    ("que-1", _q(_group("g", question("a")), _display("d")), set()),
    # que-2: linkIds unique across the whole Questionnaire (nested too)
    ("que-2", _q(question("a"), _group("g", question("a"))), {Q}),
    ("que-2", _q(question("a"), _group("g", question("b"))), set()),
    # que-3: display items have no code
    ("que-3", _q(_display("d", code=[coding("x")])), {f"{Q}.item[0]"}),
    ("que-3", _q(_display("d"), question("a", code=[coding("x")])), set()),
    # que-4: answerOption or answerValueSet, not both
    ("que-4", _q(choice("c", "a", answerValueSet=f"{CANONICAL}/ValueSet/vs")), {f"{Q}.item[0]"}),
    ("que-4", _q(question("c", "choice", answerValueSet=f"{CANONICAL}/ValueSet/vs")), set()),
    # que-5: answer lists only on types they can constrain (R4 lets integer items have answerOption)
    ("que-5", _q(question("b", "boolean", answerOption=[{"valueString": "ja"}])), {f"{Q}.item[0]"}),
    ("que-5", _q(question("n", "integer", answerOption=[{"valueInteger": 1}]), choice("c", "a")), set()),
    # que-6: no required/repeats on display items, not even false
    ("que-6", _q(_display("d", required=False)), {f"{Q}.item[0]"}),
    ("que-6", _q(_display("d"), question("a", required=True, repeats=False)), set()),
    # que-7: operator exists takes answerBoolean
    ("que-7", _q(choice("a", "x"), question("b", enableWhen=[when("a", "exists", answerCoding=coding("x"))])), {f"{Q}.item[1].enableWhen[0]"}),
    ("que-7", _q(choice("a", "x"), question("b", enableWhen=[when("a", "exists", answerBoolean=True)])), set()),
    # que-8: no initial on group/display
    ("que-8", _q(_group("g", question("a"), initial=[{"valueString": "x"}])), {f"{Q}.item[0]"}),
    ("que-8", _q(question("a", initial=[{"valueString": "x"}])), set()),
    # que-9: no readOnly on display
    ("que-9", _q(_display("d", readOnly=True)), {f"{Q}.item[0]"}),
    ("que-9", _q(question("a", readOnly=True)), set()),
    # que-10: maxLength only for simple types
    ("que-10", _q(choice("c", "a", maxLength=10)), {f"{Q}.item[0]"}),
    ("que-10", _q(question("a", "string", maxLength=10), question("o", "open-choice", maxLength=5)), set()),
    # que-11: answerOption and initial exclude each other
    ("que-11", _q(choice("c", "a", initial=[{"valueCoding": coding("a")}])), {f"{Q}.item[0]"}),
    ("que-11", _q({**choice("c", "a"), "answerOption": [{"valueCoding": coding("a"), "initialSelected": True}]}), set()),
    # que-12 (corrected to count() > 1): several enableWhen need enableBehavior
    ("que-12", _q(question("a"), question("b"), question("c", enableWhen=[when("a", "exists", answerBoolean=True), when("b", "exists", answerBoolean=True)])), {f"{Q}.item[2]"}),
    ("que-12", _q(question("a"), question("b"), question("c", enableBehavior="any", enableWhen=[when("a", "exists", answerBoolean=True), when("b", "exists", answerBoolean=True)]), question("d", enableWhen=[when("a", "exists", answerBoolean=True)])), set()),
    # que-13: several initial values only on repeating items
    ("que-13", _q(question("a", initial=[{"valueString": "x"}, {"valueString": "y"}])), {f"{Q}.item[0]"}),
    ("que-13", _q(question("a", repeats=True, initial=[{"valueString": "x"}, {"valueString": "y"}])), set()),
    # enableWhen target exists
    # (fhirrug-enablewhen-target-missing before 0.2: one code per problem across commands, issue 17)
    ("Questionnaire_Q_EnableWhen_NoTarget", _q(question("a"), question("b", enableWhen=[when("zzz", "exists", answerBoolean=True)])), {f"{Q}.item[1]"}),
    ("Questionnaire_Q_EnableWhen_NoTarget", _q(question("a"), question("b", enableWhen=[when("a", "exists", answerBoolean=True)])), set()),
    # exactly one answer[x] of an R4 type
    ("fhirrug-enablewhen-answer", _q(question("a", "boolean"), question("b", enableWhen=[when("a", answerBoolean=True, answerString="ja")]), question("c", enableWhen=[when("a", answerUri="x")])), {f"{Q}.item[1].enableWhen[0]", f"{Q}.item[2].enableWhen[0]"}),
    ("fhirrug-enablewhen-answer", _q(question("a", "boolean"), question("b", enableWhen=[when("a", answerBoolean=True)]), question("c", enableWhen=[when("a", "=")])), set()),
    # the abstract item type 'question'
    ("fhirrug-item-type-abstract", _q(question("a", "question"), question("b", "boolean")), {f"{Q}.item[0].type"}),
    ("fhirrug-item-type-abstract", _q(question("a", "string"), _group("g", question("b", "boolean"))), set()),
    # enableWhen on the item itself
    ("Questionnaire_Q_EnableWhen_Self", _q(question("a"), question("b", enableWhen=[when("b", "exists", answerBoolean=True)])), {f"{Q}.item[1]"}),
    ("Questionnaire_Q_EnableWhen_Self", _q(question("a"), question("b", enableWhen=[when("a", "exists", answerBoolean=True)])), set()),
    # enableWhen on a question nested inside the item
    ("Questionnaire_Q_EnableWhen_IsInner", _q(question("a"), _group("g", _group("g2", question("inner")), enableWhen=[when("inner", "exists", answerBoolean=True)])), {f"{Q}.item[1]"}),
    ("Questionnaire_Q_EnableWhen_IsInner", _q(question("a"), _group("g", question("inner"), enableWhen=[when("a", "exists", answerBoolean=True)])), set()),
    # enableWhen target after the item (a warning); an ancestor target is fine
    ("Questionnaire_Q_EnableWhen_After", _q(question("b", enableWhen=[when("a", "exists", answerBoolean=True)]), question("a")), {f"{Q}.item[0]"}),
    ("Questionnaire_Q_EnableWhen_After", _q(question("a"), question("b", enableWhen=[when("a", "exists", answerBoolean=True)])), set()),
    # ordering operators on unordered values
    ("fhirrug-enablewhen-operator-type", _q(choice("a", "x"), question("b", enableWhen=[when("a", ">", answerCoding=coding("x"))])), {f"{Q}.item[1].enableWhen[0].operator"}),
    ("fhirrug-enablewhen-operator-type", _q(question("a", "boolean"), question("b", enableWhen=[when("a", ">=", answerBoolean=True)])), {f"{Q}.item[1].enableWhen[0].operator"}),
    ("fhirrug-enablewhen-operator-type", _q(question("a", "integer"), question("b", enableWhen=[when("a", ">", answerInteger=3)])), set()),
    # answer[x] type fits the target question
    ("fhirrug-enablewhen-answer-type", _q(question("a", "boolean"), question("b", enableWhen=[when("a", answerString="ja")])), {f"{Q}.item[1].enableWhen[0].answerString"}),
    ("fhirrug-enablewhen-answer-type", _q(_group("a", question("x")), question("b", enableWhen=[when("a", "exists", answerBoolean=True)])), {f"{Q}.item[1].enableWhen[0].question"}),
    ("fhirrug-enablewhen-answer-type", _q(question("n", "integer", answerOption=[{"valueInteger": 1}]), question("b", enableWhen=[when("n", answerCoding=coding("1"))])), {f"{Q}.item[1].enableWhen[0].answerCoding"}),
    ("fhirrug-enablewhen-answer-type", _q(question("a", "string"), question("b", enableWhen=[when("a", "=")])), {f"{Q}.item[1].enableWhen[0]"}),
    ("fhirrug-enablewhen-answer-type", _q(question("a", "boolean"), question("d", "decimal"), question("o", "open-choice"), question("b", enableBehavior="all", enableWhen=[when("a", answerBoolean=True), when("d", ">", answerInteger=2), when("o", answerString="anders")])), set()),
    # answerCoding among the target's answerOption
    ("fhirrug-enablewhen-answer-not-offered", _q(choice("a", "x", "y"), question("b", enableWhen=[when("a", answerCoding=coding("z"))])), {f"{Q}.item[1].enableWhen[0].answerCoding"}),
    ("fhirrug-enablewhen-answer-not-offered", _q(choice("a", "x", "y"), question("b", enableWhen=[when("a", answerCoding=coding("x"))]), question("c", enableWhen=[when("a", answerCoding={"code": "y"})])), set()),
    # enableWhen cycles, directly and through a group
    ("fhirrug-enablewhen-cycle", _q(question("a", enableWhen=[when("b", "exists", answerBoolean=True)]), question("b", enableWhen=[when("a", "exists", answerBoolean=True)])), {f"{Q}.item[0]"}),
    ("fhirrug-enablewhen-cycle", _q(_group("g", question("inner"), enableWhen=[when("q", "exists", answerBoolean=True)]), question("q", enableWhen=[when("inner", "exists", answerBoolean=True)])), {f"{Q}.item[0]"}),
    ("fhirrug-enablewhen-cycle", _q(question("a"), question("b", enableWhen=[when("a", "exists", answerBoolean=True)]), question("c", enableWhen=[when("b", "exists", answerBoolean=True)])), set()),
    # items no combination of answers enables
    ("fhirrug-item-never-enabled", _q(choice("a", "x", "y"), question("b", enableBehavior="all", enableWhen=[when("a", answerCoding=coding("x")), when("a", answerCoding=coding("y"))])), {f"{Q}.item[1]"}),
    ("fhirrug-item-never-enabled", _q(choice("a", "x", "y", repeats=True), question("b", enableBehavior="all", enableWhen=[when("a", answerCoding=coding("x")), when("a", answerCoding=coding("y"))])), set()),
    ("fhirrug-item-never-enabled", _q(choice("a", "x", "y"), question("b", enableWhen=[when("a", answerCoding=coding("z"))])), {f"{Q}.item[1]"}),
    ("fhirrug-item-never-enabled", _q(question("a", "boolean"), question("b", enableBehavior="all", enableWhen=[when("a", answerBoolean=True), when("a", answerBoolean=False)])), {f"{Q}.item[1]"}),
    ("fhirrug-item-never-enabled", _q(question("a"), question("b", enableBehavior="all", enableWhen=[when("a", "exists", answerBoolean=True), when("a", "exists", answerBoolean=False)])), {f"{Q}.item[1]"}),
    ("fhirrug-item-never-enabled", _q(question("n", "integer"), question("b", enableBehavior="all", enableWhen=[when("n", ">", answerInteger=5), when("n", "<", answerInteger=3)])), {f"{Q}.item[1]"}),
    ("fhirrug-item-never-enabled", _q(question("n", "integer"), question("b", enableBehavior="all", enableWhen=[when("n", ">", answerInteger=5), when("n", "<", answerInteger=10)])), set()),
    # depending on an item that is never enabled; the dead group's children are not reported again
    (
        "fhirrug-item-never-enabled",
        _q(choice("a", "x", "y"), _group("g", question("b"), enableBehavior="all", enableWhen=[when("a", answerCoding=coding("x")), when("a", answerCoding=coding("y"))]), question("c", enableWhen=[when("b", "exists", answerBoolean=True)])),
        {f"{Q}.item[1]", f"{Q}.item[2]"},
    ),
    ("fhirrug-item-never-enabled", _q(choice("a", "x", "y"), question("b", enableBehavior="any", enableWhen=[when("a", answerCoding=coding("z")), when("a", answerCoding=coding("y"))]), question("c", enableWhen=[when("a", "!=", answerCoding=coding("x"))])), set()),
    # qrs-1: answer or items, not both
    ("qrs-1", _qr({"linkId": "a", "answer": [{"valueString": "x", "item": [{"linkId": "b", "answer": [{"valueString": "y"}], "item": [{"linkId": "c"}]}]}], "item": [{"linkId": "d"}]}), {"QuestionnaireResponse.item[0]", "QuestionnaireResponse.item[0].answer[0].item[0]"}),
    ("qrs-1", _qr({"linkId": "a", "answer": [{"valueString": "x", "item": [{"linkId": "b", "answer": [{"valueString": "y"}]}]}]}, {"linkId": "g", "item": [{"linkId": "c", "answer": [{"valueBoolean": True}]}]}), set()),
    # qrs-2: repeated answers in one item
    ("qrs-2", _qr({"linkId": "a", "answer": [{"valueString": "x"}]}, {"linkId": "a", "answer": [{"valueString": "y"}]}), {"QuestionnaireResponse.item[1]"}),
    ("qrs-2", _qr({"linkId": "g", "item": [{"linkId": "a", "answer": [{"valueString": "x"}]}]}, {"linkId": "g", "item": [{"linkId": "a", "answer": [{"valueString": "y"}]}]}), set()),
    # ValueSet
    ("vsd-0", _vs(name="rug pijn"), {"ValueSet"}),
    ("vsd-0", _vs(name="RugPijn"), set()),
    ("vsd-1", _vs(compose={"include": [{"concept": []}], "exclude": [{}]}), {"ValueSet.compose.include[0]", "ValueSet.compose.exclude[0]"}),
    ("vsd-1", _vs(**_include(system=SYSTEM)), set()),
    ("vsd-2", _vs(**_include(valueSet=[f"{CANONICAL}/ValueSet/other"], concept=[{"code": "a"}])), {"ValueSet.compose.include[0]"}),
    ("vsd-2", _vs(**_include(system=SYSTEM, concept=[{"code": "a"}])), set()),
    ("vsd-3", _vs(**_include(system=SYSTEM, concept=[{"code": "a"}], filter=[{"property": "concept", "op": "is-a", "value": "a"}])), {"ValueSet.compose.include[0]"}),
    ("vsd-3", _vs(**_include(system=SYSTEM, filter=[{"property": "concept", "op": "is-a", "value": "a"}])), set()),
    ("vsd-6", _vs(expansion={"timestamp": "2026-11-25", "contains": [{"abstract": True, "contains": [{"system": SYSTEM}]}]}), {"ValueSet.expansion.contains[0]", "ValueSet.expansion.contains[0].contains[0]"}),
    ("vsd-6", _vs(expansion={"timestamp": "2026-11-25", "contains": [{"abstract": True, "display": "kop", "contains": [{"system": SYSTEM, "code": "a"}]}]}), set()),
    ("vsd-9", _vs(expansion={"timestamp": "2026-11-25", "contains": [{"display": "kop"}]}), {"ValueSet.expansion.contains[0]"}),
    ("vsd-9", _vs(expansion={"timestamp": "2026-11-25", "contains": [{"display": "kop", "abstract": True}]}), set()),
    ("vsd-10", _vs(expansion={"timestamp": "2026-11-25", "contains": [{"code": "a"}]}), {"ValueSet.expansion.contains[0]"}),
    ("vsd-10", _vs(expansion={"timestamp": "2026-11-25", "contains": [{"code": "a", "system": SYSTEM}]}), set()),
    # CodeSystem
    ("csd-0", _cs(name="rug-pijn"), {"CodeSystem"}),
    ("csd-0", _cs(name="RugPijn"), set()),
    ("csd-1", _cs(concept=[{"code": "a", "concept": [{"code": "a"}]}, {"code": "b"}, {"code": "b"}]), {"CodeSystem.concept[0].concept[0].code", "CodeSystem.concept[2].code"}),
    ("csd-1", _cs(concept=[{"code": "a", "concept": [{"code": "a1"}]}, {"code": "b"}]), set()),
    ("fhirrug-codesystem-count", _cs(count=2, concept=[{"code": "a", "concept": [{"code": "a1"}]}, {"code": "b"}]), {"CodeSystem.count"}),
    ("fhirrug-codesystem-count", _cs(count=3, concept=[{"code": "a", "concept": [{"code": "a1"}]}, {"code": "b"}]), set()),
    ("fhirrug-codesystem-content", _cs(content="not-present", concept=[{"code": "a"}]), {"CodeSystem.content"}),
    ("fhirrug-codesystem-content", _cs(concept=[]), {"CodeSystem.content"}),
    ("fhirrug-codesystem-content", _cs(content="supplement"), {"CodeSystem.content"}),
    ("fhirrug-codesystem-content", _cs(concept=[{"code": "a"}]), set()),
    ("fhirrug-codesystem-property", _cs(property=[{"code": "rang", "type": "integer"}], concept=[{"code": "a", "property": [{"code": "rang", "valueString": "1"}], "concept": [{"code": "a1", "property": [{"code": "kleur", "valueCode": "rood"}]}]}]), {"CodeSystem.concept[0].property[0].valueString", "CodeSystem.concept[0].concept[0].property[0].code"}),
    ("fhirrug-codesystem-property", _cs(property=[{"code": "rang", "type": "integer"}, {"code": "bron", "type": "Coding"}], concept=[{"code": "a", "property": [{"code": "rang", "valueInteger": 1}, {"code": "bron", "valueCoding": coding("x")}]}]), set()),
    # ConceptMap
    ("cmd-0", _cm(name="map naar snomed"), {"ConceptMap"}),
    ("cmd-0", _cm(name="MapNaarSnomed"), set()),
    ("cmd-1", _cm(group=[{"element": [{"code": "a", "target": [{"code": "1", "equivalence": "narrower"}]}]}]), {"ConceptMap.group[0].element[0].target[0]"}),
    ("cmd-1", _cm(group=[{"element": [{"code": "a", "target": [{"code": "1", "equivalence": "inexact", "comment": "ruimer"}, {"code": "2", "equivalence": "equivalent"}]}]}]), set()),
    ("cmd-2", _cm(group=[{"element": [], "unmapped": {"mode": "fixed"}}]), {"ConceptMap.group[0].unmapped"}),
    ("cmd-2", _cm(group=[{"element": [], "unmapped": {"mode": "fixed", "code": "x"}}]), set()),
    ("cmd-3", _cm(group=[{"element": [], "unmapped": {"mode": "other-map"}}]), {"ConceptMap.group[0].unmapped"}),
    ("cmd-3", _cm(group=[{"element": [], "unmapped": {"mode": "other-map", "url": f"{CANONICAL}/ConceptMap/other"}}]), set()),
]


@pytest.mark.parametrize(("rule_id", "factory", "expressions"), CASES, ids=[f"{c[0]}-{'fails' if c[2] else 'passes'}-{i}" for i, c in enumerate(CASES)])
def test_resource_rule(rule_id, factory, expressions):
    assert run(rule_id, factory()) == {(rule_id, e) for e in expressions}


# --- enableWhen rules that consult the package ---------------------------------------------------


def _answer_valueset_package(enable_code: str):
    cs = {"resourceType": "CodeSystem", "id": "cs", "url": SYSTEM, "version": "0.1.0", "status": "draft", "content": "complete", "concept": [{"code": "x"}, {"code": "y"}]}
    vs = {"resourceType": "ValueSet", "id": "vs", "url": f"{CANONICAL}/ValueSet/vs", "version": "0.1.0", "status": "draft", "compose": {"include": [{"system": SYSTEM}]}}
    q = questionnaire(
        question("a", "choice", answerValueSet=f"{CANONICAL}/ValueSet/vs|0.1.0"),
        question("b", enableWhen=[when("a", answerCoding=coding(enable_code))]),
    )
    return q, package(cs, vs, q)


def test_answer_not_offered_looks_into_an_answer_value_set_of_the_package():
    q, pkg = _answer_valueset_package("z")
    assert run("fhirrug-enablewhen-answer-not-offered", q, pkg) == {("fhirrug-enablewhen-answer-not-offered", "Questionnaire.item[1].enableWhen[0].answerCoding")}
    assert run("fhirrug-item-never-enabled", q, pkg) == {("fhirrug-item-never-enabled", "Questionnaire.item[1]")}


def test_answer_not_offered_accepts_a_code_of_the_answer_value_set():
    q, pkg = _answer_valueset_package("y")
    assert run("fhirrug-enablewhen-answer-not-offered", q, pkg) == set()
    assert run("fhirrug-item-never-enabled", q, pkg) == set()


def test_answer_value_set_outside_the_package_is_not_guessed():
    q = questionnaire(question("a", "choice", answerValueSet="http://hl7.org/fhir/ValueSet/yesnodontknow"), question("b", enableWhen=[when("a", answerCoding=coding("z"))]))
    assert run("fhirrug-enablewhen-answer-not-offered", q, package(q)) == set()
    assert run("fhirrug-item-never-enabled", q, package(q)) == set()


# --- robustness: malformed shapes never crash a rule ------------------------------------------------

MALFORMED = [
    {"resourceType": "Questionnaire", "item": "not a list"},
    {"resourceType": "Questionnaire", "item": [None, 3, "x", {"linkId": 5, "type": ["group"], "item": {"linkId": "a"}}]},
    {"resourceType": "Questionnaire", "item": [{"linkId": "a", "enableWhen": [None, {"question": 3}, {"question": "a", "operator": 5}], "answerOption": "x", "initial": {}}]},
    {"resourceType": "Questionnaire", "item": [{"linkId": "a", "type": "choice", "answerOption": [{"valueCoding": "x"}, {"valueInteger": True}]}, {"linkId": "b", "enableWhen": [{"question": "a", "operator": ">", "answerCoding": 3}, {"question": "a", "operator": "=", "answerInteger": "1"}]}]},
    {"resourceType": "QuestionnaireResponse", "item": [{"linkId": "a", "answer": "x", "item": [None]}, {"answer": [None, {"item": "x"}]}]},
    {"resourceType": "ValueSet", "compose": {"include": "x", "exclude": [None, {"concept": "x"}]}, "expansion": {"contains": [None, {"contains": 3}]}},
    {"resourceType": "CodeSystem", "content": "complete", "count": "3", "concept": [{"code": ["a"]}, None, {"concept": "x"}]},
    {"resourceType": "ConceptMap", "group": [{"element": "x", "unmapped": "fixed"}, None, {"element": [{"target": [None]}]}]},
]


@pytest.mark.parametrize("resource", MALFORMED)
def test_rules_skip_what_they_cannot_check(resource):
    from ._helpers import own_rules

    pkg = package(resource)
    for rule in own_rules():
        if rule.scope == "package":
            list(rule.check(pkg, __import__("fhirrug.validate.pipeline", fromlist=["RuleContext"]).RuleContext(pkg)))
        elif rule.applies_to(resource["resourceType"]):
            run(rule.id, resource, pkg)  # must not raise
