#!/usr/bin/env python3
"""Run the HL7 Java validator's Questionnaire/QuestionnaireResponse test cases through fhirrug
and write the agreement table docs/conformance.md.

The cases live in ../shared/conformance/fhir-test-cases/ (FHIR/fhir-test-cases, Apache-2.0; see
its INDEX.md); they are read from there, never copied. Each of the 119 manifest entries gets one
row:

- not applicable: R3 or R5 tests (fhirrug is FHIR R4 only);
- not run: tests that need a terminology server or an external package, or that the manifest
  itself disables (`use-test: false`); each row says which;
- pass / differs: every other R4 test, JSON or XML, validated with `fhirrug validate`'s pipeline
  (the instance plus its supporting files as one package without a manifest: an instance from
  outside; the engine's `fhirrug-response` rule evaluates responses). The verdict (valid: no
  error or fatal issue) is compared with Java's, and every error and warning with the expected
  Java OperationOutcome on (severity, expression). `pass`: the same issues; `differs`: each
  missing or extra issue is given a reason, a key of REASONS that points to a section of
  docs/enablewhen-semantics.md. `other` is a difference nobody has explained: the test fails on
  it.

Usage: scripts/conformance.py [--write docs/conformance.md] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
CASES = ROOT / ".." / "shared" / "conformance" / "fhir-test-cases"
VALIDATOR = CASES / "validator"
SEMANTICS = "enablewhen-semantics.md"

# reason key -> (section of docs/enablewhen-semantics.md, what it means)
REASONS = {
    "generic": ("§9.1", "Java's generic resource validation (unknown extensions, profiles, narrative links, displays and codes of external code systems, codes without a system, UUID syntax); not Questionnaire logic"),
    "terminology": ("§9.2", "needs the content of a ValueSet fhirrug does not have (FHIR core or external, no terminology server): fhirrug says it did not check (information), Java checks or warns"),
    "resolution": ("§9.3", "an unresolved or wrong-type questionnaire: one error in fhirrug (nothing can be checked), information + warning in Java"),
    "hints": ("§9.4", "Java's hints and style warnings (no option list to check against, a string answer equal to an option's display, a newline in a string answer, binding parameters) are not reported"),
    "locations": ("§9.5", "the same problem reported at another place or under two codes (an unknown property: at the property and as a wrong answer type in fhirrug, at the answer in Java)"),
    "expressions": ("§9.6", "enablement by a FHIRPath expression (SDC enableWhenExpression, the Finnish fiphr-ext-questionnaire-enablewhen) is not evaluated: fhirrug says so (information) and checks nothing on that item's enabledness; Java evaluates it"),
    "semantics": ("§7", "a decision of the semantics document: a string answer on a choice item without string options is a wrong type"),
    "precision": ("§10.2", "a date limit and an answer of different precision that agree as far as both go: indeterminate, a warning (Java: compares the instants and reports an error)"),
    "units": ("§10.3", "quantities with the same free-text unit and no code compare by value in fhirrug (Java: 'cannot be compared because no formal units', an error, its message arguments swapped)"),
    "other": ("—", "not explained: a bug in fhirrug or in this table"),
}

# Cases the manifest files as async/terminology that need a server, with what for. The other
# async-named cases (choice-invalid-value-set-async-qr, open-choice-string-async-qr) need none
# and run.
NEEDS_SERVER = {
    "choice-async-qr": "validates the display of urn:iso:std:iso:3166#BD against tx.fhir.org",
    "choice-gender-coding-async-qr": "validates a display of http://hl7.org/fhir/item-type against tx.fhir.org",
    "open-choice-gender-coding-async-qr": "validates a display of http://hl7.org/fhir/item-type against tx.fhir.org",
    "string-with-coding-async-qr": "checks a string against the expanded jurisdiction ValueSet (tx.fhir.org)",
    "q-ca-implicit": "SNOMED CT Canadian edition codes (tx.fhir.org with Infoway authorisation)",
    "q-ca-explicit": "SNOMED CT Canadian edition codes (tx.fhir.org with Infoway authorisation)",
    "q-ca-implicit-ca": "SNOMED CT Canadian edition codes (tx.fhir.org with Infoway authorisation)",
    "q-ca-explicit-ca": "SNOMED CT Canadian edition codes (tx.fhir.org with Infoway authorisation)",
}

# Java message text (missing issues) -> reason.
_MISSING = (
    (("Cannot validate", "no option list", "matches an entry in the list of valid Codings", "new line characters", "binding parameter"), "hints"),
    (("extension", "could not be found so is not allowed", "Profile reference", "Hyperlink", "Wrong Display Name", "A code with no system",
      "Coding has no system", "None of the codings provided", "UUIDs must be", "value set 'IdentifierType'", "referred to in the derivation",
      "URL value", "dom-6", "Constraint failed: dom", "Unknown profile", "matches more than one slice", "max allowed =",
      "is not a valid Target for this element", "Invalid Resource target type", "Unknown code", "A definition for CodeSystem"), "generic"),
    (("has a unit that is not in the unit value set", "not found"), "terminology"),
    (("could not be resolved", "A definition could not be found", "No questionnaire is identified"), "resolution"),
    (("Unrecognized property", "Option list has no option values of type"), "locations"),
    (("is greater than the allowed maximum of", "is less than the allowed minimum of"), "precision"),
    (("because no formal units are specified",), "units"),
)
# fhirrug codes (extra issues) -> reason.
_EXTRA = {
    "Questionnaire_QR_Q_NotFound": "resolution",
    "Questionnaire_QR_Q_WrongType": "resolution",
    "fhirrug-schema-additional-property": "locations",
    "fhirrug-constraint-indeterminate": "precision",
    "fhirrug-qr-valueset-unknown": "terminology",
}


def _missing_reason(issue: dict, ours: list[dict], questionnaires: list[dict]) -> str:
    text = issue["text"]
    if text.startswith("Item has answer, even though it is not enabled") and _has_expressions(questionnaires):
        return "expressions"
    if "because no formal units are specified" in text:
        return "units"
    if "allowed minimum" in text or "allowed maximum" in text:
        # A date limit fhirrug found indeterminate at the same place (different precision).
        if any(o["code"] == "fhirrug-constraint-indeterminate" and o["expression"] == issue["expression"] for o in ours):
            return "precision"
        return "other"
    if "Answer value must be" in text and any(o["code"] == "Questionnaire_QR_Item_WrongType" for o in ours):
        return "semantics"
    for patterns, reason in _MISSING:
        if any(p.lower() in text.lower() for p in patterns):
            return reason
    return "other"


def _extra_reason(issue: dict, missing: list[dict]) -> str:
    code = issue["code"]
    if code == "Questionnaire_QR_Item_WrongType":
        # An unknown value[x] (valueCode) is also a wrong type; a string on a choice item whose
        # options are Codings is Java's "no option values of type string" at the answer: the
        # same finding elsewhere. A string on a choice item without options is §7.
        answer = issue["expression"].rsplit(".value.ofType(", 1)[0]
        if issue["expression"].endswith("ofType(Code)") or any(m["expression"] == answer and "Option list has no option values" in m["text"] for m in missing):
            return "locations"
        return "semantics"
    return _EXTRA.get(code, "other")


def _has_expressions(questionnaires: list[dict]) -> bool:
    from fhirrug.model.constraints import compile_questionnaire

    return any((compile_questionnaire(q) or _NOTHING).expressions for q in questionnaires)


class _NOTHING:
    expressions = ()


def _sev(severity: str) -> str:
    return "error" if severity in ("error", "fatal") else severity


def _not_run(case: dict) -> str | None:
    if case.get("use-test") is False:
        return "use-test: false in the manifest (no Java outcome)"
    if case.get("packages"):
        return f"needs the package {', '.join(case['packages'])} (no package registry here)"
    if case["name"] in NEEDS_SERVER:
        return f"needs a terminology server: {NEEDS_SERVER[case['name']]}"
    return None


def _expected(case: dict) -> list[dict] | None:
    ver = {"4.0": "R4", "3.0": "R3", "5.0": "R5"}.get(case.get("version", "5.0"), "R5")
    path = VALIDATOR / "outcomes" / "java" / f"{ver}.{case['name']}-base.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for issue in data.get("issue", []):
        if issue.get("severity") == "information":
            continue
        # Java writes a contained resource's location with a comment: contained[0]/*Questionnaire/q*/.item
        expression = re.sub(r"/\*[^*]*\*/", "", (issue.get("expression") or [""])[0])
        out.append({"severity": _sev(issue["severity"]), "expression": expression, "text": (issue.get("details") or {}).get("text", "")})
    return out


def run_case(case: dict) -> dict:
    from fhirrug.jsonio import read_json
    from fhirrug.package import Package, Resource
    from fhirrug.validate.pipeline import validate_package

    files = [case["file"], *(case.get("supporting") or [])]
    row = {
        "name": case["name"],
        "version": case.get("version", "5.0 (default)"),
        "format": "XML" if case["file"].endswith(".xml") else "JSON",
        "brianpos": "/brianpos/" in case["file"],
    }
    version = case.get("version", "5.0")
    if version != "4.0":
        return {**row, "status": "not applicable", "reason": f"FHIR {version}: fhirrug is R4 (4.0.1) only"}
    skip = _not_run(case)
    if skip:
        return {**row, "status": "not run", "reason": skip}
    expected = _expected(case)
    if expected is None:
        return {**row, "status": "not run", "reason": "no expected Java outcome file"}
    resources, read = [], []
    for name in files:
        path = VALIDATOR / name
        data, issues = read_json(path)  # JSON or FHIR XML
        read += issues
        if data is not None:
            resources.append(Resource(path, data))
    instance = str(VALIDATOR / case["file"])
    package = Package(manifest=None, resources=resources, read_issues=read)
    result = validate_package(package, only={instance})
    everything = [i for i in result.issues if i.file == instance]
    ours = [{"severity": _sev(i.severity), "expression": i.expression, "text": i.message, "code": i.code} for i in everything if i.severity != "information"]
    row["java"] = "invalid" if any(e["severity"] == "error" for e in expected) else "valid"
    row["fhirrug"] = "invalid" if any(o["severity"] == "error" for o in ours) else "valid"
    want = Counter((e["severity"], e["expression"]) for e in expected)
    got = Counter((o["severity"], o["expression"]) for o in ours)
    missing = [e for e in expected if want[(e["severity"], e["expression"])] > got[(e["severity"], e["expression"])]]
    extra = [o for o in ours if got[(o["severity"], o["expression"])] > want[(o["severity"], o["expression"])]]
    if not missing and not extra:
        return {**row, "status": "pass", "reason": "", "details": ""}
    questionnaires = [r.data for r in resources if r.resource_type == "Questionnaire"]
    reasons = Counter([_missing_reason(m, ours, questionnaires) for m in missing] + [_extra_reason(o, missing) for o in extra])
    details = "; ".join(
        [f"missing {m['severity']} @ {m['expression']}: {m['text'][:90]}" for m in missing[:3]]
        + ([f"(+{len(missing) - 3} more missing)"] if len(missing) > 3 else [])
        + [f"extra {o['severity']} {o['code']} @ {o['expression']}" for o in extra[:3]]
        + ([f"(+{len(extra) - 3} more extra)"] if len(extra) > 3 else [])
    )
    return {**row, "status": "differs", "reason": ", ".join(sorted(reasons)), "details": details}


def load_cases() -> list[dict]:
    manifest = json.loads((CASES / "manifest.questionnaire.json").read_text(encoding="utf-8"))
    return manifest["test-cases"]


def figures(rows: list[dict]) -> dict:
    """The agreement figures: same verdict and same issues, over the runnable R4 cases."""
    ran = [r for r in rows if r["status"] in ("pass", "differs")]
    brianpos = [r for r in ran if r["brianpos"]]
    same = lambda rs: sum(1 for r in rs if r["java"] == r["fhirrug"])  # noqa: E731
    return {
        "ran": len(ran),
        "xml": sum(1 for r in ran if r["format"] == "XML"),
        "verdict": same(ran),
        "brianpos": len(brianpos),
        "brianpos_verdict": same(brianpos),
        "issues": sum(1 for r in ran if r["status"] == "pass"),
    }


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "0/0"


def render(rows: list[dict]) -> str:
    counts = Counter(r["status"] for r in rows)
    f = figures(rows)
    lines = [
        "# Conformance with the HL7 Java validator's test cases",
        "",
        "Generated by `scripts/conformance.py` from actual runs; `tests/engine/test_conformance.py`",
        "re-runs every runnable case and fails when a recorded row no longer holds or a difference",
        "has no documented reason.",
        "",
        "Source: the 119 Questionnaire/QuestionnaireResponse cases of FHIR/fhir-test-cases",
        "(Apache-2.0), read from `../shared/conformance/fhir-test-cases/` (see its INDEX.md). A runnable",
        "case (R4, JSON or XML, no terminology server or package needed) is validated with",
        "`fhirrug validate`'s pipeline, the instance plus its supporting files as one package without",
        "a manifest (an instance validated from outside), and compared with the expected Java",
        "OperationOutcome: the verdict (valid: no error or fatal issue), and every error and warning",
        "on (severity, expression). Every difference has a reason, which points to a section of",
        f"[{SEMANTICS}]({SEMANTICS}).",
        "",
        f"- Same verdict as Java: **{_pct(f['verdict'], f['ran'])}** of the runnable R4 cases ({f['xml']} of them XML);"
        f" **{_pct(f['brianpos_verdict'], f['brianpos'])}** of the brianpos QR-vs-Q suite.",
        f"- Same (severity, expression) issues: **{_pct(f['issues'], f['ran'])}**.",
        "- Rows: " + ", ".join(f"{counts[s]} {s}" for s in ("pass", "differs", "not run", "not applicable") if counts[s]) + f" ({len(rows)} cases).",
        "",
        "Reasons:",
        "",
    ]
    lines += [f"- `{key}` ({section}): {text}" for key, (section, text) in REASONS.items() if key != "other"]
    lines += ["", "| test | FHIR | format | Java | fhirrug | status | reason | details |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [f"`{r['name']}`", r["version"], r["format"], r.get("java", ""), r.get("fhirrug", ""), r["status"], r["reason"], r.get("details") or ""]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, help="write the Markdown table here (e.g. docs/conformance.md)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    if not CASES.is_dir():
        print(f"conformance cases not found at {CASES}", file=sys.stderr)
        return 2
    rows = [run_case(case) for case in load_cases()]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    text = render(rows)
    if args.write:
        from fhirrug.jsonio import atomic_write

        atomic_write(args.write, text)
    if not args.json:
        print(text.split("Reasons:")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
