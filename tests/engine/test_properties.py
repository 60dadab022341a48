"""Property-based tests (hypothesis): random Questionnaires and responses, engine invariants."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhirrug.engine import compile, strip_disabled
from fhirrug.engine.run import _enable_loop, _Walk

KINDS = ("boolean", "choice", "integer", "string", "group")
CODES = ("x", "y", "z")


@st.composite
def questionnaires(draw):
    count = draw(st.integers(1, 12))
    link_ids = [f"i{k}" for k in range(count)]
    items, groups = [], []
    for link_id in link_ids:
        kind = draw(st.sampled_from(KINDS))
        node = {"linkId": link_id, "type": kind}
        if kind == "choice":
            node["answerOption"] = [{"valueCoding": {"system": "s", "code": c}} for c in CODES]
        if kind != "group" and draw(st.booleans()):
            node["required"] = True
        if draw(st.integers(0, 2)) == 0:
            node["repeats"] = True
        conditions = []
        for _ in range(draw(st.integers(0, 2))):
            target = draw(st.sampled_from(link_ids))  # forward references, self references and cycles included
            operator = draw(st.sampled_from(["=", "!=", "exists", ">", "<="]))
            answer = draw(st.sampled_from([("answerBoolean", True), ("answerBoolean", False), ("answerCoding", {"system": "s", "code": "x"}), ("answerInteger", 3), ("answerString", "a")]))
            if operator == "exists":
                answer = ("answerBoolean", draw(st.booleans()))
            conditions.append({"question": target, "operator": operator, answer[0]: answer[1]})
        if conditions:
            node["enableWhen"] = conditions
            node["enableBehavior"] = draw(st.sampled_from(["all", "any"]))
        # nest under an earlier group sometimes
        if groups and draw(st.booleans()):
            draw(st.sampled_from(groups)).setdefault("item", []).append(node)
        else:
            items.append(node)
        if kind == "group":
            groups.append(node)
    return {"resourceType": "Questionnaire", "url": "http://example.org/Questionnaire/h", "status": "draft", "item": items}


def _answer(draw, node):
    return draw(st.sampled_from([
        {"valueBoolean": True}, {"valueBoolean": False}, {"valueInteger": 3}, {"valueInteger": 7},
        {"valueString": "a"}, {"valueCoding": {"system": "s", "code": "x"}}, {"valueCoding": {"system": "s", "code": "q"}},
    ]))


@st.composite
def responses(draw, questionnaire):
    def fill(nodes, depth=0):
        out = []
        for node in nodes:
            if not draw(st.booleans()):
                continue
            repeats = draw(st.integers(1, 2)) if node.get("repeats") else 1
            for _ in range(repeats):
                entry = {"linkId": node["linkId"]}
                if node["type"] == "group":
                    children = fill(node.get("item", []), depth + 1)
                    if children:
                        entry["item"] = children
                else:
                    entry["answer"] = [_answer(draw, node) for _ in range(draw(st.integers(1, 2)))]
                    if node.get("item"):
                        children = fill(node["item"], depth + 1)
                        if children:
                            entry["answer"][0]["item"] = children
                out.append(entry)
        if draw(st.integers(0, 5)) == 0:
            out.append({"linkId": "unknown", "answer": [{"valueBoolean": True}]})
        return out

    return {"resourceType": "QuestionnaireResponse", "status": draw(st.sampled_from(["completed", "in-progress"])), "item": fill(questionnaire["item"])}


@st.composite
def cases(draw):
    questionnaire = draw(questionnaires())
    return questionnaire, draw(responses(questionnaire))


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _enabled_positions(evaluation):
    return {(link_id, position) for link_id, positions in evaluation.enabled_at.items() for position in positions}


@SETTINGS
@given(cases())
def test_evaluation_terminates_and_never_raises(case):
    questionnaire, response = case
    evaluation = compile(questionnaire).evaluate(response)
    assert isinstance(evaluation.valid, bool)
    evaluation.issues, evaluation.outcomes, evaluation.enabled


@SETTINGS
@given(cases())
def test_stripping_disabled_answers_never_changes_enabled_items(case):
    questionnaire, response = case
    plan = compile(questionnaire)
    before = plan.evaluate(response)
    stripped = strip_disabled(plan, response, before)
    after = plan.evaluate(stripped)
    assert _enabled_positions(after) == _enabled_positions(before)
    assert not any(i.code == "Questionnaire_QR_Item_NotEnabled" for i in after.issues)


@SETTINGS
@given(cases())
def test_disabled_item_never_counts_as_answered(case):
    questionnaire, response = case
    evaluation = compile(questionnaire).evaluate(response)
    enabled = set(evaluation.enabled)
    for issue in evaluation.issues:
        if issue.code == "Questionnaire_QR_Item_Missing":
            link_id = issue.message.split("'")[1]
            assert link_id in enabled  # only enabled items can be missing


@SETTINGS
@given(cases())
def test_generated_enable_pass_equals_the_generic_loop(case):
    questionnaire, response = case
    plan = compile(questionnaire)
    if plan.enable is None:
        return
    answers = [None] * len(plan.nodes)
    for node in plan.nodes:  # feed the same answers both ways
        if response["item"] and node.index % 2 == 0 and node.value_keys:
            answers[node.index] = [{"valueBoolean": True}, {"valueCoding": {"system": "s", "code": "x"}}, {"valueInteger": 3}]
    generated = plan.enable(answers)
    looped = _enable_loop(plan, answers, [None] * len(plan.nodes), _Walk(plan, ""))
    assert [bool(x) for x in generated] == [bool(x) for x in looped]
