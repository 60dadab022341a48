"""Questionnaire rules (stage 5): the R4 invariants que-0 … que-13 and the enableWhen checks.

The invariants follow FHIR R4 (4.0.1) with its two published mistakes corrected: que-12 fires
for more than one enableWhen (the expression says `count() > 2`), and que-7 tests
`answer is boolean` (the expression says `Boolean`). Locations follow the invariant's context:
que-0 and que-2 on `Questionnaire`, que-7 on the enableWhen, the others on the item.

The enableWhen checks reuse the HL7 Java validator's message keys where it has one
(`Questionnaire_Q_EnableWhen_*`), otherwise a `fhirrug-` id. They work within one Questionnaire;
the package is consulted only to expand an answerValueSet.
"""

from __future__ import annotations

from typing import Iterable

from ..issues import ERROR, WARNING
from ..model import model_for
from ..model import problems as P
from .enablewhen import NOT_ORDERABLE, ORDERING, allowed_answer_keys, analyse, offered_codings
from .registry import Finding, Rule, rule_decorator
from .walk import count, dicts, name_not_computable, present

RULES: list[Rule] = []
rule = rule_decorator(RULES)

INVARIANTS = "https://hl7.org/fhir/R4/questionnaire.html#invs"
ENABLE_WHEN = "https://hl7.org/fhir/R4/questionnaire-definitions.html#Questionnaire.item.enableWhen"
HL7_MESSAGES = "https://github.com/hapifhir/org.hl7.fhir.core/blob/master/org.hl7.fhir.utilities/src/main/resources/Messages.properties"
Q = ("Questionnaire",)

# que-10: the item types that may carry maxLength
MAX_LENGTH_TYPES = frozenset({"boolean", "decimal", "integer", "string", "text", "url", "open-choice"})
# que-5 as published in R4: the types whose answers answerOption/answerValueSet may constrain
OPTION_TYPES = frozenset({"choice", "open-choice", "decimal", "integer", "date", "dateTime", "time", "string", "quantity"})


def _ctx_package(ctx):
    return getattr(ctx, "package", None)


def _items(questionnaire: dict, ctx):
    """The items of the Questionnaire's model (kept with the package: every rule reads the same)."""
    return model_for(questionnaire, _ctx_package(ctx)).items


@rule("que-0", WARNING, "Name should be usable as an identifier for the module by machine processing applications", INVARIANTS, resource_types=Q)
def que_0(questionnaire: dict, ctx) -> Iterable[Finding]:
    """`Questionnaire.name`, when present, matches `[A-Z]([A-Za-z0-9_]){0,254}` so that code
    generators can use it (an upper-case letter, then letters, digits and underscores)."""
    message = name_not_computable(questionnaire)
    if message:
        yield Finding("Questionnaire", message)


@rule("que-1", ERROR, "Group items must have nested items, display items cannot have nested items", INVARIANTS, resource_types=Q)
def que_1(questionnaire: dict, ctx) -> Iterable[Finding]:
    """An item of type `group` has at least one nested item; an item of type `display` has none."""
    for node in _items(questionnaire, ctx):
        if node.type == "group" and not present(node.item, "item"):
            yield Finding(node.path, f"group item '{node.link_id}' has no nested items")
        elif node.type == "display" and present(node.item, "item"):
            yield Finding(node.path, f"display item '{node.link_id}' has nested items")


@rule(P.DUPLICATE_LINK_ID.code, P.DUPLICATE_LINK_ID.severity, "The link ids for groups and questions must be unique within the questionnaire", INVARIANTS, resource_types=Q)
def que_2(questionnaire: dict, ctx) -> Iterable[Finding]:
    """Every `item.linkId` occurs once in the whole Questionnaire, at any depth: responses,
    enableWhen and every engine find items by linkId."""
    tree = model_for(questionnaire, _ctx_package(ctx))
    for link_id, nodes in tree.duplicates.items():
        where = ", ".join(n.path for n in nodes)
        yield Finding("Questionnaire", f"linkId '{link_id}' occurs {len(nodes)} times: {where}")


