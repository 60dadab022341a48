"""QuestionnaireResponses of the package, evaluated against their Questionnaires by the
enableWhen engine (`fhirrug.engine`), so that `fhirrug validate` covers the examples.

One package rule, `fhirrug-response`, runs the engine once per response and yields the
engine's own Issues unchanged (the pipeline passes Issue objects through), so findings carry
the HL7 validator's message keys (`Questionnaire_QR_Item_NotEnabled`, ...). Those codes are
listed below as STAGE-like entries so that `fhirrug rules` shows them and configuration can
select, ignore and re-grade them like any rule.
"""

from __future__ import annotations

from typing import Iterable

from ..issues import ERROR, FATAL, INFORMATION, WARNING, Issue
from ..model.constraints import CODES as CONSTRAINT_CODES
from .registry import PACKAGE, STAGE, Rule, rule_decorator

RULES: list[Rule] = []
rule = rule_decorator(RULES)

_SEMANTICS = "https://github.com/fhirrug/fhirrug/blob/main/docs/enablewhen-semantics.md"
_QR = "https://hl7.org/fhir/R4/questionnaireresponse.html"
_Q = "https://hl7.org/fhir/R4/questionnaire-definitions.html#Questionnaire.item.enableWhen"

# Codes the qrs-1 resource rule (fhirrug.rules.questionnaire_response) already reports.
_REPORTED_ELSEWHERE = {"qrs-1"}


@rule("fhirrug-response", ERROR, "Each QuestionnaireResponse of the package is valid against its Questionnaire (enableWhen, required, types, options).", _SEMANTICS, scope=PACKAGE)
def responses(package, ctx) -> Iterable[Issue]:
    """Evaluates every QuestionnaireResponse in the package with the enableWhen engine:
    which items are enabled, answers on disabled items, required items left unanswered,
    unknown linkIds, order, repeats, answer types, answerOption and package answerValueSets,
    text differing from the Questionnaire. The response's `questionnaire` canonical (with or
    without |version) must resolve to a Questionnaire of the package. Findings carry the
    engine's codes, listed by `fhirrug rules` below this entry."""
    from ..engine import Engine

    responses = [r for r in package.resources if r.resource_type == "QuestionnaireResponse"]
    if not responses:
        return
    engine = Engine(package)
    for resource in responses:
        _, issues = engine.evaluate(resource.data, file=str(resource.path))
        for issue in issues:
            if issue.code in _REPORTED_ELSEWHERE:
                continue
            yield issue if issue.file else Issue(issue.code, issue.severity, issue.message, str(resource.path), issue.expression)


def _code(id: str, severity: str, summary: str, spec: str = _QR) -> Rule:
    return Rule(id, severity, summary, spec, scope=STAGE, check=None)


RULES += [
    _code("Questionnaire_QR_Item_NotEnabled", ERROR, "An item has an answer although its enableWhen makes it disabled (or an ancestor is disabled)."),
    _code("Questionnaire_QR_Item_Missing", ERROR, "A required item is enabled but unanswered (a warning unless status is completed or amended)."),
    _code("Questionnaire_QR_Item_MissingGroup", ERROR, "A required group is enabled but has no items (a warning unless status is completed or amended)."),
    _code("Questionnaire_QR_Item_NotFound", ERROR, "A linkId the Questionnaire does not have."),
    _code("fhirrug-qr-item-wrong-group", ERROR, "A linkId the Questionnaire has, but in another group or level."),
    _code("Questionnaire_QR_Item_NoLinkId", ERROR, "A response item without linkId."),
    _code("Questionnaire_QR_Item_Order", ERROR, "Items in a different order than in the Questionnaire."),
    _code("Questionnaire_QR_Item_OnlyOneI", ERROR, "An item that does not repeat occurs more than once."),
    _code("Questionnaire_QR_Item_OnlyOneA", ERROR, "Several answers on an item whose repeats is not true."),
    _code("Questionnaire_QR_Item_Group", ERROR, "Answers on a group item."),
    _code("Questionnaire_QR_Item_Display", ERROR, "Answers or child items on a display item."),
    _code("Questionnaire_QR_Item_GroupAnswer", ERROR, "Child items directly under a question (they belong under answer.item)."),
    _code("Questionnaire_QR_Item_WrongType", ERROR, "An answer whose value[x] type does not match the item type."),
    _code("fhirrug-qr-value", ERROR, "An answer value of the wrong JSON type (valueBoolean \"yes\")."),
    _code("fhirrug-qr-structure", ERROR, "A response part of the wrong shape (item not a list, answer without value)."),
    _code("Questionnaire_QR_Item_NoCoding", ERROR, "A Coding answer not among the item's answerOptions."),
    _code("Questionnaire_QR_Item_NoOptions", ERROR, "An answer of a type none of the item's answerOptions has."),
    _code("Questionnaire_QR_Item_NoOptionsCoding", ERROR, "A Coding answer where the answerOptions hold no Coding."),
    _code("Questionnaire_QR_Item_NotInOptions", ERROR, "A non-Coding answer not among the item's answerOptions."),
    _code("Questionnaire_QR_Item_BadOption", ERROR, "A Coding answer not in the item's answerValueSet (a ValueSet of the package)."),
    _code("Coding_has_no_system__cannot_validate", WARNING, "A Coding answer without a system on an item with an answerValueSet: it cannot be checked."),
    _code("fhirrug-qr-valueset-unknown", INFORMATION, "The answerValueSet is not in the package; the code is not checked (no terminology server)."),
    _code("Questionnaire_QR_Item_Text", WARNING, "An item's text differs from the Questionnaire's."),
    _code("fhirrug-enablewhen-indeterminate", WARNING, "An enableWhen comparison that cannot be decided (date precision, Quantity units): the condition is false.", _SEMANTICS),
    _code("fhirrug-qr-questionnaire-mismatch", WARNING, "The response names another Questionnaire than the one it is evaluated against."),
    _code("Questionnaire_QR_Q_None", ERROR, "The response names no questionnaire."),
    _code("Questionnaire_QR_Q_NotFound", ERROR, "The response's questionnaire is not in the package."),
    _code("Questionnaire_QR_Q_WrongType", ERROR, "The response's questionnaire canonical names a resource that is not a Questionnaire."),
    _code("fhirrug-not-a-response", FATAL, "What should be a QuestionnaireResponse is not one."),
    _code("fhirrug-qr-too-deep", FATAL, "Items nested too deeply to evaluate."),
    # `fhirrug evaluate` on a Bundle (fhirrug.engine.batch): nothing in it is dropped silently.
    _code("fhirrug-bundle-entry", ERROR, "A Bundle entry that cannot hold a response: not an object, no resource, a resource without resourceType.", "https://hl7.org/fhir/R4/bundle.html"),
    _code("fhirrug-bundle-empty", ERROR, "A Bundle with no entries, or with no QuestionnaireResponse among them.", "https://hl7.org/fhir/R4/bundle.html"),
]
RULES += [_code(code, severity, summary, _SEMANTICS) for code, severity, summary in CONSTRAINT_CODES]  # model/constraints.py
