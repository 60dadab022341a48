"""Rules never crash, whatever shape the JSON has (earlier stages report the shape; rules skip it)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhirrug.validate.pipeline import RuleContext

from ._helpers import own_rules, package

KEYS = st.sampled_from(
    [
        "item", "linkId", "type", "enableWhen", "question", "operator", "answerBoolean", "answerCoding", "answerInteger",
        "answerOption", "valueCoding", "valueInteger", "answerValueSet", "initial", "repeats", "required", "code", "system",
        "display", "concept", "compose", "include", "exclude", "valueSet", "filter", "expansion", "contains", "group",
        "element", "target", "unmapped", "mode", "url", "version", "id", "extension", "answer", "enableBehavior", "count",
        "content", "name", "abstract", "equivalence", "source",
    ]
)
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["a", "b", "group", "display", "choice", "boolean", "=", ">", "exists", "all", "any", "complete", "https://fhir.fhirrug.nl/CodeSystem/cs"]))
JSON = st.recursive(LEAVES, lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=6)), max_leaves=40)
RESOURCE = st.builds(
    lambda rt, body: {**(body if isinstance(body, dict) else {"item": body}), "resourceType": rt},
    st.sampled_from(["Questionnaire", "QuestionnaireResponse", "ValueSet", "CodeSystem", "ConceptMap"]),
    JSON,
)
RULES = own_rules()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RESOURCE)
def test_no_rule_crashes_on_any_shape(resource):
    pkg = package(resource)
    ctx = RuleContext(pkg)
    for rule in RULES:
        if rule.scope == "package":
            list(rule.check(pkg, ctx))
        elif rule.applies_to(resource["resourceType"]):
            list(rule.check(resource, ctx))
