#!/usr/bin/env python3
"""Benchmark of the enableWhen engine: ratios measured in one run, never a timing assertion.

Workloads (per response, best of --rounds):
  zelfdiagnose  the book's self-diagnosis form (questionnaires/Questionnaire-zelfdiagnose-
                lage-rugklachten.json, 252 items) with -n generated responses as a form sends
                them (fhirrug.engine.samples: answers drawn per type, 90% with the answers of
                disabled items removed)
  chain51       and wide500: ../shared/bench/make_workloads.py (run into a temporary folder
                when ../shared is beside the repository, or --workloads DIR)
  medicatie     a repeating group (fhirrug.engine.samples.medication_questionnaire: the
                medicines taken for the pain, 9 items a repetition, conditions inside the
                repetition and on an answer outside it), responses of 1 to 10 repetitions

Printed per workload:
  parse            json.loads, and orjson.loads (a library user's faster parser; the CLI parses strictly: bench_parse.py)
  parse+evaluate   the same parser, then Plan.evaluate + .valid + .outcomes (what a pipeline asks)
  ratios           the same parser on both sides: (json.loads+evaluate)/json.loads and
                   (orjson+evaluate)/orjson; and, labelled mixed, (orjson+evaluate)/json.loads
  evaluation alone (parse+evaluate) - parse, against the best peer engine's figure
                   (../shared/bench/README.md; for the self-diagnosis, derived from issue 15;
                   for the repeating group, against fhirrug's own general walker: no peer figure)
  compile          building the Plan (model, plan, generated code), ms
  enabled, issues  + .enabled (the enabled items' linkIds); + every issue materialised
  R4B              fhir.resources R4B model_validate_json (parse only)
Then: the targets of issue 15, met or not; two scaling tables: forms of 50 / 500 / 5,000 items
(responses holding every item, and holding one group of 50), and responses of 10 / 1,000 / 5,000
repetitions of the repeating group, per repetition, with the garbage collector off, on as
Python sets it, and as a batch sets it (fhirrug.engine.collector.BatchCollector); NDJSON
streaming through fhirrug.engine.batch with resident memory at 10% and 100% of the file.

Timing: process CPU time (time.process_time), loops that keep nothing alive, both sides in the
same run, and the garbage collector off inside every timed loop on both sides, as `timeit` does,
except where a table says otherwise (the repetitions table: off, on, batch; the streaming figure:
as `fhirrug evaluate` runs, in a BatchCollector). The load average is printed before and after:
on a shared machine, figures are provisional.

Usage: scripts/bench_evaluate.py [-n 100000] [--rounds 5] [--workloads DIR] [--keep FILE] [--no-stream]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fhirrug.engine import Engine, Plan, compile  # noqa: E402
from fhirrug.engine.collector import BatchCollector  # noqa: E402
from fhirrug.engine.inline import PROMOTE_AFTER, compile_inline  # noqa: E402
from fhirrug.engine.samples import medication_questionnaire, random_response  # noqa: E402
from fhirrug.package import load_package  # noqa: E402

try:
    import orjson
except ImportError:  # pragma: no cover - then only the json.loads figures
    orjson = None

SELF_DIAGNOSIS = ROOT / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json"
SHARED_BENCH = ROOT.parent / "shared" / "bench"

# The best peer engine per workload, per response, the best case of the range measured in
# ../shared/bench/README.md ("Measured in process on a 2-core machine ... full enabled set").
PEERS = {
    "chain51": ("sdc-qrf 1.1.0-alpha.3", 300.0),
    "wide500": ("Medplum react-hooks 5.2.13", 6400.0),
}
# Issue 15 measured, on its machine and in one run, evaluation alone 13.6x faster than sdc-qrf on
# chain51 and 10.1x on the self-diagnosis, with parse + evaluate at 2.06x and 2.69x json.loads:
# so sdc-qrf(self-diagnosis) / sdc-qrf(chain51) = (10.1 * 1.69 * J_sd) / (13.6 * 1.06 * J_chain51),
# J the json.loads time of each workload's responses (measured here, in this run).
ISSUE_RATIOS = {"zelfdiagnose": (10.1, 2.69 - 1), "chain51": (13.6, 2.06 - 1)}

TARGETS = {"same-parser json.loads": 2.0, "mixed orjson/json.loads": 1.5, "vs best peer": 15.0}


def load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()
    except OSError:  # pragma: no cover - not Linux
        return "unknown"


def best_of(rounds: int, fn, items) -> float:
    """Seconds per item: the best of `rounds` timed loops, collector off inside each."""
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        try:
            start = time.process_time()
            fn(items)
            best = min(best, time.process_time() - start)
        finally:
            gc.enable()
    return best / len(items)


def generate_repeating(plan, n: int, repetitions: tuple[int, int] = (1, 10), seed: int = 20261203) -> list[bytes]:
    """n responses to the repeating-group form: medicines taken (the group enabled), each with
    repetitions[0] to repetitions[1] repetitions, answers drawn as `generate` does."""
    rnd = random.Random(seed)
    out = []
    for k in range(n):
        response = random_response(plan, rnd, answer_rate=0.9, true_rate=0.5, empty_group_rate=0, strip_rate=0.9,
                                   statuses=("completed",), response_id=f"m{k}", repetitions=repetitions)
        out.append(json.dumps(response, ensure_ascii=False).encode("utf-8"))
    return out


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


def compile_ms(questionnaire: dict, codesystems=None, valuesets=None, rounds: int = 5) -> tuple[float, float | None]:
    """ms to build the Plan (with the table walker it starts with), and ms to generate the walker
    it takes after PROMOTE_AFTER responses (fhirrug.engine.inline; None: the plan keeps the table walker)."""
    best, generated = float("inf"), float("inf")
    for _ in range(rounds):
        start = time.process_time()
        plan = Plan(questionnaire, codesystems, valuesets)
        best = min(best, time.process_time() - start)
        start = time.process_time()
        made = compile_inline(plan) if plan.flat else None
        generated = min(generated, time.process_time() - start) if made is not None else None
    return best * 1e3, None if generated is None else generated * 1e3


def shown_compile(times: tuple[float, float | None]) -> str:
    plan, generated = times
    return f"compile {plan:.1f} ms" + (f" + {generated:.1f} ms for the generated walker (after {PROMOTE_AFTER:,} responses)" if generated is not None else "")


def promote(plan, lines: list[bytes]) -> None:
    """Evaluate until the plan has taken the walker a batch uses (inline.promoting), so that
    every timed loop measures that one: a batch's steady state, its compile time reported apart."""
    for k in range(PROMOTE_AFTER):
        if not hasattr(plan.fast, "table"):
            return
        plan.evaluate(json.loads(lines[k % len(lines)]))


