#!/usr/bin/env python3
"""Whether orjson would make fhirrug's strict parse faster: a figure for the README's decision
(issue 18), never a test.

On bench_evaluate's self-diagnosis responses (the same generator and seed), one NDJSON line each,
prints microseconds per response (best of --rounds, collector off inside each timed loop) for:

  json.loads                  the standard library, not strict (NaN, duplicate keys pass)
  fhirrug strict              fhirrug.jsonio.parse_bytes: what `validate` and `evaluate` run
                              (duplicate keys, NaN/Infinity, depth, size, lone surrogates refused)
  orjson.loads                not strict either: the last of two equal keys wins silently, and an
                              integer beyond 64 bits becomes a float (1e29, a changed value)
  orjson made strict          orjson.loads plus the cheapest checks found that keep fhirrug's
                              answers (`strict_orjson` below), falling back to the strict
                              decoder when one fires, plus parse_bytes's checks after decoding

The load average is printed: on a shared machine the figures are provisional.

    .venv/bin/python scripts/bench_parse.py [-n 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_evaluate import SELF_DIAGNOSIS, best_of, generate, load  # noqa: E402

from fhirrug import jsonio  # noqa: E402
from fhirrug.engine import Engine  # noqa: E402
from fhirrug.package import load_package  # noqa: E402

try:
    import orjson
except ImportError:  # pragma: no cover
    orjson = None

_DIGITS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))  # digits to '0', the rest to ' '


def strict_orjson(raw: bytes):
    """orjson.loads with fhirrug's answers kept. Every key ends in `":` in orjson's compact output
    and, unless the text puts space before the colon, in the input: fewer there means a key was
    dropped (a duplicate). A \\u escape could forge or hide a `":` (and may be a lone surrogate);
    19 digits in a row may be an integer orjson turns into a float. Any of these: the strict
    decoder decides."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return jsonio.parse_bytes(raw, "-")  # the strict decoder's own message
    if b"\\u" in raw or b"0" * 19 in raw.translate(_DIGITS) or raw.count(b'":') != orjson.dumps(value).count(b'":'):
        return jsonio.parse_bytes(raw, "-")
    text = raw.decode("utf-8")  # as parse_bytes: the depth check after decoding
    if text.count("{") + text.count("[") > jsonio.MAX_DEPTH and jsonio._depth_exceeds(value, jsonio.MAX_DEPTH):
        return jsonio.parse_bytes(raw, "-")
    return value, []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"parsing self-diagnosis responses: load average {load()} (provisional on a loaded machine)")
    package = load_package(ROOT)
    questionnaire = next(r.data for r in package.resources if r.path.resolve() == SELF_DIAGNOSIS.resolve())
    lines = generate(Engine(package).plan_for(questionnaire), args.n)
    print(f"  {len(lines):,} responses, {sum(map(len, lines)) / len(lines):,.0f} bytes each on average")
    candidates = {"json.loads": json.loads, "fhirrug strict (jsonio.parse_bytes)": lambda raw: jsonio.parse_bytes(raw, "-")}
    if orjson is not None:
        candidates["orjson.loads (not strict)"] = orjson.loads
        candidates["orjson made strict (strict_orjson)"] = strict_orjson
        same = all(strict_orjson(raw) == jsonio.parse_bytes(raw, "-") for raw in lines[:2000])
        print(f"  strict_orjson gives parse_bytes's answer on the first 2,000: {same}")
    figures = {}
    for label, fn in candidates.items():
        figures[label] = best_of(args.rounds, lambda ls, fn=fn: [fn(raw) for raw in ls], lines) * 1e6
    strict = figures["fhirrug strict (jsonio.parse_bytes)"]
    for label, us in figures.items():
        print(f"  {label:<38} {us:7.2f} us/response   {us / strict:5.2f}x fhirrug strict")
    print(f"load average at the end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
