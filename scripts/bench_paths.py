#!/usr/bin/env python3
"""Peak memory and time of `fhirrug paths` on the self-diagnosis form: a figure, never a test.

Runs `fhirrug paths QUESTIONNAIRE --format json` and the text form, each in its own process
(this interpreter), the output to a file, and prints per form: routes, output size, wall time,
CPU time, and the peak resident memory of that process: VmHWM of /proc/self/status, read by the
process as it exits. (Not the rusage of wait4 or /usr/bin/time: Linux carries the high-water mark
of the forking parent across exec into those, so a child of a big parent would report the
parent's size. For the same reason every output is parsed only after the last run.) Target (issue
18): the json form under 150 MB peak, memory flat in the number of routes: `--max-routes`
1,000 beside the whole table shows it. The load average is printed before and after: on a
shared machine, times are provisional (memory is not).

Usage: scripts/bench_paths.py [QUESTIONNAIRE]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SELF_DIAGNOSIS = ROOT / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json"
TARGET_MB = 150


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # pragma: no cover - not Linux
        return "unknown"


# Run in the measured process: report its own peak resident memory (kB) on stderr as it exits.
LAUNCH = """
import atexit, sys
def _peak():
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    sys.stderr.write('bench-peak-kb ' + line.split()[1] + '\\n')
    except OSError:
        pass
atexit.register(_peak)
from fhirrug.cli import main
main()
"""


def run(questionnaire: Path, form: str, out: Path, max_routes: int | None = None) -> dict:
    command = [sys.executable, "-c", LAUNCH, "paths", str(questionnaire), "--format", form, "--output", str(out)]
    if max_routes is not None:
        command += ["--max-routes", str(max_routes)]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    stderr = process.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"fhirrug paths failed ({code}): {stderr}")
    peaks = [line.split()[1] for line in stderr.splitlines() if line.startswith("bench-peak-kb ")]
    peak_mb = int(peaks[-1]) / 1024 if peaks else usage.ru_maxrss / 1024  # not Linux: rusage
    return {"form": form, "max_routes": max_routes, "out": out, "bytes": out.stat().st_size, "wall": wall,
            "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": peak_mb, "exit": code}


def count_routes(row: dict) -> int:
    """Routes in an output; the json form must parse (json.loads: the output is valid JSON)."""
    text = row["out"].read_text(encoding="utf-8")
    if row["form"] == "json":
        return len(json.loads(text)["routes"])
    return text.count("\n      => ")


def main() -> int:
    questionnaire = Path(sys.argv[1]) if len(sys.argv) > 1 else SELF_DIAGNOSIS
    print(f"fhirrug paths on {questionnaire.name}: load average {load()} (times provisional on a loaded machine; memory is not)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="fhirrug-paths-") as folder:
        for number, (form, max_routes) in enumerate((("json", None), ("json", 1000), ("text", None))):
            rows.append(run(questionnaire, form, Path(folder) / f"paths-{number}.{form}", max_routes))
        for row in rows:  # after the last run (see the docstring)
            row["routes"] = count_routes(row)
    print(f"  {'form':<28} {'routes':>8} {'output':>10} {'wall s':>7} {'CPU s':>6} {'peak MiB':>8}")
    for row in rows:
        label = row["form"] + (f" (--max-routes {row['max_routes']:,})" if row["max_routes"] else "")
        print(f"  {label:<28} {row['routes']:>8,} {row['bytes'] / 1e6:>7.1f} MB {row['wall']:>7.2f} {row['cpu']:>6.2f} {row['peak_mb']:>8.1f}")
    whole = rows[0]
    met = whole["peak_mb"] < TARGET_MB
    print(f"  {'met    ' if met else 'NOT MET'}  json form under {TARGET_MB} MB peak: {whole['peak_mb']:.1f} MiB; "
          f"{rows[1]['routes']:,} routes {rows[1]['peak_mb']:.1f} MiB, {whole['routes']:,} routes {whole['peak_mb']:.1f} MiB (flat in the routes)")
    print(f"load average at the end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
