"""Meta-test: every rule of the resource and package rule modules is documented and tested.

Each rule needs a docstring (its documentation), a summary, a spec link, a known severity, and
at least one failing and one passing fixture in the case tables of this folder.
"""

from __future__ import annotations

import pytest

from fhirrug.issues import SEVERITIES
from fhirrug.rules import PACKAGE, RESOURCE, all_rules

from ._helpers import OWN_MODULES, own_rules
from .test_package_rules import PACKAGE_CASES
from .test_resource_rules import CASES

RULES = own_rules()


def test_every_own_module_registers_rules():
    assert {r.check.__module__ for r in RULES} == set(OWN_MODULES)


def test_rule_ids_are_unique_across_all_rules():
    ids = [r.id for r in all_rules()]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_is_documented(rule):
    assert rule.check.__doc__ and len(rule.check.__doc__.strip()) > 20, "the docstring is the rule's documentation"
    assert rule.summary.strip()
    assert rule.spec.startswith("https://")
    assert rule.severity in SEVERITIES
    assert rule.scope in (RESOURCE, PACKAGE)


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_has_a_failing_and_a_passing_fixture(rule):
    table = PACKAGE_CASES if rule.scope == PACKAGE else CASES
    outcomes = [bool(expected) for rule_id, _, expected in table if rule_id == rule.id]
    assert True in outcomes, f"{rule.id}: no fixture that fails it"
    assert False in outcomes, f"{rule.id}: no fixture that passes it"


def test_case_tables_name_only_registered_rules():
    registered = {r.id for r in RULES}
    assert {c[0] for c in CASES + PACKAGE_CASES} <= registered