def bench(name: str, plan, lines: list[bytes], rounds: int, model_sample: int) -> dict:
    promote(plan, lines)
    evaluate = plan.evaluate
    parsers = {"json.loads": json.loads}
    if orjson is not None:
        parsers["orjson.loads"] = orjson.loads
    result = {"workload": name, "responses": len(lines), "items": len(plan.nodes), "parse": {}, "evaluate": {}}
    for label, loads in parsers.items():
        def parse(ls, loads=loads):
            for line in ls:
                loads(line)

        def run(ls, loads=loads):
            for line in ls:
                ev = evaluate(loads(line))
                ev.valid
                ev.outcomes

        # Interleaved, so that drift in the machine's load hits both sides alike.
        p, e = [], []
        for _ in range(2):
            p.append(best_of(rounds, parse, lines))
            e.append(best_of(rounds, run, lines))
        result["parse"][label] = min(p) * 1e6
        result["evaluate"][label] = min(e) * 1e6

    def run_issues(ls):
        for line in ls:
            ev = evaluate(json.loads(line))
            ev.valid
            ev.outcomes
            [i.to_dict() for i in ev.issues]

    result["issues"] = best_of(rounds, run_issues, lines) * 1e6

    def run_enabled(ls):
        for line in ls:
            ev = evaluate(json.loads(line))
            ev.valid
            ev.outcomes
            ev.enabled

    # A pipeline that also asks which items are enabled: the flags joined into one list (the
    # generated walker keeps them per top-level item), the linkIds picked.
    result["enabled"] = best_of(rounds, run_enabled, lines) * 1e6
    try:
        from fhirrug.validate.model import model_class

        cls = model_class("QuestionnaireResponse")

        def model(ls):
            for line in ls:
                cls.model_validate_json(line)

        result["model"] = best_of(max(1, rounds // 2), model, lines[:model_sample]) * 1e6
    except Exception as exc:  # noqa: BLE001 - the comparison is optional
        result["model_error"] = str(exc)
    sample = lines[:2000]
    result["invalid_share"] = sum(1 for line in sample if not evaluate(json.loads(line)).valid) / len(sample)
    result["fast_share"] = sum(1 for line in sample if takes_fast_path(plan, json.loads(line))) / len(sample)
    return result


def takes_fast_path(plan, response) -> bool:
    if plan.fast is None:
        return False
    try:
        plan.fast(response, [], "")
    except Exception:  # noqa: BLE001 - declined: the general walker evaluates it
        return False
    return True


def parse_lines(lines: list[bytes]) -> None:
    """The baseline loop: json.loads of every line."""
    for line in lines:
        json.loads(line)


def evaluate_lines(lines: list[bytes], evaluate) -> None:
    """json.loads, then evaluate + .valid + .outcomes, of every line (what a pipeline asks)."""
    for line in lines:
        ev = evaluate(json.loads(line))
        ev.valid
        ev.outcomes


def general_walker(plan, lines: list[bytes], rounds: int) -> float:
    """Evaluation alone by the general walker (the plan without its fast path), us per response."""
    return (best_of(rounds, lambda ls: evaluate_lines(ls, plan.evaluate), lines) - best_of(rounds, parse_lines, lines)) * 1e6


def alone(result: dict) -> float:
    """Evaluation alone: parse+evaluate minus parse, the smaller estimate of the two parsers."""
    return min(result["evaluate"][p] - result["parse"][p] for p in result["parse"])


def report(result: dict, compile_time: float, peer: tuple[str, float, str] | None, targets: bool = True) -> list[tuple]:
    """Print one workload; returns (workload, target, measured, met) rows (none when `targets`
    is false: a workload issue 15 sets no target for)."""
    J = result["parse"]["json.loads"]
    JE = result["evaluate"]["json.loads"]
    print(f"\n== {result['workload']}: {result['items']} items, {result['responses']} responses ({result['invalid_share']:.0%} invalid, "
          f"{result['fast_share']:.0%} through the fast path), {shown_compile(compile_time)}")
    print(f"  {'json.loads':<34} {J:9.1f} us/response")
    print(f"  {'json.loads + evaluate':<34} {JE:9.1f} us/response   {JE / J:.2f}x json.loads (same parser both sides)   {1e6 / JE:,.0f} responses/s")
    rows = [(result["workload"], "parse+evaluate <= 2.0x json.loads (json.loads both sides)", JE / J, JE / J <= TARGETS["same-parser json.loads"])]
    if "orjson.loads" in result["parse"]:
        O = result["parse"]["orjson.loads"]
        OE = result["evaluate"]["orjson.loads"]
        print(f"  {'orjson.loads':<34} {O:9.1f} us/response")
        print(f"  {'orjson.loads + evaluate':<34} {OE:9.1f} us/response   {OE / O:.2f}x orjson.loads (same parser both sides)   {1e6 / OE:,.0f} responses/s")
        print(f"  {'mixed: orjson+evaluate / json.loads':<34} {'':9} {'':12}   {OE / J:.2f}x (numerator orjson.loads, denominator json.loads)")
        rows.append((result["workload"], "orjson+evaluate <= 1.5x json.loads (mixed parsers)", OE / J, OE / J <= TARGETS["mixed orjson/json.loads"]))
    evaluation = alone(result)
    line = f"  {'evaluation alone':<34} {evaluation:9.1f} us/response"
    if peer is not None:
        label, figure, how = peer
        line += f"   {figure / evaluation:.1f}x faster than {label} ({figure:.0f} us, {how})"
        rows.append((result["workload"], f"evaluation alone >= 15x the best peer ({label})", figure / evaluation, figure / evaluation >= TARGETS["vs best peer"]))
    print(line)
    if not targets:
        rows = []
    if "general" in result:
        print(f"  {'the general walker alone':<34} {result['general']:9.1f} us/response   the fast path is {result['general'] / evaluation:.1f}x faster (no peer figure for repeating groups)")
    print(f"  {'json.loads + evaluate + enabled':<34} {result['enabled']:9.1f} us/response   {result['enabled'] / J:.2f}x json.loads (also .enabled: the linkIds of the enabled items)")
    print(f"  {'json.loads + evaluate + issues':<34} {result['issues']:9.1f} us/response   {result['issues'] / J:.2f}x json.loads")
    if "model" in result:
        m = result["model"]
        print(f"  {'R4B model_validate_json':<34} {m:9.1f} us/response   parse only; fhirrug's json.loads + evaluate is {m / JE:.1f}x faster")
    else:
        print(f"  R4B model: not measured ({result.get('model_error')})")
    return rows


# -- scaling ------------------------------------------------------------------------------------


def scaling_questionnaire(groups: int, per_group: int = 50, seed: int = 7) -> dict:
    """`groups` groups of `per_group` items shaped like wide500 (boolean, choice with Coding
    options, integer; about 40% with one to three conditions on earlier items of the group), and
    each group after the first enabled by an answer in the one before."""
    rnd = random.Random(seed)
    system = "http://example.org/cs"
    items = []
    for g in range(groups):
        children = []
        for k in range(per_group):
            link = f"g{g}.i{k}"
            kind = ("boolean", "choice", "integer")[k % 3]
            entry = {"linkId": link, "type": kind, "text": f"Vraag {link}"}
            if kind == "choice":
                entry["answerOption"] = [{"valueCoding": {"system": system, "code": c}} for c in "abc"]
            if k and rnd.random() < 0.4:
                conditions = []
                for _ in range(rnd.choice([1, 1, 2, 3])):
                    j = rnd.randrange(k)
                    target = children[j]
                    if target["type"] == "boolean":
                        conditions.append({"question": target["linkId"], "operator": "=", "answerBoolean": rnd.random() < 0.5})
                    elif target["type"] == "choice":
                        conditions.append({"question": target["linkId"], "operator": "!=", "answerCoding": {"system": system, "code": "c"}})
                    else:
                        conditions.append({"question": target["linkId"], "operator": "exists", "answerBoolean": True})
                entry["enableWhen"] = conditions
                if len(conditions) > 1:
                    entry["enableBehavior"] = rnd.choice(["all", "any"])
            children.append(entry)
        group = {"linkId": f"g{g}", "type": "group", "text": f"Groep {g}", "item": children}
        if g:
            group["enableWhen"] = [{"question": f"g{g - 1}.i0", "operator": "exists", "answerBoolean": True}]
        items.append(group)
    return {"resourceType": "Questionnaire", "id": f"scale{groups}", "url": f"http://example.org/Questionnaire/scale{groups}",
            "status": "draft", "item": items}


def held(response: dict) -> int:
    count, stack = 0, list(response.get("item") or ())
    while stack:
        item = stack.pop()
        count += 1
        stack.extend(item.get("item") or ())
    return count


def scaling(rounds: int) -> list[dict]:
    rows = []
    for groups in (1, 10, 100):
        questionnaire = scaling_questionnaire(groups)
        plan = compile(questionnaire)
        rnd = random.Random(groups)
        count = max(60, 2000 // groups)
        full = [random_response(plan, rnd, answer_rate=1.0, true_rate=0.5, empty_group_rate=0, strip_rate=1.0, statuses=("completed",)) for _ in range(count)]
        one = [dict(r, item=r["item"][:1]) for r in full]  # the first group only
        row = {"items": len(plan.nodes), "compile_ms": compile_ms(questionnaire, rounds=3), "fast": plan.fast is not None}
        for label, responses in (("full", full), ("one group", one)):
            lines = [json.dumps(r).encode() for r in responses]
            promote(plan, lines)
            parse = parse_lines

            def run(ls, evaluate=plan.evaluate):
                evaluate_lines(ls, evaluate)

            timings = [(best_of(rounds, parse, lines), best_of(rounds, run, lines)) for _ in range(2)]
            floor = min(t[0] for t in timings)
            cost = (min(t[1] for t in timings) - floor) * 1e6
            items_held = sum(held(r) for r in responses) / len(responses)
            row[label] = (items_held, cost, floor * 1e6)
        rows.append(row)
    return rows


def report_scaling(rows: list[dict]) -> None:
    print("\n== scaling: forms of groups of 50 items; evaluation alone per response (json.loads subtracted), and json.loads for scale")
    print(f"  {'items':>6} {'compile':>20}   {'full: items held':>16} {'us':>9} {'us/item':>8} {'json us/item':>12}   {'one group: held':>15} {'us':>8}")
    for row in rows:
        (fh, fc, fj), (oh, oc, _) = row["full"], row["one group"]
        plan_ms, generated = row["compile_ms"]
        print(f"  {row['items']:>6} {plan_ms:>7.1f}ms {'+ %.1fms' % generated if generated is not None else '(table)' if row['fast'] else '(general)':>10}   {fh:>16.0f} {fc:>9.1f} {fc / fh:>8.3f} {fj / fh:>12.3f}   {oh:>15.0f} {oc:>8.1f}")
    print("  compile: the Plan, + the generated walker it takes after 1,000 responses ((table): it keeps the table walker;")
    print("  (general) forms too large for generated code, beyond GENERATE_LIMIT, use the general walker). Full responses: cost")
    print("  per item held against json.loads's per item (both grow once a response's objects outgrow the CPU cache).")
    print("  One group: the cost of the group and the one group that reads it, plus what every response pays per")
    print("  top-level item of the form (its flags, a test whether the response holds it).")


def repetition_responses(plan, repetitions: int, count: int) -> list[bytes]:
    """`count` responses with `repetitions` repetitions each, the group enabled ("medicatie":
    ja), the answers of disabled items removed."""
    rnd = random.Random(repetitions)
    out = []
    for k in range(count):
        response = random_response(plan, rnd, answer_rate=0.9, true_rate=0.5, empty_group_rate=0, strip_rate=0,
                                   statuses=("completed",), response_id=f"s{k}", repetitions=(repetitions, repetitions))
        response["item"] = [it if it["linkId"] != "medicatie" else {"linkId": "medicatie", "answer": [{"valueBoolean": True}]} for it in response["item"]]
        out.append(json.dumps(plan.strip(response)).encode())
    return out


def timed(rounds: int, fn, items, collector: str, engine) -> float:
    """Seconds per item, best of `rounds`, with the collector "off", "on" (as Python sets it,
    with the package in memory) or as a "batch" sets it (BatchCollector)."""
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        if collector == "off":
            gc.disable()
        try:
            if collector == "batch":
                with BatchCollector(engine):
                    start = time.process_time()
                    fn(items)
                    elapsed = time.process_time() - start
            else:
                start = time.process_time()
                fn(items)
                elapsed = time.process_time() - start
        finally:
            gc.enable()
        best = min(best, elapsed)
    return best / len(items)


def scaling_repetitions(rounds: int, engine) -> list[dict]:
    plan = compile(medication_questionnaire())
    general = Plan(plan.questionnaire)
    general.fast = None  # the instance walker, as before the fast path of repeating groups
    rows = []
    for repetitions in (10, 1000, 5000):
        lines = repetition_responses(plan, repetitions, max(4, 20000 // repetitions))

        parse = parse_lines

        def run(ls, evaluate=plan.evaluate):
            evaluate_lines(ls, evaluate)

        row = {"repetitions": repetitions, "responses": len(lines)}
        for collector in ("off", "on", "batch"):
            row[collector] = (timed(rounds, parse, lines, collector, engine) * 1e6 / repetitions,
                              timed(rounds, run, lines, collector, engine) * 1e6 / repetitions)
        row["general"] = timed(max(1, rounds // 2), lambda ls: run(ls, general.evaluate), lines, "off", engine) * 1e6 / repetitions
        rows.append(row)
    return rows


def report_scaling_repetitions(rows: list[dict]) -> None:
    print("\n== scaling: responses of 10 / 1,000 / 5,000 repetitions of the repeating group (medicatie), us per repetition:")
    print("   json.loads + evaluate, json.loads alone, and evaluation alone (the difference), with the garbage collector off,")
    print("   on as Python sets it (the package in memory), and as a batch sets it (BatchCollector: gc.freeze, threshold")
    print("   300,000); the general walker's evaluation alone, collector off")
    head = "   ".join(f"{c + ': json+eval':>16} {'json':>6} {'eval':>6}" for c in ("off", "on", "batch"))
    print(f"  {'repetitions':>11}   {head}   {'general walker':>14}")
    for row in rows:
        cells = "   ".join(f"{row[c][1]:>16.2f} {row[c][0]:>6.2f} {row[c][1] - row[c][0]:>6.2f}" for c in ("off", "on", "batch"))
        print(f"  {row['repetitions']:>11}   {cells}   {row['general'] - row['off'][0]:>14.2f}")
    first, last = rows[0], rows[-1]
    for c in ("off", "on", "batch"):
        growth = (last[c][1] - last[c][0]) / (first[c][1] - first[c][0])
        print(f"  5,000 against 10 repetitions, per repetition, collector {c + ':':<6} json.loads + evaluate {last[c][1] / first[c][1]:.2f}x, "
              f"json.loads {last[c][0] / first[c][0]:.2f}x, evaluation alone {growth:.2f}x (1.00x: linear)")


# -- streaming --------------------------------------------------------------------------------


def rss_kib() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def stream(lines: list[bytes], engine) -> dict:
    """Evaluate an NDJSON file from disk the way `fhirrug evaluate` does; RSS at 10% and 100%."""
    from fhirrug.engine.batch import Summary, evaluate_input, iter_inputs

    with tempfile.NamedTemporaryFile("wb", suffix=".ndjson", delete=False) as handle:
        for line in lines:
            handle.write(line + b"\n")
        path = handle.name
    summary = Summary()
    checkpoint = max(1, len(lines) // 10)
    rss_10 = 0
    gc.collect()
    start = time.perf_counter()
    try:
        with BatchCollector(engine) as collector:  # as `fhirrug evaluate` streams
            for k, item in enumerate(iter_inputs([path]), 1):
                record, _ = evaluate_input(engine, item, None)
                summary.add(record)
                collector.after()
                if k == checkpoint:
                    rss_10 = rss_kib()
        elapsed = time.perf_counter() - start
    finally:
        os.unlink(path)
    return {"per_second": summary.responses / elapsed, "rss_10_kib": rss_10, "rss_100_kib": rss_kib(), "valid": summary.valid, "invalid": summary.invalid}


def workloads(folder: Path | None) -> Path | None:
    if folder is not None:
        return folder
    maker = SHARED_BENCH / "make_workloads.py"
    if not maker.is_file():
        return None
    out = Path(tempfile.mkdtemp(prefix="fhirrug-bench-"))
    subprocess.run([sys.executable, str(maker), str(out)], check=True, capture_output=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="self-diagnosis responses to generate (default 100000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model-sample", type=int, default=2000, help="responses timed through the R4B model")
    parser.add_argument("--workloads", type=Path, help="folder written by ../shared/bench/make_workloads.py (default: made now from ../shared)")
    parser.add_argument("--keep", type=Path, help="also write the generated self-diagnosis NDJSON here")
    parser.add_argument("--no-stream", action="store_true", help="skip the NDJSON streaming figure")
    args = parser.parse_args()

    print(f"fhirrug engine benchmark: python {sys.version.split()[0]}, orjson {'yes' if orjson else 'no'}; load average {load()} (figures are provisional on a loaded machine)")
    package = load_package(ROOT)
    engine = Engine(package)
    questionnaire = next(r.data for r in package.resources if r.path.resolve() == SELF_DIAGNOSIS.resolve())
    plan = engine.plan_for(questionnaire)
    lines = generate(plan, args.n)
    if args.keep:
        args.keep.write_bytes(b"\n".join(lines) + b"\n")
    results = {"zelfdiagnose": (bench("zelfdiagnose", plan, lines, args.rounds, args.model_sample), compile_ms(questionnaire, engine.codesystems, engine.valuesets))}
    folder = workloads(args.workloads)
    if folder is None:
        print("(chain51 and wide500: ../shared/bench is not beside the repository; pass --workloads DIR)")
    else:
        for name in ("chain51", "wide500"):
            q = json.loads((folder / f"{name}-q.json").read_text())
            responses = json.loads((folder / f"{name}-qrs.json").read_text())
            repeat = max(1, 5000 // len(responses) // (1 if name == "chain51" else 10))
            results[name] = (bench(name, compile(q), [json.dumps(r).encode() for r in responses] * repeat, args.rounds, 100), compile_ms(q))

    medication = compile(medication_questionnaire())
    general = Plan(medication.questionnaire)
    general.fast = None
    repeating = generate_repeating(medication, max(2000, args.n // 10))
    results["medicatie"] = (bench("medicatie", medication, repeating, args.rounds, 200), compile_ms(medication.questionnaire))
    results["medicatie"][0]["general"] = general_walker(general, repeating[:2000], args.rounds)

    rows = []
    for name, (result, compile_time) in results.items():
        peer = None
        if name in PEERS:
            label, figure = PEERS[name]
            peer = (label, figure, "../shared/bench/README.md")
        elif name == "zelfdiagnose" and "chain51" in results:
            label, chain_figure = PEERS["chain51"]
            (sd_times, sd_eval), (chain_times, chain_eval) = ISSUE_RATIOS["zelfdiagnose"], ISSUE_RATIOS["chain51"]
            ratio = (sd_times * sd_eval * result["parse"]["json.loads"]) / (chain_times * chain_eval * results["chain51"][0]["parse"]["json.loads"])
            peer = (label, chain_figure * ratio, f"derived: {chain_figure:.0f} us on chain51 x {ratio:.2f} by issue 15's ratios")
        rows += report(result, compile_time, peer, targets=name != "medicatie")

    print("\n== targets (issue 15)")
    for workload, target, measured, met in rows:
        print(f"  {'met    ' if met else 'NOT MET'}  {workload:<13} {target:<62} {measured:.2f}x")

    report_scaling(scaling(args.rounds))
    report_scaling_repetitions(scaling_repetitions(args.rounds, engine))

    if not args.no_stream:
        s = stream(lines, engine)
        growth = s["rss_100_kib"] - s["rss_10_kib"]
        print(f"\n== stream NDJSON (fhirrug.engine.batch, the self-diagnosis responses): {s['per_second']:,.0f} responses/s wall; RSS "
              f"{s['rss_10_kib'] / 1024:.1f} MiB at 10%, {s['rss_100_kib'] / 1024:.1f} MiB at 100% (growth {growth / 1024:+.1f} MiB; {s['valid']} valid, {s['invalid']} invalid)")
    print(f"\nload average at the end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
