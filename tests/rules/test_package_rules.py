"""Every package rule (stage 6) on a package that fails it and one that passes, by (code, file, expression).

PACKAGE_CASES is the table the meta-test reads: (rule id, package factory, expected
(file, expression) pairs); an empty set is a passing package.
"""

from __future__ import annotations

import pytest

from ._helpers import CANONICAL, choice, coding, package, question, questionnaire, run_package

SYSTEM = f"{CANONICAL}/CodeSystem/cs"


def _cs(**fields):
    return {
        "resourceType": "CodeSystem",
        "id": "cs",
        "url": SYSTEM,
        "version": "0.1.0",
        "status": "draft",
        "content": "complete",
        "concept": [{"code": "a", "display": "Aap", "designation": [{"language": "en", "value": "Monkey"}]}, {"code": "b", "display": "Beer"}],
        **fields,
    }


def _vs(id_="vs", **fields):
    return {"resourceType": "ValueSet", "id": id_, "url": f"{CANONICAL}/ValueSet/{id_}", "version": "0.1.0", "status": "draft", **fields}


def _sd():
    return {"resourceType": "StructureDefinition", "id": "tekstbron", "url": f"{CANONICAL}/StructureDefinition/tekstbron", "version": "0.1.0"}


def _q(*items, **fields):
    return questionnaire(*items, version="0.1.0", **fields)


def _cm(**fields):
    return {"resourceType": "ConceptMap", "id": "cm", "url": f"{CANONICAL}/ConceptMap/cm", "version": "0.1.0", "status": "draft", **fields}


def content(*resources: dict) -> list[tuple[str, dict]]:
    """Resources as files of the package's content folders (`valuesets/<type>-<id>.json`)."""
    return [(f"valuesets/{r['resourceType']}-{r['id']}.json", r) for r in resources]


