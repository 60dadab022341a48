"""Running mutants through `fhirrug validate` and `fhirrug evaluate` as a pipeline would, and
counting what must never happen. Shared by the bounded suite and `scripts/fuzz.py`.

Both commands run in-process through click's CliRunner (the same code path as the console
script: option parsing, the error boundary, the reporters, the exit code), on files written to a
throw-away copy of this package, so that a mutated response still finds its Questionnaire and a
mutated Questionnaire is validated in the context of its package.

What is counted (`Tally`):
- internal errors: `fhirrug-internal-error` findings, an exit code 2, or an exception;
- findings without a file, and without an expression (a FHIRPath location). Findings about the
  file as a whole (it cannot be read or is not JSON: stage 1) have no place inside a resource to
  point at and are not counted as missing an expression;
- lost responses (evaluate): fewer records than responses given; lost files (validate): a file
  given that the report does not list;
- exit codes other than those documented (validate: 1 exactly when a finding is an error or
  fatal, else 0; evaluate: 1 exactly when a record is invalid, else 0);
- changed evaluations: an inert mutant (see mutants.py) evaluated differently from its seed;
- the slowest file, with the mutant's description.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from fhirrug.cli import main

from mutants import REPO_ROOT, Mutant, seeds

# Stage 1 (read and parse): findings about the file as a whole, with no expression by design.
FILE_LEVEL = frozenset({
    "fhirrug-file-unreadable", "fhirrug-file-too-large", "fhirrug-json-bom", "fhirrug-json-encoding",
    "fhirrug-json-syntax", "fhirrug-json-duplicate-key", "fhirrug-json-too-deep", "fhirrug-json-not-object",
})
FAILING = ("error", "fatal")


def bounded(examples: int) -> settings:
    """The suite's settings: a few examples, no deadline (the machine is shared), big mutants allowed."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])


@dataclass
class Problem:
    kind: str  # internal-error, no-file, no-expression, lost, exit-code, changed
    detail: str
    mutant: str


@dataclass
class Tally:
    inputs: int = 0
    problems: list[Problem] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")
    findings: int = 0
    slow: list[tuple[float, str]] = field(default_factory=list)  # the five slowest

    def count(self, kind: str) -> int:
        return sum(1 for p in self.problems if p.kind == kind)

    def add(self, kind: str, detail: str, mutant: Mutant | str) -> None:
        self.problems.append(Problem(kind, detail, mutant if isinstance(mutant, str) else mutant.describe()))

    def timed(self, seconds: float, what: str) -> None:
        if seconds > self.slowest[0]:
            self.slowest = (seconds, what)
        if len(self.slow) < 5 or seconds > self.slow[-1][0]:
            self.slow = sorted(self.slow + [(seconds, what)], reverse=True)[:5]

    def merge(self, other: "Tally") -> None:
        self.inputs += other.inputs
        self.findings += other.findings
        self.problems += other.problems
        for entry in other.slow:
            self.timed(*entry)

    def summary(self) -> str:
        kinds = ("internal-error", "no-file", "no-expression", "lost", "exit-code", "changed")
        counts = ", ".join(f"{kind}: {self.count(kind)}" for kind in kinds)
        return f"{self.inputs} inputs, {self.findings} findings; {counts}; slowest {self.slowest[0]:.2f} s ({self.slowest[1][:160]})"


class Project:
    """A throw-away copy of this package (fhirrug.toml and its content folders)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="fhirrug-fuzz-"))
        shutil.copy(REPO_ROOT / "fhirrug.toml", self.root / "fhirrug.toml")
        for folder in ("definitions", "questionnaires", "valuesets", "examples"):
            shutil.copytree(REPO_ROOT / folder, self.root / folder, ignore=shutil.ignore_patterns("invalid"), dirs_exist_ok=True)
        self.scratch = self.root / "fuzz-out"
        self.scratch.mkdir(exist_ok=True)
        self._serial = 0

    def place(self, mutant: Mutant) -> Path:
        """Write the mutant into its seed's folder under a new name (the package gains a file)."""
        self._serial += 1
        path = self.root / mutant.seed.folder / f"fuzz-{self._serial}-{mutant.seed.name}"
        path.write_bytes(mutant.raw)
        return path

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _invoke(args: list[str], input: bytes | None = None):
    return CliRunner().invoke(main, args, input=input, catch_exceptions=True)


