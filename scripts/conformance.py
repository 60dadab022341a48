#!/usr/bin/env python3
"""Run the HL7 Java validator's Questionnaire/QuestionnaireResponse test cases through fhirrug
and write the agreement table docs/conformance.md.

The cases live in ../shared/conformance/fhir-test-cases/ (FHIR/fhir-test-cases, Apache-2.0; see
its INDEX.md). Each of the 119 manifest entries gets one row:

- not applicable: R3 or R5 tests (fhirrug is FHIR R4 only);
- not runnable: XML instances or supporting files (fhirrug reads JSON only, no XML parser);
- not run: tests that need a terminology server or an external package, or that the manifest
  itself disables (`use-test: false`);
- pass / differs: R4 JSON tests, validated with `fhirrug validate`'s pipeline (the instance plus
  its supporting files as one package; the engine's `fhirrug-response` rule evaluates responses).
  Compared with the expected Java OperationOutcome on (severity, expression) of every error and
  warning, and on the message text where fhirrug uses the Java text. A difference is classified
  by its reason (docs/enablewhen-semantics.md §9).

Usage: scripts/conformance.py [--write docs/conformance.md] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
CASES = ROOT / ".." / "shared" / "conformance" / "fhir-test-cases"
VALIDATOR = CASES / "validator"

# Java messages from generic resource validation or features fhirrug leaves out on purpose:
# pattern -> reason key (docs/enablewhen-semantics.md §9).
_REASONS = (
    (("extension", "could not be found so is not allowed", "Profile reference", "narrative", "Reference to draft", "Wrong Display Name",
      "A code with no system", "Coding has no system", "None of the codings provided", "que-0", "URL value", "UUIDs must be", "Unrecognized property",
      "dom-6", "Constraint failed: dom", "binding parameter", "Hyperlink", "value set 'IdentifierType'"), "generic"),
    (("minimum", "maximum", "decimal places", "length", "regex", "expected format", "mime type", "attachment", "Attachment Size", "exclusive option",
      "authored date", "number of answers", "unit", "is not a valid reference", "resource type", "is not allowed (allowed"), "sdc-constraints"),
    (("could not be resolved", "A definition could not be found", "refers to a resource that has the wrong type", "No questionnaire is identified"), "resolution"),
    (("Cannot validate", "no option list", "matches an entry in the list of valid Codings", "Option list has no option values", "new line characters"), "options-hints"),
)
REASON_TEXT = {
    "generic": "Java's generic resource validation (unknown extensions, profiles, narrative, displays of external code systems, codes without system); not Questionnaire logic (§9.1)",
    "sdc-constraints": "SDC / core constraint extensions (minValue, maxValue, maxLength, regex, maxDecimalPlaces, mimeType, maxSize, minOccurs, maxOccurs, unit options, optionExclusive, reference resource types) are not implemented (§9.2)",
    "resolution": "questionnaire resolution: fhirrug reports an unresolved or wrong-type questionnaire as one error, Java as information + warning (§7, §9.3)",
    "options-hints": "Java's hints (no option list to validate against, a string that equals a Coding display, a newline in a string answer) are not reported (§9.4)",
    "package-rules": "fhirrug's package rules are stricter than Java's standalone fetcher: every canonical and code system a content package uses must resolve inside the package (`fhirrug-canonical-unresolved`) (§9.5)",
    "semantics": "a decision of docs/enablewhen-semantics.md (§7)",
    "other": "other difference (see the details column)",
}


def _classify(text: str) -> str:
    for patterns, reason in _REASONS:
        if any(p.lower() in text.lower() for p in patterns):
            return reason
    return "other"


def _sev(severity: str) -> str:
    return "error" if severity in ("error", "fatal") else severity


def _needs_terminology(case: dict) -> str | None:
    name = case["name"]
    if case.get("packages"):
        return f"needs package {', '.join(case['packages'])}"
    if "async" in name or name.startswith(("q-ca-", "q-sct")) or "hai-ltcf" in name or case.get("sct"):
        return "needs a terminology server (tx.fhir.org)"
    return None


def _expected(case: dict) -> list[dict] | None:
    ver = {"4.0": "R4", "3.0": "R3", "5.0": "R5"}.get(case.get("version", "5.0"), "R5")
    path = VALIDATOR / "outcomes" / "java" / f"{ver}.{case['name']}-base.json"
    if not path.is_file():
        java = case.get("java")
        if isinstance(java, str):
            path = VALIDATOR / "outcomes" / java
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for issue in data.get("issue", []):
        if issue.get("severity") == "information":
            continue
        out.append({"severity": _sev(issue["severity"]), "expression": (issue.get("expression") or [""])[0], "text": (issue.get("details") or {}).get("text", "")})
    return out


def run_case(case: dict) -> dict:
    from fhirrug.package import Package, Resource
    from fhirrug.jsonio import read_json
    from fhirrug.validate.pipeline import validate_package

    row = {"name": case["name"], "version": case.get("version", "5.0 (default)"), "module": case.get("module", "")}
    version = case.get("version", "5.0")
    files = [case["file"], *(case.get("supporting") or [])]
    if version != "4.0":
        return {**row, "status": "not applicable", "reason": f"FHIR {version}: fhirrug is R4 (4.0.1) only"}
    if any(f.endswith(".xml") for f in files):
        return {**row, "status": "not runnable", "reason": "XML: fhirrug reads FHIR JSON only and has no XML parser"}
    if case.get("use-test") is False:
        return {**row, "status": "not run", "reason": "use-test: false in the manifest (no Java outcome)"}
    tx = _needs_terminology(case)
    if tx:
        return {**row, "status": "not run", "reason": tx}
    expected = _expected(case)
    if expected is None:
        return {**row, "status": "not run", "reason": "no expected Java outcome file"}
    resources = []
    for name in files:
        path = VALIDATOR / name
        data, issues = read_json(path)
        if data is not None:
            resources.append(Resource(path, data))
    instance = str(VALIDATOR / case["file"])
    package = Package(manifest=None, resources=resources)
    result = validate_package(package, only={instance})
    ours = [{"severity": _sev(i.severity), "expression": i.expression, "text": i.message, "code": i.code}
            for i in result.issues if i.severity != "information" and i.file == instance]
    want = Counter((e["severity"], e["expression"]) for e in expected)
    got = Counter((o["severity"], o["expression"]) for o in ours)
    missing = [e for e in expected if want[(e["severity"], e["expression"])] > got[(e["severity"], e["expression"])]]
    extra = [o for o in ours if got[(o["severity"], o["expression"])] > want[(o["severity"], o["expression"])]]
    if not missing and not extra:
        return {**row, "status": "pass", "reason": "", "java": len(expected), "fhirrug": len(ours)}
    reasons = Counter(_classify(m["text"]) for m in missing)
    for o in extra:
        code = o["code"]
        if code in ("Questionnaire_QR_Q_NotFound", "Questionnaire_QR_Q_WrongType", "que-12", "Questionnaire_QR_Item_WrongType"):
            reasons["semantics"] += 1
        elif code.startswith("fhirrug-canonical"):
            reasons["package-rules"] += 1
        elif code.startswith(("fhirrug-schema", "fhirrug-model")):
            reasons["generic"] += 1
        else:
            reasons["other"] += 1
    reason = ", ".join(sorted(reasons))
    details = "; ".join([f"missing {m['severity']} @ {m['expression']}: {m['text'][:90]}" for m in missing[:3]]
                        + [f"extra {o['severity']} {o['code']} @ {o['expression']}" for o in extra[:3]])
    return {**row, "status": "differs", "reason": reason, "details": details, "java": len(expected), "fhirrug": len(ours)}


def load_cases() -> list[dict]:
    manifest = json.loads((CASES / "manifest.questionnaire.json").read_text(encoding="utf-8"))
    return manifest["test-cases"]


def render(rows: list[dict]) -> str:
    counts = Counter(r["status"] for r in rows)
    lines = [
        "# Conformance with the HL7 Java validator's test cases",
        "",
        "Generated by `scripts/conformance.py` from actual runs; `tests/engine/test_conformance.py`",
        "re-runs the runnable cases and fails when a recorded status no longer holds.",
        "",
        "Source: the 119 Questionnaire/QuestionnaireResponse cases of FHIR/fhir-test-cases",
        "(Apache-2.0), read from `../shared/conformance/fhir-test-cases/` (see its INDEX.md). A runnable",
        "case (R4, JSON, no terminology server) is validated with `fhirrug validate`'s pipeline, the",
        "instance plus its supporting files as one package, and compared with the expected Java",
        "OperationOutcome on (severity, expression) of every error and warning. Reasons refer to",
        "[enablewhen-semantics.md](enablewhen-semantics.md) §7 and §9.",
        "",
        "Summary: " + ", ".join(f"{counts[s]} {s}" for s in ("pass", "differs", "not run", "not runnable", "not applicable") if counts[s]) + f" ({len(rows)} cases).",
        "",
        "Reasons:",
        "",
    ]
    lines += [f"- `{key}`: {text}" for key, text in REASON_TEXT.items()]
    lines += ["", "| test | FHIR | status | reason | details |", "|---|---|---|---|---|"]
    for r in rows:
        details = (r.get("details") or "").replace("|", "\\|")
        reason = r["reason"].replace("|", "\\|")
        lines.append(f"| `{r['name']}` | {r['version']} | {r['status']} | {reason} | {details} |")
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
        print(text.split("| test |")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
