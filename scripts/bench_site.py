#!/usr/bin/env python3
"""Benchmark: `fhirrug site` for the whole shipped package, as a user runs it (a subprocess of the
installed console script, writing to a fresh folder), best of N, against `fhirrug validate` of the
same package measured in the same run as the baseline (the site includes a validation).

    .venv/bin/python scripts/bench_site.py [--repeat N] [--root DIR]

The caches (`fhirrug validate`'s model verdicts, the site's route summaries) live in a private
folder of this run (FHIRRUG_CACHE_DIR), so the figures do not depend on earlier builds:

- first build: empty caches, one run (a fresh machine, CI);
- self-diagnosis edited: the route summaries are dropped before every run, so the routes are
  computed afresh, as after any edit of a Questionnaire; the model verdicts are kept, as for the
  unchanged resources after an edit;
- unchanged: both caches as the previous build left them (a rebuild).

Prints the wall time of each, the CPU seconds of the edited build (parent and forked children:
what a quiet machine cannot go below on one core), the ratio to validate, the load average, and
PASS/FAIL against the target: building the site for the whole package takes at most 2.0 s.
A script, not a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 2.0


def best_of(command: list[str], repeat: int, cwd: Path, env: dict, before=None) -> tuple[float, float, int]:
    """(best wall seconds, CPU seconds of that run, exit code)."""
    best, cpu, code = float("inf"), 0.0, 0
    for _ in range(repeat):
        if before is not None:
            before()
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        code = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        wall = time.perf_counter() - start
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        if wall < best:
            best, cpu = wall, (now.ru_utime - used.ru_utime) + (now.ru_stime - used.ru_stime)
    return best, cpu, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--root", type=Path, default=REPO)
    args = parser.parse_args()
    exe = Path(sys.executable).parent / "fhirrug"
    if not exe.exists():
        print(f"{exe} missing: pip install -e . first", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="fhirrug-bench-site-"))
    env = {k: v for k, v in os.environ.items() if k != "FHIRRUG_NO_CACHE"} | {"FHIRRUG_CACHE_DIR": str(work / "cache")}
    routes = work / "cache" / "site-routes"
    try:
        out = work / "site"
        site = [str(exe), "site", "--package", str(args.root), "--out", str(out)]
        first_s, _, code = best_of(site, 1, work, env)
        if code != 0:
            print(f"fhirrug site failed (exit {code})", file=sys.stderr)
            return 2
        if not routes.is_dir():
            print(f"the build stored no route summaries in {routes}", file=sys.stderr)
            return 2
        files = sum(1 for _ in out.rglob("*"))
        edited_s, edited_cpu, _ = best_of(site, args.repeat, work, env, before=lambda: shutil.rmtree(routes, ignore_errors=True))
        warm_s, _, _ = best_of(site, args.repeat, work, env)
        fast_s, _, _ = best_of(site + ["--no-validate"], args.repeat, work, env)
        validate_s, _, _ = best_of([str(exe), "validate", str(args.root)], args.repeat, work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    graphviz = "with Graphviz" if shutil.which("dot") else "WITHOUT Graphviz (no diagrams)"
    print(f"fhirrug site, whole package ({files} files, {graphviz}), best of {args.repeat}:")
    print(f"  first build, empty caches (1 run):           {first_s:.2f} s")
    print(f"  self-diagnosis edited (routes computed):     {edited_s:.2f} s  ({edited_cpu:.2f} CPU s)")
    print(f"  unchanged (route summaries cached):          {warm_s:.2f} s")
    print(f"  unchanged, --no-validate:                    {fast_s:.2f} s")
    print(f"baseline fhirrug validate of the same package: {validate_s:.2f} s  (edited site / validate = {edited_s / validate_s:.2f}x)")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    for label, seconds in (("edited", edited_s), ("unchanged", warm_s)):
        print(f"target: the site in <= {TARGET_S:.1f} s ({label}): {'PASS' if seconds <= TARGET_S else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