def _check_issue(tally: Tally, issue: dict, mutant: Mutant | str) -> None:
    tally.findings += 1
    if issue["code"] == "fhirrug-internal-error":
        tally.add("internal-error", issue["message"][:300], mutant)
    if not issue.get("file"):
        tally.add("no-file", f"{issue['code']} @ {issue.get('expression')!r}: {issue['message'][:200]}", mutant)
    if not issue.get("expression") and issue["code"] not in FILE_LEVEL:
        tally.add("no-expression", f"{issue['code']}: {issue['message'][:200]}", mutant)


def _crashed(result) -> str | None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return f"{type(result.exception).__name__}: {result.exception}"
    if result.exit_code not in (0, 1):
        return f"exit {result.exit_code}: {result.stderr.strip()[:300]}"
    return None


# -- validate -------------------------------------------------------------------------------


def warm_up(project: Project) -> None:
    """Validate one file of each resource type once, untimed: imports and the model classes are
    built on first use, and that is not the time of the file that happens to come first."""
    first: dict[str, Path] = {}
    for seed in seeds():
        first.setdefault(seed.resource_type, project.root / seed.folder / seed.name)
    _invoke(["validate", "--format", "json", *map(str, first.values())])


def validate_one(project: Project, mutant: Mutant, tally: Tally) -> None:
    """`fhirrug validate --format json FILE` on one mutant placed in the package."""
    path = project.place(mutant)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        result = _invoke(["validate", "--format", "json", str(path)])
        cpu = time.process_time() - cpu  # this process only: a forked model worker is not in it
        tally.timed(time.perf_counter() - started, f"validate {mutant.describe()} ({len(mutant.raw):,} bytes; {cpu:.2f} s CPU)")
    finally:
        path.unlink()
    tally.inputs += 1
    crash = _crashed(result)
    if crash:
        tally.add("internal-error", crash, mutant)
        return
    report = json.loads(result.stdout)
    for issue in report["issues"]:
        _check_issue(tally, issue, mutant)
    if not any(Path(f).name == path.name for f in report["files"]):
        tally.add("lost", f"{path.name} is not among the files reported", mutant)
    failing = any(i["severity"] in FAILING for i in report["issues"])
    if result.exit_code != (1 if failing else 0):
        tally.add("exit-code", f"exit {result.exit_code} with {'' if failing else 'no '}errors", mutant)


# -- evaluate -------------------------------------------------------------------------------


