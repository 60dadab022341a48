#!/usr/bin/env python3
"""Benchmark of `fhirrug evaluate --spark`: rates measured in one run, never a timing assertion.

Writes a synthetic bulk export of N QuestionnaireResponses (default 1,000,000; three NDJSON
files, see tests/spark/bulk.py, with 0.1% broken lines) and a content package with two versions
of the self-diagnosis Questionnaire, then times, each in its own process:

  single process  `fhirrug evaluate EXPORT --format ndjson > FILE` (the baseline)
  Spark local[1]  `fhirrug evaluate --spark local[1] EXPORT --out DIR.ndjson` (the same records)
  Spark local[2]  the same on two cores

and prints the rates, the speed-up from one to two cores (goal >= 1.6x) and the memory of the
Spark driver at N/10 and at N responses: the peak resident size of its JVM (which in local mode
also runs the executor threads, under a 1 GiB heap limit) and of its Python process, and the JVM
heap still in use after the job; none may grow with the number of responses.

A Spark figure is the job (counting pass, evaluation, writing, the summary read back); the
JVM's start is shown beside it. Rates are wall clock, so the machine's load average is printed
before and after: on a shared machine, re-run when it is quiet. The CPU time per response (all
processes of the run: the JVM and its Python workers) does not depend on the load: it says what
Spark costs beyond the evaluation itself.

Usage: scripts/bench_spark.py [-n 1000000] [--keep DIR] [--format ndjson|parquet]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "spark"))

import bulk  # noqa: E402

BROKEN = 0.001  # a real export has few broken lines; the tests use 2%


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0] if Path("/proc/loadavg").exists() else "?"


def peak_kib(pid: int | str = "self") -> int:
    """VmHWM: the peak resident set of a process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of `root` and its live descendants (the JVM and its Python
    workers), from /proc."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(status.parent.name))
    total, stack, tick = 0.0, [root], os.sysconf("SC_CLK_TCK")
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, ()))
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def child(master: str, export: str, package: str, out: str) -> None:
    """One Spark measurement in this process: prints a JSON line."""
    from fhirrug.package import load_package
    from fhirrug.spark import command, job

    started = time.perf_counter()
    spark = job.session(master, app_name="fhirrug bench", conf={"spark.driver.memory": "1g"})
    spark.range(1).count()  # the JVM and its first job are up
    startup = time.perf_counter() - started
    package = load_package(package)
    jvm = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    cpu = tree_cpu(jvm) + time.process_time()
    began = time.perf_counter()
    written = command.run(master, [export], out, package)
    seconds = time.perf_counter() - began
    cpu = tree_cpu(jvm) + time.process_time() - cpu
    # What the driver JVM still holds after the job: its heap in use after a full collection.
    spark.sparkContext._jvm.java.lang.System.gc()
    live = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed()
    result = {"startup": startup, "seconds": seconds, "cpu": cpu, "responses": written.summary["responses"],
              "jvm_peak_kib": peak_kib(jvm), "jvm_live_kib": live // 1024, "python_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    spark.stop()
    print(json.dumps(result))


def run_child(master: str, export: Path, package: Path, out: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", master, str(export), str(package), str(out)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"Spark {master} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def single(export: Path, package: Path, out: Path) -> dict:
    fhirrug = Path(sys.executable).parent / "fhirrug"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    with open(out, "wb") as handle:
        done = subprocess.run([str(fhirrug), "evaluate", str(export), "--package", str(package), "--format", "ndjson", "--no-progress"], stdout=handle, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"fhirrug evaluate failed:\n{done.stderr[-3000:]}")
    responses = int(done.stderr.split("fhirrug: ", 1)[1].split(" responses", 1)[0])
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"seconds": seconds, "cpu": cpu, "responses": responses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="Keep the generated export here (and reuse it when it is there).")
    parser.add_argument("--format", choices=("ndjson", "parquet"), default="ndjson", help="What the Spark runs write (default: the same NDJSON as the baseline).")
    parser.add_argument("--child", nargs=4, metavar=("MASTER", "EXPORT", "PACKAGE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    work = Path(tempfile.mkdtemp(prefix="fhirrug-bench-spark-"))
    data = args.keep or work
    try:
        package = data / "package"
        exports = {n: data / f"export-{n}" for n in (args.n // 10, args.n)}
        if not package.exists():
            bulk.make_package(package)
        for n, folder in exports.items():
            if not folder.exists():
                began = time.perf_counter()
                bulk.write_export(folder, n, broken=BROKEN)
                print(f"generated {n:,} lines in {time.perf_counter() - began:.1f} s: {folder}", file=sys.stderr)
        export = exports[args.n]
        size = sum(p.stat().st_size for p in export.rglob("*") if p.is_file())
        print(f"fhirrug Spark benchmark: {args.n:,} lines, {size / 2**30:.2f} GiB of NDJSON in 3 files; {os.cpu_count()} cores; load average {load()} before")

        base = single(export, package, work / "single.ndjson")
        (work / "single.ndjson").unlink()
        rate = base["responses"] / base["seconds"]
        per = lambda run: run["cpu"] / run["responses"] * 1e6  # noqa: E731 - CPU µs per response
        print(f"  single process  fhirrug evaluate --format ndjson      {base['seconds']:7.1f} s  {rate:9,.0f} responses/s  CPU {per(base):.0f} µs/response")
        runs = {}
        for master in ("local[1]", "local[2]"):
            out = work / f"out-{master[6]}.{args.format}"
            runs[master] = run_child(master, export, package, out)
            shutil.rmtree(out, ignore_errors=True)
            r = runs[master]
            print(f"  Spark {master:<9} evaluate --spark --out DIR.{args.format:<8} {r['seconds']:7.1f} s  {r['responses'] / r['seconds']:9,.0f} responses/s  CPU {per(r):.0f} µs/response  (+ {r['startup']:.1f} s JVM start)")
            assert r["responses"] == base["responses"], (r["responses"], base["responses"])
        one, two = (runs[m]["responses"] / runs[m]["seconds"] for m in ("local[1]", "local[2]"))
        print(f"  speed-up local[1] -> local[2]: {two / one:.2f}x (goal >= 1.6x); local[2] vs single process: {two / rate:.2f}x")
        small_n = args.n // 10
        small = run_child("local[2]", exports[small_n], package, work / f"out-small.{args.format}")
        big = runs["local[2]"]
        mib = lambda kib: kib / 1024  # noqa: E731
        print(f"  driver memory, local[2], at {small_n:,} and {args.n:,} responses: peak resident JVM {mib(small['jvm_peak_kib']):.0f} and {mib(big['jvm_peak_kib']):.0f} MiB "
              f"(heap limit 1 GiB; in local mode the JVM also runs the executor threads), JVM heap live after the job {mib(small['jvm_live_kib']):.0f} and "
              f"{mib(big['jvm_live_kib']):.0f} MiB, Python driver peak {mib(small['python_peak_kib']):.0f} and {mib(big['python_peak_kib']):.0f} MiB")
        print(f"  load average {load()} after")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
