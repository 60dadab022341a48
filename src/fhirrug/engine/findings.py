"""The issues evaluation finds on a response that are worth building lazily.

A pipeline evaluating millions of responses mostly asks `.valid` and `.outcomes`: the walkers
record these two (by far the commonest findings) as `(severity, make, args)` and `make(*args)`
builds the Issue, with its message and response path, only when `Evaluation.issues` is read.
Shared by the general walkers (`run.py`) and the fast path (`fast.py`).
"""

from __future__ import annotations

from ..issues import ERROR, Issue

QR = "QuestionnaireResponse"


def missing(node, expression: str, severity: str, file: str) -> Issue:
    """A required item, enabled, left unanswered (a group: without items)."""
    if node.type == "group":
        return Issue("Questionnaire_QR_Item_MissingGroup", severity, f"No sub-items found for required group '{node.linkId}'", file, expression)
    return Issue("Questionnaire_QR_Item_Missing", severity, f"No response answer found for required item '{node.linkId}'", file, expression)


def not_enabled(node, path: str, i: int, file: str) -> Issue:
    """An answer on an item that is disabled."""
    return Issue("Questionnaire_QR_Item_NotEnabled", ERROR, f"Item has answer, even though it is not enabled (item id = '{node.linkId}')", file, f"{path}.item[{i}]")