@rule("que-3", ERROR, "Display items cannot have a \"code\" asserted", INVARIANTS, resource_types=Q)
def que_3(questionnaire: dict, ctx) -> Iterable[Finding]:
    """An item of type `display` carries no `code`."""
    for node in _items(questionnaire, ctx):
        if node.type == "display" and present(node.item, "code"):
            yield Finding(node.path, f"display item '{node.link_id}' has a code")


@rule("que-4", ERROR, "A question cannot have both answerOption and answerValueSet", INVARIANTS, resource_types=Q)
def que_4(questionnaire: dict, ctx) -> Iterable[Finding]:
    """An item lists its permitted answers in `answerOption` or refers to `answerValueSet`, not both."""
    for node in _items(questionnaire, ctx):
        if present(node.item, "answerOption") and present(node.item, "answerValueSet"):
            yield Finding(node.path, f"item '{node.link_id}' has both answerOption and answerValueSet")


@rule("que-5", ERROR, "Only 'choice' and 'open-choice' items can have answerValueSet", INVARIANTS, resource_types=Q)
def que_5(questionnaire: dict, ctx) -> Iterable[Finding]:
    """`answerOption` and `answerValueSet` only on items whose answers they can constrain. As
    published in R4 that is choice and open-choice, and the types an answerOption value can
    take (decimal, integer, date, dateTime, time, string, quantity); never on group, display,
    boolean, text, url, reference or attachment items."""
    for node in _items(questionnaire, ctx):
        if node.type is None or node.type in OPTION_TYPES:
            continue
        if present(node.item, "answerOption") or present(node.item, "answerValueSet"):
            yield Finding(node.path, f"{node.type} item '{node.link_id}' cannot have answerOption or answerValueSet")


@rule("que-6", ERROR, "Required and repeat aren't permitted for display items", INVARIANTS, resource_types=Q)
def que_6(questionnaire: dict, ctx) -> Iterable[Finding]:
    """A `display` item has neither `required` nor `repeats` (not even `false`: the R4
    expression is `required.empty() and repeats.empty()`)."""
    for node in _items(questionnaire, ctx):
        if node.type == "display" and (present(node.item, "required") or present(node.item, "repeats")):
            yield Finding(node.path, f"display item '{node.link_id}' has required or repeats")


@rule(P.ABSTRACT_TYPE.code, P.ABSTRACT_TYPE.severity, "An item's type is not the abstract 'question'", "https://hl7.org/fhir/R4/codesystem-item-type.html", resource_types=Q)
def item_type_abstract(questionnaire: dict, ctx) -> Iterable[Finding]:
    """`item.type` is a concrete type. R4's item-type code system has `question` as an abstract
    parent of the answerable types (boolean, decimal, ... quantity): it says nothing about which
    answers the item takes, so no engine can evaluate or check one; the required binding
    accepts the code all the same."""
    for node in _items(questionnaire, ctx):
        if node.type == "question":
            yield Finding(f"{node.path}.type", f"item '{node.link_id}' has the abstract type 'question': use boolean, string, choice, ...")


@rule(P.EXISTS_NOT_BOOLEAN.code, P.EXISTS_NOT_BOOLEAN.severity, "If the operator is 'exists', the value must be a boolean", INVARIANTS, resource_types=Q)
def que_7(questionnaire: dict, ctx) -> Iterable[Finding]:
    """An enableWhen with operator `exists` uses `answerBoolean` (true: the question has an
    answer; false: it has none). The published R4 expression tests `answer is Boolean`, which
    never matches; fhirrug checks `answer is boolean` as intended."""
    for node in _items(questionnaire, ctx):
        for index, enable_when in dicts(node.item.get("enableWhen")):
            if enable_when.get("operator") != "exists":
                continue
            if not isinstance(enable_when.get("answerBoolean"), bool):
                yield Finding(f"{node.path}.enableWhen[{index}]", f"item '{node.link_id}': operator 'exists' needs answerBoolean")


@rule("que-8", ERROR, "Initial values can't be specified for groups or display items", INVARIANTS, resource_types=Q)
def que_8(questionnaire: dict, ctx) -> Iterable[Finding]:
    """`initial` only on question items: never on `group` or `display`."""
    for node in _items(questionnaire, ctx):
        if node.type in ("group", "display") and present(node.item, "initial"):
            yield Finding(node.path, f"{node.type} item '{node.link_id}' has an initial value")


