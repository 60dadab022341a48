"""One check of an example response against its `*.expected.toml` table, for every test that
needs it (tests/engine/test_examples.py, tests/content/test_faq.py, tests/content/test_anamnese.py).

A table records, per example file stem, what the example must reach: `outcomes` (system|code in
questionnaire order) and `enabled` (linkIds). The values are written from the book's routes and
the content map, never from the engine.
"""

from __future__ import annotations

import json
from pathlib import Path


def check_example(engine, path: Path, expected: dict, *, exact: bool):
    """Evaluate the example at `path` with `engine` (a fhirrug.engine.Engine) and hold it to
    `expected`. exact: no issue at all, and `enabled` and `outcomes` exactly as recorded (both
    required); otherwise: no error or fatal issue, `outcomes` as recorded when given, and the
    recorded `enabled` among the enabled items when given. Returns the Evaluation."""
    evaluation, issues = engine.evaluate(json.loads(path.read_text(encoding="utf-8")), file=str(path))
    assert evaluation is not None, issues
    outcomes = [f"{o['system']}|{o['code']}" for o in evaluation.outcomes]
    if exact:
        assert issues == [] and evaluation.valid, (issues, evaluation.issues)
        assert evaluation.enabled == expected["enabled"]
        assert outcomes == expected["outcomes"]
        return evaluation
    assert [(i.code, i.expression) for i in issues if i.severity in ("error", "fatal")] == []
    if "outcomes" in expected:
        assert outcomes == expected["outcomes"]
    if "enabled" in expected:
        assert set(expected["enabled"]) <= set(evaluation.enabled)
    return evaluation