PACKAGE_CASES = [
    # duplicate url|version
    ("fhirrug-canonical-duplicate", lambda: package(_vs(), ("ValueSet-vs2.json", {**_vs(), "id": "vs2"})), {("ValueSet-vs.json", "ValueSet.url"), ("ValueSet-vs2.json", "ValueSet.url")}),
    ("fhirrug-canonical-duplicate", lambda: package(_vs(), ("ValueSet-vs-old.json", {**_vs(), "id": "vs-old", "version": "0.0.9"})), set()),
    # duplicate resourceType/id
    ("fhirrug-id-duplicate", lambda: package(_vs(), ("copy/ValueSet-vs.json", _vs(url=f"{CANONICAL}/ValueSet/other"))), {("ValueSet-vs.json", "ValueSet.id"), ("copy/ValueSet-vs.json", "ValueSet.id")}),
    ("fhirrug-id-duplicate", lambda: package(_vs(), _cs(id="vs", url=f"{CANONICAL}/CodeSystem/vs")), set()),
    # file name <resourceType>-<id>.json (files in the content folders)
    ("fhirrug-id-file-name", lambda: package(("valuesets/ValueSet-foo.json", _vs()), ("valuesets/ValueSet-bar.json", {k: v for k, v in _vs("bar").items() if k != "id"})), {("valuesets/ValueSet-foo.json", "ValueSet.id"), ("valuesets/ValueSet-bar.json", "ValueSet")}),
    ("fhirrug-id-file-name", lambda: package(("valuesets/ValueSet-vs.json", _vs()), ("-", _vs("stdin")), ("tests/my-valueset.json", _vs("loose"))), set()),
    ("fhirrug-id-file-name", lambda: package(("valuesets/ValueSet-foo.json", _vs()), with_manifest=False), set()),
    # url under the package canonical (files in the content folders)
    ("fhirrug-url-canonical-base", lambda: package(("valuesets/ValueSet-vs.json", _vs(url="https://example.org/ValueSet/vs")), ("valuesets/CodeSystem-cs.json", {k: v for k, v in _cs().items() if k != "url"})), {("valuesets/ValueSet-vs.json", "ValueSet.url"), ("valuesets/CodeSystem-cs.json", "CodeSystem")}),
    ("fhirrug-url-canonical-base", lambda: package(("valuesets/ValueSet-vs.json", _vs()), ("valuesets/CodeSystem-cs.json", _cs()), ("examples/QuestionnaireResponse-qr.json", {"resourceType": "QuestionnaireResponse", "id": "qr", "status": "completed"}), ("tests/ValueSet-x.json", _vs(url="https://example.org/ValueSet/x"))), set()),
    ("fhirrug-url-canonical-base", lambda: package(("valuesets/ValueSet-vs.json", _vs(url="https://example.org/ValueSet/vs")), with_manifest=False), set()),
    # canonical references resolve
    (
        "fhirrug-canonical-unresolved",
        lambda: package(
            *content(
                _cs(),
                _vs(compose={"include": [{"system": f"{CANONICAL}/CodeSystem/nope"}, {"system": SYSTEM, "version": "9.9"}, {"valueSet": [f"{CANONICAL}/ValueSet/nope"]}]}),
                _q(
                    question("a", "choice", answerValueSet=f"{CANONICAL}/ValueSet/vs|1.0.0", extension=[{"url": f"{CANONICAL}/StructureDefinition/nope", "valueString": "x"}]),
                    question("b", "string", code=[coding("1", f"{CANONICAL}/CodeSystem/typo")]),
                    question("c", "choice", answerValueSet="#nope"),
                    contained=[_vs("inner")],
                ),
            ),
            # '#id' must name a contained resource in any file, also one from outside the package
            ("elsewhere/Questionnaire-x.json", {**_q(question("d", "choice", answerValueSet="#gone")), "id": "x"}),
        ),
        {
            ("valuesets/ValueSet-vs.json", "ValueSet.compose.include[0].system"),
            ("valuesets/ValueSet-vs.json", "ValueSet.compose.include[1].system"),
            ("valuesets/ValueSet-vs.json", "ValueSet.compose.include[2].valueSet[0]"),
            ("valuesets/Questionnaire-q.json", "Questionnaire.item[0].answerValueSet"),
            ("valuesets/Questionnaire-q.json", "Questionnaire.item[0].extension[0].url"),
            ("valuesets/Questionnaire-q.json", "Questionnaire.item[1].code[0].system"),
            ("valuesets/Questionnaire-q.json", "Questionnaire.item[2].answerValueSet"),
            ("elsewhere/Questionnaire-x.json", "Questionnaire.item[0].answerValueSet"),
        },
    ),
    (
        # Not the package's canonicals (a Dutch OID code system, another guide's extension), or
        # files from outside the content folders: not required to resolve (information only).
        "fhirrug-canonical-unresolved",
        lambda: package(
            *content(
                _q(
                    question("a", "choice", answerValueSet="#inner", extension=[{"url": "http://example.org/fhir/StructureDefinition/other-ig", "valueString": "x"}]),
                    question("b", code=[coding("1", "urn:oid:2.16.840.1.113883.2.4.4.16.34")]),
                    contained=[_vs("inner")],
                ),
            ),
            ("loose/QuestionnaireResponse-qr.json", {"resourceType": "QuestionnaireResponse", "id": "qr", "status": "completed", "item": [{"linkId": "b", "answer": [{"valueCoding": coding("x", f"{CANONICAL}/CodeSystem/nope")}]}]}),
        ),
        set(),
    ),
    (
        "fhirrug-canonical-unresolved",
        lambda: package(
            _cs(),
            _sd(),
            _vs(compose={"include": [{"system": SYSTEM, "version": "0.1.0"}, {"system": "http://snomed.info/sct", "concept": [{"code": "279039007"}]}]}),
            _vs("vs2", compose={"include": [{"valueSet": [f"{CANONICAL}/ValueSet/vs|0.1.0"]}, {"system": "http://terminology.hl7.org/CodeSystem/v2-0136"}]}),
            _q(
                question(
                    "a",
                    "choice",
                    answerValueSet=f"{CANONICAL}/ValueSet/vs|0.1.0",
                    extension=[
                        {"url": f"{CANONICAL}/StructureDefinition/tekstbron", "valueCoding": coding("a")},
                        {"url": "http://hl7.org/fhir/StructureDefinition/translation", "extension": [{"url": "lang", "valueCode": "en"}]},
                    ],
                ),
                question("b", code=[coding("1", "http://loinc.org")]),
            ),
        ),
        set(),
    ),
    # codes exist in the package's CodeSystem
    (
        "fhirrug-code-unknown",
        lambda: package(
            _cs(),
            _vs(compose={"include": [{"system": SYSTEM, "concept": [{"code": "a"}, {"code": "zz"}]}]}),
            _q(choice("a", "a", "nope")),
            _cm(group=[{"source": SYSTEM, "target": "http://snomed.info/sct", "element": [{"code": "b", "target": [{"code": "1", "equivalence": "equivalent"}]}, {"code": "c", "target": [{"code": "2", "equivalence": "equivalent"}]}]}]),
        ),
        {
            ("ValueSet-vs.json", "ValueSet.compose.include[0].concept[1].code"),
            ("Questionnaire-q.json", "Questionnaire.item[0].answerOption[1].valueCoding.code"),
            ("ConceptMap-cm.json", "ConceptMap.group[0].element[1].code"),
        },
    ),
    (
        "fhirrug-code-unknown",
        lambda: package(
            _cs(),
            _cs(id="frag", url=f"{CANONICAL}/CodeSystem/frag", content="fragment"),
            _vs(compose={"include": [{"system": SYSTEM, "concept": [{"code": "a"}]}, {"system": f"{CANONICAL}/CodeSystem/frag", "concept": [{"code": "anything"}]}]}),
            _q(choice("a", "a", "b"), question("s", code=[coding("123", "http://snomed.info/sct")])),
        ),
        set(),
    ),
    # displays match the CodeSystem (display or a designation)
    (
        "fhirrug-code-display",
        lambda: package(_cs(), _q({**choice("a"), "answerOption": [{"valueCoding": coding("a", display="Olifant")}]}), _vs(compose={"include": [{"system": SYSTEM, "concept": [{"code": "b", "display": "Wolf"}]}]})),
        {("Questionnaire-q.json", "Questionnaire.item[0].answerOption[0].valueCoding.display"), ("ValueSet-vs.json", "ValueSet.compose.include[0].concept[0].display")},
    ),
    (
        "fhirrug-code-display",
        lambda: package(_cs(), _q({**choice("a"), "answerOption": [{"valueCoding": coding("a", display="Aap")}, {"valueCoding": coding("a", display="Monkey")}, {"valueCoding": coding("b")}]})),
        set(),
    ),
]


