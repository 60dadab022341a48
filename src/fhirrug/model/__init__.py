"""The model layer: a Questionnaire (with its package) as a resolved, typed model of its logic.

Between parsing and everything that reasons about a Questionnaire: the rules of `fhirrug
validate`, the enableWhen engine (its plan and fast path), `fhirrug paths`, `fhirrug diff` and the
review site all read this model instead of the JSON, so that each question (what is an item's
target, what does `=` mean on a Coding, which items are outcomes, under which code is a problem
reported) has one answer.

    from fhirrug.model import build, model_for
    model = build(questionnaire)            # QuestionnaireModel: items, conditions, notes
    model = model_for(questionnaire, package)   # the same, kept with the package (built once)
    item = model.by_link_id["lijst1.1"]     # Item: path, parent, children, options, outcome()
    for condition in item.conditions:       # Condition: target, operator, answer, problems, test
        ...

Modules: `elements` (reading FHIR JSON leniently), `types` (item, answer and enableWhen types),
`compare` (the comparison functions), `questionnaire` (the model), `problems` (one code and one
severity per problem), `constraints` and `ucum` (value constraints: maxLength, minValue, regex,
units ...; each Item's `constraints`), `contained` (contained resources), `valuesets` (ValueSets
expanded without a terminology server), `graph` (strongly connected components).

Caches belong to what they describe: a model is built once per Questionnaire per package and
kept in that package's memo (`Package.memo`), never in a module.
"""

from __future__ import annotations

from typing import Any

from .questionnaire import MAX_DEPTH, Condition, Item, Options, QuestionnaireModel, build

__all__ = ["MAX_DEPTH", "Condition", "Item", "Options", "QuestionnaireModel", "build", "model_for"]


def model_for(questionnaire: Any, package: Any = None) -> QuestionnaireModel:
    """The model of `questionnaire`, kept in `package`'s memo when the package has one (a
    `fhirrug.package.Package`), so that every reader of one validation run shares one model.
    Without a package (or with an object without a memo) a fresh model is built."""
    memo = getattr(package, "memo", None)
    if memo is None:
        return build(questionnaire)
    return memo("questionnaire-model", questionnaire, build)