@rule("que-9", ERROR, "Read-only can't be specified for \"display\" items", INVARIANTS, resource_types=Q)
def que_9(questionnaire: dict, ctx) -> Iterable[Finding]:
    """A `display` item has no `readOnly`."""
    for node in _items(questionnaire, ctx):
        if node.type == "display" and present(node.item, "readOnly"):
            yield Finding(node.path, f"display item '{node.link_id}' has readOnly")


@rule("que-10", ERROR, "Maximum length can only be declared for simple question types", INVARIANTS, resource_types=Q)
def que_10(questionnaire: dict, ctx) -> Iterable[Finding]:
    """`maxLength` only on boolean, decimal, integer, string, text, url and open-choice items."""
    for node in _items(questionnaire, ctx):
        if node.type is not None and node.type not in MAX_LENGTH_TYPES and present(node.item, "maxLength"):
            yield Finding(node.path, f"{node.type} item '{node.link_id}' cannot have maxLength")


@rule("que-11", ERROR, "If one or more answerOption is present, initial[x] must be missing", INVARIANTS, resource_types=Q)
def que_11(questionnaire: dict, ctx) -> Iterable[Finding]:
    """An item with `answerOption` marks its default with `answerOption.initialSelected`, never
    with `initial`."""
    for node in _items(questionnaire, ctx):
        if present(node.item, "answerOption") and present(node.item, "initial"):
            yield Finding(node.path, f"item '{node.link_id}' has answerOption and initial: use answerOption.initialSelected")


@rule(P.ENABLE_BEHAVIOR.code, P.ENABLE_BEHAVIOR.severity, "If there are more than one enableWhen, enableBehavior must be specified", INVARIANTS, resource_types=Q)
def que_12(questionnaire: dict, ctx) -> Iterable[Finding]:
    """An item with more than one `enableWhen` says with `enableBehavior` (all | any) how they
    combine. The published R4 expression tests `count() > 2`; the text (and the HL7 validator)
    mean more than one, which fhirrug checks."""
    for node in _items(questionnaire, ctx):
        if count(node.item, "enableWhen") > 1 and not present(node.item, "enableBehavior"):
            yield Finding(node.path, f"item '{node.link_id}' has {count(node.item, 'enableWhen')} enableWhen and no enableBehavior")


@rule("que-13", ERROR, "Can only have multiple initial values for repeating items", INVARIANTS, resource_types=Q)
def que_13(questionnaire: dict, ctx) -> Iterable[Finding]:
    """More than one `initial` only on an item with `repeats` true."""
    for node in _items(questionnaire, ctx):
        if count(node.item, "initial") > 1 and node.item.get("repeats") is not True:
            yield Finding(node.path, f"item '{node.link_id}' does not repeat but has {count(node.item, 'initial')} initial values")


# --- enableWhen -------------------------------------------------------------------------------


@rule(P.NO_TARGET.code, P.NO_TARGET.severity, "The enableWhen question refers to a linkId that is not in the Questionnaire", HL7_MESSAGES, resource_types=Q, aliases=P.aliases_of(P.NO_TARGET.code))
def enable_when_no_target(questionnaire: dict, ctx) -> Iterable[Finding]:
    """`enableWhen.question` names the linkId of an item of the same Questionnaire. A condition
    on a missing item sees no answer, so the item behaves as if that question were never
    answered: almost always a typo. Reported on the item, under the HL7 Java validator's key
    (fhirrug before 0.2 called it `fhirrug-enablewhen-target-missing`; that id still selects it)."""
    for condition in analyse(questionnaire, _ctx_package(ctx)).conditions:
        if condition.problem == "no-target" and condition.question is not None:
            yield Finding(condition.owner.path, f"enableWhen[{condition.index}] of item '{condition.owner.link_id}' refers to linkId '{condition.question}', which is not in this Questionnaire")


