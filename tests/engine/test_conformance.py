"""The HL7 validator's Questionnaire test cases: every status recorded in docs/conformance.md
still holds (a regression turns a 'pass' into 'differs' and fails here; an improvement too, so
that the table is regenerated with scripts/conformance.py)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / ".." / "shared" / "conformance" / "fhir-test-cases"
TABLE = ROOT / "docs" / "conformance.md"

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/conformance/fhir-test-cases is not present (CI always has it)")


def _script():
    spec = importlib.util.spec_from_file_location("fhirrug_conformance_script", ROOT / "scripts" / "conformance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _recorded() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `([^`]+)` \| [^|]+ \| ([a-z ]+) \| ((?:[^|\\]|\\.)*) \|", line)
        if match:
            rows[match.group(1)] = (match.group(2).strip(), match.group(3).strip())
    return rows


def test_every_case_has_a_row():
    script = _script()
    names = [case["name"] for case in script.load_cases()]
    assert len(names) == 119
    recorded = _recorded()
    assert set(recorded) == set(names)  # no test skipped silently


def test_recorded_statuses_still_hold():
    script = _script()
    recorded = _recorded()
    changed = []
    for case in script.load_cases():
        row = script.run_case(case)
        status, reason = recorded[case["name"]]
        if (row["status"], row["reason"]) != (status, reason.replace("\\|", "|")):
            changed.append((case["name"], status, reason, row["status"], row["reason"]))
    assert changed == []


def test_every_difference_has_a_documented_reason():
    script = _script()
    for name, (status, reason) in _recorded().items():
        if status == "differs":
            assert reason and all(key.strip() in script.REASON_TEXT for key in reason.split(",")), name
