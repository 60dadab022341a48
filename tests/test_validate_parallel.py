"""Stage 3 (model) in forked worker processes (fhirrug.validate.model.ModelBatch): exactly the
same Issues, in the same order, as running it in-process; a worker that fails becomes an Issue;
no process is left behind and the caller's process is not changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fhirrug.validate import model
from fhirrug.validate.pipeline import validate_paths, validate_root

REPO = Path(__file__).resolve().parents[1]
BROKEN = REPO / "tests" / "broken"
BAD = REPO / "tests" / "fixtures" / "validate" / "bad"

forking = pytest.mark.skipif(not (hasattr(os, "fork") and sys.platform.startswith("linux")), reason="worker processes are used on Linux only")


@pytest.fixture(autouse=True)
def no_cache(monkeypatch):
    """The model must really run (no verdict cache), in workers when a test allows them."""
    monkeypatch.setenv("FHIRRUG_NO_CACHE", "1")
    monkeypatch.delenv("FHIRRUG_WORKERS", raising=False)


def run(validate, *args, parallel: bool, monkeypatch):
    monkeypatch.setattr(model, "worker_count", lambda: 2 if parallel else 0)
    return validate(*args)


def children() -> set[int]:
    """Live (or unreaped) child processes of this process."""
    me = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def as_tuples(result):
    return [(i.code, i.severity, i.message, i.file, i.expression) for i in result.issues], result.files


@forking
def test_shipped_content_parallel_equals_serial(monkeypatch):
    before = children()
    serial = run(validate_root, REPO, parallel=False, monkeypatch=monkeypatch)
    parallel = run(validate_root, REPO, parallel=True, monkeypatch=monkeypatch)
    assert as_tuples(parallel) == as_tuples(serial)
    assert len(parallel.files) > 50
    assert children() == before


@forking
def test_broken_input_parallel_equals_serial(monkeypatch):
    serial = run(validate_paths, [BROKEN, BAD], parallel=False, monkeypatch=monkeypatch)
    parallel = run(validate_paths, [BROKEN, BAD], parallel=True, monkeypatch=monkeypatch)
    assert as_tuples(parallel) == as_tuples(serial)
    codes = {i.code for i in parallel.issues}
    assert "fhirrug-model" in codes  # the model stage's own findings came back from the workers
    assert "fhirrug-internal-error" not in codes


@forking
def test_model_findings_come_from_workers_and_the_caller_is_unchanged():
    """In a fresh interpreter: the model's findings are there, yet fhir.resources was never
    imported into the calling process, and no child process remains."""
    code = (
        "import os, sys; from fhirrug.validate import model, validate_paths;"
        "model.worker_count = lambda: 2;"
        f"r = validate_paths([{str(BROKEN / 'two-value-choices.json')!r}, {str(BROKEN / 'missing-status.json')!r}]);"
        "print(sorted({i.code for i in r.issues if i.code.startswith('fhirrug-model')}));"
        "print(any(m.startswith('fhir.resources') for m in sys.modules))"
    )
    env = {**os.environ, "FHIRRUG_NO_CACHE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert "fhirrug-model" in lines[0]
    assert lines[1] == "False"


@forking
def test_worker_exception_is_the_same_issue_as_in_process(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(model, "_check_uncached", boom)
    serial = run(validate_paths, [BAD], parallel=False, monkeypatch=monkeypatch)
    parallel = run(validate_paths, [BROKEN, BAD], parallel=True, monkeypatch=monkeypatch)
    expected = [i for i in serial.issues if i.code == "fhirrug-internal-error"]
    assert expected and all(i.message == "stage model failed: RuntimeError: boom" for i in expected)
    got = [i for i in parallel.issues if i.code == "fhirrug-internal-error" and i.file in {x.file for x in expected}]
    assert got == expected


@forking
@pytest.mark.parametrize("how, why", [("exit", "exit code 3"), ("kill", "killed by signal 9")])
def test_worker_crash_becomes_an_issue_not_a_hang(monkeypatch, how, why):
    parent = os.getpid()

    def crash(*args, **kwargs):
        if os.getpid() != parent:  # only ever in a worker
            if how == "exit":
                os._exit(3)
            os.kill(os.getpid(), 9)
        raise AssertionError("the model ran in the calling process")

    monkeypatch.setattr(model, "_guarded", crash)
    before = children()
    result = run(validate_paths, [BROKEN], parallel=True, monkeypatch=monkeypatch)
    internal = [i for i in result.issues if i.code == "fhirrug-internal-error"]
    assert internal, "a worker that died must be reported"
    assert all(i.severity == "fatal" and why in i.message for i in internal)
    assert all(i.expression == json.loads(Path(i.file).read_text(encoding="utf-8"))["resourceType"] for i in internal)  # located on the resource
    # one per resource the model would have checked, none for files it never gets (bad JSON)
    assert {i.file for i in internal} < set(result.files)
    assert not any(i.file.endswith("truncated.json") for i in internal)
    assert children() == before


@forking
def test_workers_are_reaped_grandchild_included(monkeypatch, tmp_path):
    log = tmp_path / "pids"
    real = model._guarded

    def record(*args):
        with open(log, "a") as out:
            out.write(f"{os.getpid()}\n")
        return real(*args)

    monkeypatch.setattr(model, "_guarded", record)
    before = children()
    run(validate_paths, [BROKEN], parallel=True, monkeypatch=monkeypatch)
    pids = {int(p) for p in log.read_text().split()}
    assert len(pids) == 2 and os.getpid() not in pids  # two workers did the model stage
    assert not any(alive(pid) for pid in pids)
    assert children() == before


@forking
def test_leaving_early_stops_and_reaps_the_worker(monkeypatch):
    resources = [({"resourceType": "Questionnaire", "status": "draft", "id": f"q{n}"}, f"q{n}.json") for n in range(5)]
    before = children()
    with pytest.raises(KeyboardInterrupt):
        with model.ModelBatch(resources, parallel=True) as batch:
            assert batch._pid is not None
            raise KeyboardInterrupt
    assert children() == before


@forking
def test_model_batch_direct_results_equal_check():
    resources = [
        ({"resourceType": "Questionnaire", "status": "draft", "item": [{"linkId": "a", "type": "choice", "answerOption": [{"valueString": "ja", "valueInteger": 1}]}]}, "a.json"),
        ({"resourceType": "Questionnaire"}, "b.json"),
        ({"resourceType": "NotAType"}, "c.json"),
        ({"resourceType": "ValueSet", "status": "draft"}, "d.json"),
        ({"resourceType": "CodeSystem", "status": "draft", "content": "complete", "concept": [{"code": "x"}]}, "e.json"),
    ]
    with model.ModelBatch(resources, parallel=True) as batch:
        got = batch.results()
    assert got == [model.check(resource, file) for resource, file in resources]
    assert got[0] and got[1]  # the model did find something


def test_in_process_when_not_worth_a_fork(monkeypatch):
    monkeypatch.setattr(model, "worker_count", lambda: 2)
    one = [({"resourceType": "Questionnaire", "status": "draft"}, "a.json")]
    with model.ModelBatch(one) as batch:
        assert batch._pid is None
        assert batch.results() == [[]]


def test_no_workers_when_turned_off_or_threads_run(monkeypatch):
    monkeypatch.setenv("FHIRRUG_WORKERS", "0")
    assert model.parallel_allowed() is False
    monkeypatch.delenv("FHIRRUG_WORKERS")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert model.parallel_allowed() is False
    finally:
        stop.set()
        thread.join()


def test_split_is_a_partition():
    jobs = [({"resourceType": t, "id": str(n), "text": "x" * (n * 1000)}, f"{n}.json") for n, t in enumerate(["Questionnaire", "ValueSet", "CodeSystem", "StructureDefinition", "ValueSet", "QuestionnaireResponse"] * 3)]
    todo = list(range(len(jobs)))
    first, second = model._split(jobs, todo)
    assert first and second
    assert sorted(first + second) == todo
    assert model._split(jobs, todo[:2]) == (todo[:2], [])  # too few to be worth a second worker


@forking
def test_fork_failure_falls_back_to_in_process(monkeypatch):
    serial = run(validate_paths, [BROKEN], parallel=False, monkeypatch=monkeypatch)

    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    fallback = run(validate_paths, [BROKEN], parallel=True, monkeypatch=monkeypatch)
    assert as_tuples(fallback) == as_tuples(serial)


@pytest.mark.parametrize(
    ("cpus", "setting", "expected"),
    [
        (2, "", 2),  # two cores: two workers, whatever the load (measured: see workers_wanted)
        (8, "", 2),  # at most two
        (1, "", 0),  # one usable CPU: the workers could only take turns with the caller
        (1, "2", 2),  # forced
        (2, "7", 2),  # at most two
        (8, "0", 0),  # turned off
        (8, "1", 0),  # one process
        (2, "many", 2),  # not a number: decided by the CPUs
        (1, "auto", 0),
    ],
)
def test_workers_follow_the_usable_cpus(cpus, setting, expected):
    assert model.workers_wanted(cpus=cpus, setting=setting) == expected


def test_workers_read_the_environment_and_the_cpus(monkeypatch):
    monkeypatch.delenv("FHIRRUG_WORKERS", raising=False)
    monkeypatch.setattr(model, "_usable_cpus", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (4.5, 4.0, 3.0))  # a busy machine forks too
    assert model.workers_wanted() == 2
    monkeypatch.setenv("FHIRRUG_WORKERS", "0")
    assert model.workers_wanted() == 0
    monkeypatch.setattr(model, "_usable_cpus", lambda: 1)
    monkeypatch.setenv("FHIRRUG_WORKERS", "auto")
    assert model.workers_wanted() == 0


@forking
def test_a_batch_whose_verdicts_are_cached_forks_nothing(monkeypatch, tmp_path):
    """The cache is looked up before the fork: an unchanged package costs no worker process."""
    monkeypatch.delenv("FHIRRUG_NO_CACHE")
    monkeypatch.setenv("FHIRRUG_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(model, "worker_count", lambda: 2)
    resources = [({"resourceType": "ValueSet", "status": "draft", "id": f"v{n}"}, f"v{n}.json") for n in range(4)]
    with model.ModelBatch(resources) as batch:
        assert batch.forked
        first = batch.results()
    assert first == [[]] * 4  # accepted: remembered
    with model.ModelBatch(resources) as batch:
        assert not batch.forked
        assert batch.results() == first
    two_values = [{"linkId": "a", "type": "choice", "answerOption": [{"valueString": "ja", "valueInteger": 1}]}]
    edited = [({"resourceType": "Questionnaire", "status": "draft", "item": two_values}, "v0.json")] + resources[1:]
    with model.ModelBatch(edited) as batch:
        assert batch.forked is False  # one miss is fewer than MIN_PARALLEL: in-process
        assert batch.results()[0]  # the edit is seen