@rule(P.SELF.code, P.SELF.severity, "Questions with an enableWhen cannot refer to themselves", HL7_MESSAGES, resource_types=Q)
def enable_when_self(questionnaire: dict, ctx) -> Iterable[Finding]:
    """An item's enableWhen does not depend on the item's own answer: a disabled item has no
    answers, so the condition could never change."""
    for condition in analyse(questionnaire, _ctx_package(ctx)).conditions:
        if condition.problem == "self":
            yield Finding(condition.owner.path, f"enableWhen[{condition.index}] of item '{condition.owner.link_id}' refers to the item itself")


@rule(P.INNER.code, P.INNER.severity, "Questions with an enableWhen cannot refer to an inner question for its enableWhen condition", HL7_MESSAGES, resource_types=Q)
def enable_when_is_inner(questionnaire: dict, ctx) -> Iterable[Finding]:
    """A group's enableWhen does not depend on a question nested inside it: while the group is
    disabled its questions are disabled too, so their answers could never enable it."""
    for condition in analyse(questionnaire, _ctx_package(ctx)).conditions:
        if condition.problem == "inner":
            yield Finding(condition.owner.path, f"enableWhen[{condition.index}] of item '{condition.owner.link_id}' refers to '{condition.question}', which is nested inside it")


@rule(P.AFTER.code, P.AFTER.severity, "The target of this enableWhen rule comes after the question itself", HL7_MESSAGES, resource_types=Q)
def enable_when_after(questionnaire: dict, ctx) -> Iterable[Finding]:
    """The question an enableWhen depends on comes before the item in the Questionnaire (or is
    one of its ancestors). A forward reference is legal and fhirrug evaluates it, but a form
    filled in from top to bottom shows and hides items the user has already passed."""
    for condition in analyse(questionnaire, _ctx_package(ctx)).conditions:
        target = condition.target
        if target is None or condition.problem in ("self", "inner"):
            continue
        if target.order > condition.owner.order:
            yield Finding(condition.owner.path, f"enableWhen[{condition.index}] of item '{condition.owner.link_id}' depends on '{condition.question}', which comes after it")


@rule(P.NOT_ORDERABLE.code, P.NOT_ORDERABLE.severity, "Ordering operators (> < >= <=) cannot compare boolean, Coding or Reference answers", ENABLE_WHEN, resource_types=Q)
def enable_when_operator_not_orderable(questionnaire: dict, ctx) -> Iterable[Finding]:
    """The operators `>`, `<`, `>=` and `<=` are only defined for ordered values (numbers,
    dates, times, strings, quantities). On answerBoolean, answerCoding or answerReference, or on
    a boolean, Reference or Attachment question, the condition has no meaning."""
    for condition in analyse(questionnaire, _ctx_package(ctx)).conditions:
        if condition.operator not in ORDERING:
            continue
        target_type = condition.checked_target.type if condition.checked_target is not None else None
        if condition.answer_key in NOT_ORDERABLE or target_type in ("boolean", "reference", "attachment"):
            what = condition.answer_key or f"a {target_type} question"
            yield Finding(f"{condition.path}.operator", f"operator '{condition.operator}' cannot order {what} (item '{condition.owner.link_id}')")


@rule(P.ANSWER_TYPE.code, P.ANSWER_TYPE.severity, "The enableWhen answer[x] type fits the type of the question it tests", ENABLE_WHEN, resource_types=Q)
def enable_when_answer_type(questionnaire: dict, ctx) -> Iterable[Finding]:
    """`enableWhen.answer[x]` has the type of the target question's answers: answerBoolean for a
    boolean question, answerCoding for choice (or the type of its answerOption values),
    answerCoding or answerString for open-choice, answerInteger/answerDecimal for numbers,
    answerDate, answerDateTime, answerTime, answerString (string, text, url), answerQuantity,
    answerReference. A group or display item has no answers and cannot be tested at all. With
    operator `exists` any question is fine (que-7 checks the answerBoolean)."""
    for condition in analyse(questionnaire, _ctx_package(ctx)).conditions:
        target = condition.target
        if target is None or condition.problem != "type":
            continue
        if target.type in ("group", "display"):
            yield Finding(f"{condition.path}.question", f"item '{condition.owner.link_id}' depends on {target.type} item '{target.link_id}', which never has answers")
            continue
        if condition.operator == "exists":
            continue  # que-7
        allowed = sorted(allowed_answer_keys(target) or ())
        found = condition.answer_key or "no answer[x]"
        location = f"{condition.path}.{condition.answer_key}" if condition.answer_key else condition.path
        yield Finding(location, f"{found} cannot match {target.type} item '{target.link_id}' (expected {' or '.join(allowed) or 'exists'})")