@pytest.mark.parametrize(("rule_id", "factory", "expected"), PACKAGE_CASES, ids=[f"{c[0]}-{'fails' if c[2] else 'passes'}-{i}" for i, c in enumerate(PACKAGE_CASES)])
def test_package_rule(rule_id, factory, expected):
    assert run_package(rule_id, factory()) == {(rule_id, file, expression) for file, expression in expected}


def test_unresolved_versioned_reference_names_the_version_the_package_has():
    pkg = package(*content(_vs(), _q(question("a", "choice", answerValueSet=f"{CANONICAL}/ValueSet/vs|1.0.0"))))
    from fhirrug.validate.pipeline import RuleContext

    from ._helpers import rule_by_id

    (finding,) = rule_by_id("fhirrug-canonical-unresolved").check(pkg, RuleContext(pkg))
    assert "0.1.0" in finding.message  # the user learns which version to refer to


def test_codings_inside_a_codesystem_are_checked_too():
    """A concept property's valueCoding that points at another CodeSystem of the package."""
    urgentie = _cs(id="urgentie", url=f"{CANONICAL}/CodeSystem/urgentie", concept=[{"code": "direct"}])
    antwoord = _cs(id="antwoord", url=f"{CANONICAL}/CodeSystem/antwoord", property=[{"code": "urgentie", "type": "Coding"}], concept=[{"code": "1", "property": [{"code": "urgentie", "valueCoding": coding("morgen", f"{CANONICAL}/CodeSystem/urgentie")}]}])
    pkg = package(urgentie, antwoord)
    assert run_package("fhirrug-code-unknown", pkg) == {("fhirrug-code-unknown", "CodeSystem-antwoord.json", "CodeSystem.concept[0].property[0].valueCoding.code")}


def test_canonicals_that_are_not_required_are_reported_once_per_file_as_information():
    """A local code system used in many answers is one information per file, at its first place;
    the configuration can re-grade `fhirrug-canonical-external` to require resolution."""
    from fhirrug.config import Config
    from fhirrug.validate.pipeline import validate_package

    oid = "urn:oid:2.16.578.1.12.4.1.1.9999"
    answers = [{"linkId": f"q{k}", "answer": [{"valueCoding": coding("1", oid)}]} for k in range(3)]
    pkg = package(("loose/QuestionnaireResponse-qr.json", {"resourceType": "QuestionnaireResponse", "id": "qr", "status": "completed", "item": answers}))
    rules = [r for r in __import__("fhirrug.rules", fromlist=["all_rules"]).all_rules() if r.id == "fhirrug-canonical-unresolved"]
    found = [(i.code, i.severity, i.expression) for i in validate_package(pkg, rules=rules).issues]
    assert found == [("fhirrug-canonical-external", "information", "QuestionnaireResponse.item[0].answer[0].valueCoding.system")]
    strict = Config(severity={"fhirrug-canonical-external": "error"})
    assert [i.severity for i in validate_package(pkg, strict, rules=rules).issues] == ["error"]