def _records(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _check_records(tally: Tally, result, expected: int, what: str, started: float) -> list[dict]:
    tally.timed(time.perf_counter() - started, what)
    if expected == 0 and result.exit_code == 2 and "nothing to evaluate" in result.stderr:
        return []  # documented: input that holds no response at all (blank lines only) is exit 2
    crash = _crashed(result)
    if crash:
        tally.add("internal-error", crash, what)
        return []
    records = _records(result)
    if len(records) != expected:
        tally.add("lost", f"{len(records)} records for {expected} responses", what)
    for record in records:
        for issue in record["issues"]:
            _check_issue(tally, issue, f"{what} / record {record.get('position')}")
    invalid = any(not r["valid"] for r in records)
    if result.exit_code != (1 if invalid else 0):
        tally.add("exit-code", f"exit {result.exit_code} with {'' if invalid else 'no '}invalid records", what)
    return records


def _one_pretty_printed_document(lines: list[bytes]) -> bool:
    """Standard input is NDJSON unless (README, "Bad input") its first line is a lone `{` or `[`
    and none of its first 64 lines is a JSON object on its own: then it is one pretty-printed
    document (a mutant truncated to its first byte looks exactly like that)."""
    lines = [line for line in lines if line.strip()]
    if len(lines) < 2 or lines[0].strip() not in (b"{", b"["):
        return False
    for line in lines[:64]:
        try:
            if isinstance(json.loads(line), dict):
                return False
        except (ValueError, UnicodeDecodeError, RecursionError):
            pass
    return True


def evaluate_responses(project: Project, mutants: list[Mutant], tally: Tally, form: str = "ndjson") -> None:
    """`fhirrug evaluate --format ndjson` on mutated responses: one NDJSON file (a line each),
    standard input, one .json file each, or one Bundle of them all."""
    what = f"evaluate {form} of " + " | ".join(m.describe() for m in mutants)
    tally.inputs += len(mutants)
    if form in ("ndjson", "stdin"):
        lines = [m.raw.replace(b"\n", b" ").replace(b"\r", b" ") for m in mutants]
        # A line of only whitespace is no response at all in NDJSON: not counted as one.
        expected = sum(1 for line in lines if line.strip())
        data = b"\n".join(lines) + b"\n"
        if form == "stdin" and _one_pretty_printed_document(lines):
            expected = 1  # documented: read as one broken document, reported once
        if form == "stdin":
            started = time.perf_counter()
            result = _invoke(["evaluate", "--format", "ndjson", "--no-progress", "-"], input=data)
        else:
            path = project.scratch / "batch.ndjson"
            path.write_bytes(data)
            started = time.perf_counter()
            result = _invoke(["evaluate", "--format", "ndjson", "--no-progress", str(path)])
    elif form == "files":
        paths = []
        for k, m in enumerate(mutants):
            paths.append(project.scratch / f"r{k}.json")
            paths[-1].write_bytes(m.raw)
        expected = len(mutants)
        started = time.perf_counter()
        result = _invoke(["evaluate", "--format", "ndjson", "--no-progress", *map(str, paths)])
    else:  # a Bundle: the entries' resources are the mutants that parse (others cannot be entries)
        from fhirrug.jsonio import parse_bytes

        resources = [data for data, _ in (parse_bytes(m.raw, "m") for m in mutants)]
        entries = [{"resource": r} for r in resources if r is not None]
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
        path = project.scratch / "bundle.json"
        path.write_bytes(json.dumps(bundle, ensure_ascii=True).encode())
        kinds = [r.get("resourceType") for r in resources if r is not None]
        # Entries of another resource type are skipped by design (a Bundle may carry the
        # Questionnaire or a Patient); a Bundle of none of them still gives one record, and so
        # does a Bundle that as a whole is over the limits (too many values, too deep).
        expected = sum(1 for kind in kinds if kind == "QuestionnaireResponse" or not isinstance(kind, str) or not kind) or 1
        if parse_bytes(path.read_bytes(), str(path))[0] is None:
            expected = 1
        started = time.perf_counter()
        result = _invoke(["evaluate", "--format", "ndjson", "--no-progress", str(path)])
    _check_records(tally, result, expected, what, started)


def evaluate_against(project: Project, mutant: Mutant, responses: Path, expected: int, tally: Tally) -> None:
    """`fhirrug evaluate --questionnaire MUTANT` on the package's example responses."""
    path = project.place(mutant)
    what = f"evaluate --questionnaire {mutant.describe()}"
    tally.inputs += 1
    try:
        started = time.perf_counter()
        result = _invoke(["evaluate", "--format", "ndjson", "--no-progress", "--questionnaire", str(path), str(responses)])
    finally:
        path.unlink()
    if result.exit_code == 2 and "not a Questionnaire" in result.stderr:
        return  # documented: a --questionnaire that cannot be read as one is a usage error
    _check_records(tally, result, expected, what, started)


def outcome_of(evaluation) -> tuple:
    """What must not change when a mutation touched nothing the engine reads."""
    issues = tuple((i.code, i.severity, i.expression) for i in evaluation.issues)
    return evaluation.valid, tuple(evaluation.enabled), tuple(sorted((o["system"], o["code"]) for o in evaluation.outcomes)), issues


def check_inert(engine, mutant: Mutant, tally: Tally) -> None:
    tally.inputs += 1
    before, _ = engine.evaluate(mutant.seed.data, file="seed.json")
    after, _ = engine.evaluate(mutant.data, file="seed.json")
    if before is None or after is None:
        if (before is None) != (after is None):
            tally.add("changed", "evaluated once, not the other time", mutant)
        return
    if outcome_of(before) != outcome_of(after):
        tally.add("changed", f"{outcome_of(before)} -> {outcome_of(after)}"[:400], mutant)
