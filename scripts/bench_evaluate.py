#!/usr/bin/env python3
"""Benchmark of the enableWhen engine: ratios measured in one run, never a timing assertion.

Generates N varied responses (default 100,000) to the self-diagnosis Questionnaire
(questionnaires/Questionnaire-zelfdiagnose-lage-rugklachten.json; a synthetic 50-item decision
list when that file does not exist) as NDJSON, then prints, per response and relative to
parsing alone:

  parse      orjson.loads (json.loads when orjson is missing) of every line: the floor
  evaluate   parse + fhirrug Plan.evaluate + .valid + .outcomes (what a pipeline asks for)
  issues     parse + evaluate + every issue materialised as a dict (what --format json prints)
  R4B model  fhir.resources R4B QuestionnaireResponse.model_validate_json (parse only), the
             usual Python alternative, on a sample (it is ~100x slower)
  stream     `fhirrug.engine.batch` over the NDJSON file from disk, with resident memory at 10%
             and at 100% of the file (it must not grow with the number of responses)

With --workloads DIR (written by ../shared/bench/make_workloads.py) it also times chain51 and
wide500. Fair timing per ../shared/bench/README.md: loops that keep nothing alive, the best of
several rounds, both sides in the same run. Times are process CPU time (time.process_time), so
that other load on a shared machine does not distort the ratios; the stream figure is wall time.

Usage: scripts/bench_evaluate.py [-n 100000] [--rounds 5] [--workloads DIR] [--keep FILE]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fhirrug.engine import Engine, compile  # noqa: E402
from fhirrug.engine.samples import random_response  # noqa: E402
from fhirrug.package import load_package  # noqa: E402

try:
    import orjson

    loads, PARSER = orjson.loads, "orjson.loads"
except ImportError:  # pragma: no cover
    loads, PARSER = json.loads, "json.loads"

SELF_DIAGNOSIS = ROOT / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json"


def synthetic_questionnaire() -> dict:
    """A 50-item decision list shaped like the book's: groups of boolean statements, each
    enabled by the previous 'nee', each 'ja' enabling a coded display outcome."""
    items = []
    previous = None
    for g in range(5):
        group = {"linkId": f"lijst{g + 1}", "type": "group", "text": f"Lijst {g + 1}", "item": []}
        if previous:
            group["enableWhen"] = [{"question": previous, "operator": "=", "answerBoolean": False}]
        for k in range(4):
            link = f"lijst{g + 1}.{k + 1}"
            statement = {"linkId": link, "type": "boolean", "text": f"Stelling {link}", "required": True}
            if k:
                statement["enableWhen"] = [{"question": previous, "operator": "=", "answerBoolean": False}]
            outcome = {"linkId": f"{link}-antwoord", "type": "display", "text": f"Antwoord {g * 4 + k + 1}",
                       "code": [{"system": "http://example.org/antwoord", "code": str(g * 4 + k + 1)}],
                       "enableWhen": [{"question": link, "operator": "=", "answerBoolean": True}]}
            group["item"] += [statement, outcome]
            previous = link
        items.append(group)
    return {"resourceType": "Questionnaire", "id": "synthetic50", "url": "http://example.org/Questionnaire/synthetic50",
            "version": "0.1.0", "status": "draft", "item": items}


def generate(plan, n: int, seed: int = 20261125) -> list[bytes]:
    """n varied responses (fhirrug.engine.samples): random answers, then (for 90%) the disabled
    ones stripped, so that most are valid and every route is exercised; the rest keep answers on
    disabled items."""
    rnd = random.Random(seed)
    return [
        json.dumps(random_response(plan, rnd, answer_rate=0.9, true_rate=0.25, empty_group_rate=0, strip_rate=0.9,
                                   statuses=("completed",), response_id=f"r{k}"), ensure_ascii=False).encode("utf-8")
        for k in range(n)
    ]


def best_of(rounds: int, fn, lines) -> float:
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        fn(lines)
        best = min(best, time.process_time() - start)
    return best / len(lines)


def rss_kib() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def bench(name: str, questionnaire: dict, lines: list[bytes], rounds: int, model_sample: int, package=None) -> dict:
    if package is not None:
        plan = Engine(package).plan_for(questionnaire)
    else:
        plan = compile(questionnaire)
    evaluate = plan.evaluate

    def parse(ls):
        for line in ls:
            loads(line)

    def run(ls):
        for line in ls:
            ev = evaluate(loads(line))
            ev.valid
            ev.outcomes

    def run_issues(ls):
        for line in ls:
            ev = evaluate(loads(line))
            ev.valid
            ev.outcomes
            [i.to_dict() for i in ev.issues]

    def run_json(ls):
        for line in ls:
            json.loads(line)

    t_parse = best_of(rounds, parse, lines)
    t_json = best_of(rounds, run_json, lines)
    t_eval = best_of(rounds, run, lines)
    t_issues = best_of(rounds, run_issues, lines)
    result = {"workload": name, "responses": len(lines), "parse_us": t_parse * 1e6, "json_us": t_json * 1e6,
              "evaluate_us": t_eval * 1e6, "issues_us": t_issues * 1e6}
    try:
        from fhirrug.validate.model import model_class

        cls = model_class("QuestionnaireResponse")
        sample = lines[:model_sample]

        def model(ls):
            for line in ls:
                cls.model_validate_json(line)

        result["model_us"] = best_of(max(1, rounds // 2), model, sample) * 1e6
    except Exception as exc:  # noqa: BLE001 - the comparison is optional
        result["model_error"] = str(exc)
    invalid = sum(1 for line in lines[:2000] if not evaluate(loads(line)).valid)
    result["invalid_share"] = invalid / min(len(lines), 2000)
    return result


def stream(questionnaire: dict, lines: list[bytes], package) -> dict:
    """Evaluate an NDJSON file from disk the way `fhirrug evaluate` does; RSS at 10% and 100%."""
    from fhirrug.engine.batch import Summary, evaluate_input, iter_inputs

    engine = Engine(package) if package is not None else None
    with tempfile.NamedTemporaryFile("wb", suffix=".ndjson", delete=False) as handle:
        for line in lines:
            handle.write(line + b"\n")
        path = handle.name
    del handle
    summary = Summary()
    checkpoint = max(1, len(lines) // 10)
    rss_10 = 0
    gc.collect()
    start = time.perf_counter()
    try:
        for k, item in enumerate(iter_inputs([path]), 1):
            if engine is not None:
                record, _ = evaluate_input(engine, item, None)
            else:
                record, _ = evaluate_input(_Fixed(questionnaire), item, None)
            summary.add(record)
            if k == checkpoint:
                rss_10 = rss_kib()
        elapsed = time.perf_counter() - start
    finally:
        os.unlink(path)
    return {"responses": summary.responses, "per_second": summary.responses / elapsed, "rss_10_kib": rss_10, "rss_100_kib": rss_kib(),
            "valid": summary.valid, "invalid": summary.invalid}


class _Fixed:
    """An Engine stand-in that evaluates every response against one Questionnaire."""

    def __init__(self, questionnaire):
        self.plan = compile(questionnaire)

    def evaluate(self, response, questionnaire=None, file=""):
        ev = self.plan.evaluate(response, file)
        return ev, ev.issues


def report(result: dict) -> None:
    p, e, i, j = result["parse_us"], result["evaluate_us"], result["issues_us"], result["json_us"]
    print(f"\n== {result['workload']}: {result['responses']} responses ({result['invalid_share']:.0%} invalid)")
    print(f"  {PARSER:<28} {p:9.1f} us/response   1.00x   (the floor)")
    print(f"  {'json.loads':<28} {j:9.1f} us/response   {j / p:.2f}x")
    print(f"  {'parse + evaluate':<28} {e:9.1f} us/response   {e / p:.2f}x of {PARSER}, {e / j:.2f}x of json.loads   {1e6 / e:,.0f} responses/s")
    print(f"  {'parse + evaluate + issues':<28} {i:9.1f} us/response   {i / p:.2f}x of {PARSER}, {i / j:.2f}x of json.loads   {1e6 / i:,.0f} responses/s")
    if "model_us" in result:
        m = result["model_us"]
        print(f"  {'R4B model_validate_json':<28} {m:9.1f} us/response   {m / p:.2f}x   (parse only; fhirrug is {m / e:.1f}x faster)")
    else:
        print(f"  R4B model: not measured ({result.get('model_error')})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="responses to generate (default 100000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model-sample", type=int, default=2000, help="responses timed through the R4B model")
    parser.add_argument("--workloads", type=Path, help="folder written by ../shared/bench/make_workloads.py")
    parser.add_argument("--keep", type=Path, help="also write the generated NDJSON here")
    args = parser.parse_args()

    package = None
    if SELF_DIAGNOSIS.is_file():
        package = load_package(ROOT)
        questionnaire = next(r.data for r in package.resources if r.path.resolve() == SELF_DIAGNOSIS.resolve())
        name = "zelfdiagnose-lage-rugklachten"
    else:
        questionnaire = synthetic_questionnaire()
        name = "synthetic50"
    plan = Engine(package).plan_for(questionnaire) if package is not None else compile(questionnaire)
    print(f"fhirrug engine benchmark: {name} ({len(plan.nodes)} items), python {sys.version.split()[0]}, parser {PARSER}")
    lines = generate(plan, args.n)
    if args.keep:
        args.keep.write_bytes(b"\n".join(lines) + b"\n")
    report(bench(name, questionnaire, lines, args.rounds, args.model_sample, package))
    s = stream(questionnaire, lines, package)
    growth = s["rss_100_kib"] - s["rss_10_kib"]
    print(f"  {'stream NDJSON (batch)':<28} {s['per_second']:9,.0f} responses/s; RSS {s['rss_10_kib'] / 1024:.1f} MiB at 10%, "
          f"{s['rss_100_kib'] / 1024:.1f} MiB at 100% (growth {growth / 1024:+.1f} MiB; {s['valid']} valid, {s['invalid']} invalid)")

    if args.workloads:
        for workload in ("chain51", "wide500"):
            q = json.loads((args.workloads / f"{workload}-q.json").read_text())
            responses = json.loads((args.workloads / f"{workload}-qrs.json").read_text())
            report(bench(workload, q, [json.dumps(r).encode() for r in responses], args.rounds * 4, 100))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
