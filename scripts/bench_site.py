#!/usr/bin/env python3
"""Benchmark: `fhirrug site` for the whole shipped package, as a user runs it (a subprocess of the
installed console script, writing to a fresh folder), best of N, against `fhirrug validate` of the
same package measured in the same run as the baseline (the site includes a validation).

    .venv/bin/python scripts/bench_site.py [--repeat N] [--root DIR]

Prints the wall time of each, the ratio, the load average, and PASS/FAIL against the target:
building the site for the whole package takes at most 2.0 s. A script, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 2.0


def best_of(command: list[str], repeat: int, cwd: Path) -> tuple[float, int]:
    best, code = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        code = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        best = min(best, time.perf_counter() - start)
    return best, code


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
    try:
        out = work / "site"
        site_s, code = best_of([str(exe), "site", "--package", str(args.root), "--out", str(out)], args.repeat, work)
        if code != 0:
            print(f"fhirrug site failed (exit {code})", file=sys.stderr)
            return 2
        files = sum(1 for _ in out.rglob("*"))
        fast_s, _ = best_of([str(exe), "site", "--package", str(args.root), "--out", str(out), "--no-validate"], args.repeat, work)
        validate_s, _ = best_of([str(exe), "validate", str(args.root)], args.repeat, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    graphviz = "with Graphviz" if shutil.which("dot") else "WITHOUT Graphviz (no diagrams)"
    print(f"fhirrug site, whole package ({files} files, {graphviz}), best of {args.repeat}: {site_s:.2f} s")
    print(f"fhirrug site --no-validate:                                 {fast_s:.2f} s")
    print(f"baseline fhirrug validate of the same package:              {validate_s:.2f} s  (site / validate = {site_s / validate_s:.2f}x)")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    print(f"target: the site in <= {TARGET_S:.1f} s: {'PASS' if site_s <= TARGET_S else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
