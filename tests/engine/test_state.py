"""No hidden state: a plan is never served for a Questionnaire that changed since, and a bug in
the engine is reported on the response it hit (the fast path falls back only on the shapes it
declines, issue 17), while the next response is evaluated as usual."""

from __future__ import annotations

import pytest

from fhirrug.engine import Engine, PlanCache, compile
from fhirrug.engine.batch import Input, evaluate_input
from fhirrug.engine.fast import Declined

from engine_helpers import ans, ew, item, q, qr


def _quest():
    return q(item("a"), item("b", "string", enableWhen=[ew("a", answerBoolean=True)]))


def test_a_questionnaire_edited_in_place_is_compiled_again():
    quest = _quest()
    plan = compile(quest)
    assert compile(quest) is plan
    assert plan.evaluate(qr(ans("a", {"valueBoolean": True}))).is_enabled("b")
    quest["item"][1]["enableWhen"][0]["answerBoolean"] = False  # a server reloading edited content
    fresh = compile(quest)
    assert fresh is not plan
    assert not fresh.evaluate(qr(ans("a", {"valueBoolean": True}))).is_enabled("b")
    assert compile(quest) is fresh


def test_the_plan_cache_is_bounded_and_its_own():
    cache = PlanCache(size=2)
    quests = [_quest() for _ in range(3)]
    plans = [cache.get(x, None, None, "") for x in quests]
    assert cache.get(quests[2], None, None, "") is plans[2]
    assert cache.get(quests[0], None, None, "") is not plans[0]  # evicted, compiled again
    assert compile(quests[1]) is not plans[1]  # compile()'s cache is another object


def _ordinary(plan):
    response = qr(ans("a", {"valueBoolean": True}), ans("b", {"valueString": "x"}))
    plan.fast(response, [], "")  # the fast path takes it (raises if not)
    return response


def test_a_bug_in_the_fast_path_is_reported_not_hidden():
    plan = Engine([_quest()]).plan_for(_quest())
    response = _ordinary(plan)

    def broken(response, issues, file):
        raise TypeError("'NoneType' object is not subscriptable")

    plan.fast = broken
    ev = plan.evaluate(response, "r.json")
    assert [(i.code, i.severity, i.file) for i in ev.issues] == [("fhirrug-internal-error", "fatal", "r.json")]
    assert "TypeError" in ev.issues[0].message and not ev.valid


def test_a_batch_goes_on_after_a_response_that_hit_a_bug():
    quest = _quest()
    engine = Engine([quest])
    plan = engine.plan_for(quest)
    fast = plan.fast
    responses = [dict(_ordinary(plan), id=f"r{k}") for k in (1, 2)]
    calls = []

    def first_breaks(response, issues, file):
        calls.append(response.get("id"))
        if len(calls) == 1:
            raise AttributeError("bug")
        return fast(response, issues, file)

    plan.fast = first_breaks
    records = [evaluate_input(engine, Input("b.ndjson", k, response, line=True))[0] for k, response in enumerate(responses, 1)]
    assert [r["valid"] for r in records] == [False, True]
    assert [i["code"] for i in records[0]["issues"]] == ["fhirrug-internal-error"]
    assert records[1]["issues"] == [] and calls == ["r1", "r2"]


@pytest.mark.parametrize(
    "odd",
    [
        {"linkId": ["a"], "answer": [{"valueBoolean": True}]},
        {"linkId": {"x": 1}, "answer": [{"valueBoolean": True}]},
        "not an item",
        {"linkId": "a", "answer": [{"valueBoolean": True}, {"valueBoolean": False}]},
        {"linkId": "a", "answer": [{"valueString": "ja"}]},
        {"linkId": "a", "answer": [{"valueBoolean": "true"}]},
        {"linkId": "a", "answer": "yes"},
    ],
)
def test_the_fast_path_declines_odd_shapes_by_name(odd):
    """Odd input makes the fast path decline (never a TypeError or KeyError); evaluation then
    goes to the general walker, and never raises."""
    plan = compile(_quest())
    with pytest.raises(Declined):
        plan.fast(qr(odd), [], "")
    assert not plan.evaluate(qr(odd)).valid


def test_an_unanswered_item_stays_on_the_fast_path():
    plan = compile(_quest())
    plan.fast(qr({"linkId": "a"}), [], "")  # taken (raises if not)
    assert plan.evaluate(qr({"linkId": "a"})).flags == [True, False]


def test_coding_with_a_list_for_system_is_declined():
    options = [{"valueCoding": {"system": "s", "code": "x"}}]
    plan = compile(q(item("c", "choice", answerOption=options), item("d", "display", enableWhen=[ew("c", answerCoding={"system": "s", "code": "x"})])))
    with pytest.raises(Declined):
        plan.fast(qr(ans("c", {"valueCoding": {"system": ["s"], "code": "x"}})), [], "")
    ev = plan.evaluate(qr(ans("c", {"valueCoding": {"system": ["s"], "code": "x"}})))
    assert not ev.valid and not ev.is_enabled("d")
