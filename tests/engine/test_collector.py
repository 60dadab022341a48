"""The garbage collector during batches: evaluation leaves no reference cycles behind, and
`BatchCollector` freezes what is alive and raises the threshold only while a batch runs."""

from __future__ import annotations

import gc
import json
import random

import pytest

from fhirrug.engine import Engine, compile
from fhirrug.engine.collector import THRESHOLD, BatchCollector
from fhirrug.engine.samples import medication_questionnaire, random_response

from engine_helpers import ew, item, q


def _plans():
    flat = compile(q(item("a"), item("g", "group", item("g.b", enableWhen=[ew("a", answerBoolean=True)]), required=True)))
    repeating = compile(medication_questionnaire())
    return flat, repeating


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "general walker"])
def test_evaluating_leaves_no_reference_cycles(fast):
    """Every response is freed by reference counting as soon as it is dropped: the walkers'
    recursive helpers and the instance tree of repeating groups are not left as cycles."""
    rnd = random.Random(7)
    plans = _plans()
    responses = [(plan, random_response(plan, rnd, repetitions=(0, 4), strip_rate=0.5)) for plan in plans for _ in range(40)]
    gc.collect()
    gc.disable()
    try:
        for plan, response in responses:
            keep, plan.fast = plan.fast, plan.fast if fast else None
            try:
                response = json.loads(json.dumps(response))
                evaluation = plan.evaluate(response)
                evaluation.valid, evaluation.outcomes, evaluation.enabled, evaluation.enabled_at
                [i.to_dict() for i in evaluation.issues]
                plan.strip(response, evaluation)
                del evaluation, response
            finally:
                plan.fast = keep
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_batch_collector_freezes_and_raises_the_threshold_while_the_batch_runs():
    gc.collect()
    assert gc.get_freeze_count() == 0
    before = gc.get_threshold()
    engine = Engine([medication_questionnaire()])
    with BatchCollector(engine) as collector:
        assert gc.get_threshold() == (max(THRESHOLD, before[0]), *before[1:])
        frozen = gc.get_freeze_count()
        assert frozen > 0
        collector.after()  # nothing compiled: nothing more frozen
        assert gc.get_freeze_count() == frozen
        engine.plan_for(engine.resources[0])  # a plan compiled: frozen after that response
        collector.after()
        assert gc.get_freeze_count() > frozen
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_batch_collector_leaves_an_earlier_freeze_alone():
    gc.freeze()
    try:
        with BatchCollector():
            pass
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_fhirrug_evaluate_streams_inside_a_batch_collector(monkeypatch):
    """The CLI's batch loop runs with the raised threshold and what was alive frozen, and puts
    the collector back as it was afterwards."""
    from pathlib import Path

    from click.testing import CliRunner

    from fhirrug.cli import main
    from fhirrug.engine import batch

    examples = Path(__file__).resolve().parents[2] / "examples"
    seen = []
    real = batch.process_input

    def spy(*args, **kwargs):
        seen.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "process_input", spy)
    before = gc.get_threshold()
    files = sorted(str(p) for p in examples.glob("QuestionnaireResponse-zelfdiagnose-*.json"))[:3]
    result = CliRunner().invoke(main, ["evaluate", "--format", "ndjson", *files])
    assert result.exit_code in (0, 1), result.output
    assert len(seen) == 3 and all(threshold == THRESHOLD and frozen for threshold, frozen in seen)
    assert gc.get_threshold() == before