@rule(P.ANSWERS.code, P.ANSWERS.severity, "An enableWhen has one answer[x], of an R4 answer type", ENABLE_WHEN, resource_types=Q)
def enable_when_answers(questionnaire: dict, ctx) -> Iterable[Finding]:
    """`enableWhen.answer[x]` is a choice of one: answerBoolean, answerDecimal, answerInteger,
    answerDate, answerDateTime, answerTime, answerString, answerCoding, answerQuantity or
    answerReference. With two of them (or an `answer…` of another type) no engine can tell which
    one the condition compares; fhirrug's engine takes the condition as false. (No answer[x] at
    all is the minimum cardinality the model stage reports.)"""
    for condition in analyse(questionnaire, _ctx_package(ctx)).conditions:
        if "answers" in condition.problems:
            found = ", ".join(condition.answer_keys)
            yield Finding(condition.path, f"enableWhen[{condition.index}] of item '{condition.owner.link_id}' has {found}: exactly one answer[x] of an R4 type is allowed")


@rule("fhirrug-enablewhen-answer-not-offered", ERROR, "An enableWhen answerCoding is one of the codes the target question offers", ENABLE_WHEN, resource_types=Q)
def enable_when_answer_not_offered(questionnaire: dict, ctx) -> Iterable[Finding]:
    """`enableWhen.answerCoding` is among the target question's `answerOption.valueCoding`, or in
    its `answerValueSet` when the package contains that ValueSet (and its codes can be listed
    without a terminology server). Codings match on system and code; a Coding without system
    on code only. A code the question never offers makes the condition constant."""
    package = _ctx_package(ctx)
    for condition in analyse(questionnaire, package).conditions:
        target = condition.target
        if target is None or condition.problem is not None or condition.answer_key != "answerCoding":
            continue
        wanted = condition.value
        offered = offered_codings(target, package)
        if wanted is None or offered is None:
            continue
        if not any(condition.matches({"valueCoding": o}) for o in offered):
            system = f"{wanted[1]}|" if wanted[1] else ""
            yield Finding(f"{condition.path}.answerCoding", f"'{system}{wanted[2]}' is not an answer item '{target.link_id}' offers (item '{condition.owner.link_id}')")


@rule(P.CYCLE.code, P.CYCLE.severity, "enableWhen conditions do not depend on each other in a cycle", ENABLE_WHEN, resource_types=Q)
def enable_when_cycle(questionnaire: dict, ctx) -> Iterable[Finding]:
    """No item depends, through enableWhen targets and the groups it sits in, on itself. In a
    cycle (A enabled when B is answered, B when A is) whether the items are enabled depends on
    the order of evaluation; engines disagree or loop. Reported once per cycle, on the first
    item of it, listing the linkIds."""
    for cycle in analyse(questionnaire, _ctx_package(ctx)).cycles:
        first = cycle[0]
        names = " -> ".join(f"'{n.link_id}'" for n in cycle)
        yield Finding(first.path, f"enableWhen cycle between {names}")


@rule("fhirrug-item-never-enabled", WARNING, "Every item with enableWhen can be enabled by some combination of answers", ENABLE_WHEN, resource_types=Q)
def item_never_enabled(questionnaire: dict, ctx) -> Iterable[Finding]:
    """An item whose enableWhen conditions no combination of answers can satisfy is dead
    content: an answerCoding the question does not offer, `all` of two different codes on a
    question that does not repeat, `exists` true and false together, or a condition on a
    question that is itself never enabled. Only certain cases are reported (conditions on
    different questions are taken as independent); the items inside a dead group are not
    reported again."""
    analysis = analyse(questionnaire, _ctx_package(ctx))
    for node in analysis.tree.nodes:
        reason = analysis.never_enabled.get(node.order)
        if reason is None:
            continue
        if any(a.order in analysis.never_enabled for a in node.ancestors()):
            continue
        yield Finding(node.path, f"item '{node.link_id}' can never be enabled: {reason}")
