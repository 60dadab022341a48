"""Stage 3 of validation: the fhir.resources R4B models (pydantic). The ONLY module importing fhir.resources.

Why R4B: fhir.resources 8.x has no R4 subpackage, and its default (R5) models accept elements
R4 servers reject. R4B (4.3.0) is R4 plus a few additions, so the JSON Schema stage (official
R4) is the authority on structure; this stage mainly adds cardinality (`Questionnaire.status`,
`item.linkId`, `item.type` are 1..1 and the schema has no `required`) and the model's own
validators (choice types, ...).

Reported here:
- `fhirrug-model-required`: a mandatory element is missing.
- `fhirrug-model`: anything else the model rejects.
- `fhirrug-model-unavailable` (information): R4B has no model for an R4 resource type, or the
  model could not be imported; the stage says so rather than staying silent.

Duplicates are left out: an error at (or inside, or around) a location the schema or bindings
stage already reported for the same resource is not repeated (the model would say, e.g.,
"Input should be a valid string" for the `"linkId": 5` that bindings reports as a coerced
primitive).

fhir.resources is imported lazily, and only the model module of each resource type used
(`get_fhir_model_class`), so `fhirrug --help` and commands that do not validate never pay for it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from .. import vendor
from ..issues import ERROR, FATAL, INFORMATION, Issue
from .schema import describe, expression

CODE_MODEL = "fhirrug-model"
CODE_REQUIRED = "fhirrug-model-required"
CODE_UNAVAILABLE = "fhirrug-model-unavailable"


@functools.cache
def model_class(resource_type: str):
    """The R4B model class of a resource type (raises ValueError when R4B has none)."""
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


class _Reported:
    """The locations the other stages reported. `overlaps(where)`: `where` is one of them, lies
    inside one, or holds one (`x.item[0]` and `x.item[0].linkId`); indexed so that the question
    costs the length of `where`, not the number of findings (comparing each model error with
    each finding took 9 s for one response of 10,000 bad items: 20,000 findings x 10,000 errors)."""

    def __init__(self, locations):
        self.exact = set(locations)
        self.within = set()  # every reported location and each of its ancestors
        for location in self.exact:
            self.within.add(location)
            self.within.update(location[:i] for i, ch in enumerate(location) if ch in ".[")

    def overlaps(self, where: str) -> bool:
        if where in self.within:  # a reported location, or one that holds a reported location
            return True
        return any(where[:i] in self.exact for i, ch in enumerate(where) if ch in ".[")  # inside one


def _clean_loc(loc: tuple) -> list:
    """pydantic's location without its internal steps (`function-after[...]`, union tags)."""
    return [p for p in loc if isinstance(p, int) or (isinstance(p, str) and not any(c in p for c in "[]( ,"))]


def _raw_errors(resource: dict, resource_type: str) -> list[dict] | str:
    """pydantic error dicts, or a reason the model cannot run."""
    try:
        cls = model_class(resource_type)
    except ValueError:
        return f"fhir.resources R4B has no model for {resource_type}"
    except ImportError as exc:
        return f"fhir.resources could not be imported: {exc}"
    from pydantic import ValidationError

    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        return exc.errors(include_url=False)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        # fhir.resources validators raise plain errors on inputs pydantic does not pre-check
        return [{"type": "model_error", "loc": (), "msg": f"{type(exc).__name__}: {exc}", "input": None}]
    return []


# -- the verdict cache ----------------------------------------------------------------------
#
# Importing fhir.resources and pydantic costs ~0.4 s and validating with the models ~10 ms per
# resource (fhir_core's Python validators on every element): most of a cold `fhirrug validate`.
# The model is deterministic, so the fact that it ACCEPTED exactly this JSON is cached on disk,
# keyed by the sha256 of the resource's canonical JSON, the versions of fhirrug, fhir.resources,
# fhir-core and pydantic, and this file's own source. A package whose resources are unchanged
# then never imports fhir.resources. Rejections are not cached (recomputed, with full detail).
# FHIRRUG_NO_CACHE=1 turns the cache off; FHIRRUG_CACHE_DIR moves it (default
# $XDG_CACHE_HOME/fhirrug or ~/.cache/fhirrug). A cache that cannot be read or written is
# silently not used: it never changes a result.


def cache_dir() -> Path | None:
    if os.environ.get("FHIRRUG_NO_CACHE", "") not in ("", "0"):
        return None
    base = os.environ.get("FHIRRUG_CACHE_DIR")
    if base:
        return Path(base) / "model-accepted"
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg else Path.home() / ".cache"
    return root / "fhirrug" / "model-accepted"


@functools.cache
def _cache_salt() -> bytes:
    from importlib import metadata

    from .. import __version__

    parts = [b"fhirrug-model-verdict-1", __version__.encode()]
    for distribution in ("fhir.resources", "fhir-core", "pydantic", "pydantic-core"):
        try:
            parts.append(f"{distribution}={metadata.version(distribution)}".encode())
        except metadata.PackageNotFoundError:
            parts.append(f"{distribution}=absent".encode())
    parts.append(hashlib.sha256(Path(__file__).read_bytes()).hexdigest().encode())
    return b"\n".join(parts)


def _cache_path(resource: dict) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    try:
        canonical = json.dumps(resource, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(_cache_salt() + b"\n" + canonical.encode("utf-8", "surrogatepass")).hexdigest()
    except (TypeError, ValueError, OSError, RecursionError):
        return None
    return folder / digest[:2] / digest


def _cached_accept(path: Path | None) -> bool:
    try:
        return path is not None and path.is_file()
    except OSError:
        return False


def _remember_accept(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()  # an empty marker: nothing to corrupt, so no need for an atomic write
    except OSError:
        pass


def check(resource: dict, file: str) -> list[Issue]:
    """Stage 3: validate one parsed resource with its fhir.resources R4B model."""
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(resource_type, str) or resource_type not in vendor.all_resource_types():
        return []  # the schema stage reports a missing or unknown resourceType
    marker = _cache_path(resource)
    if _cached_accept(marker):
        return []
    return _check_uncached(resource, file, resource_type, marker)


def _model_type(resource) -> str | None:
    """The resource type when the model stage applies (else the schema stage reports it)."""
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(resource_type, str) or resource_type not in vendor.all_resource_types():
        return None
    return resource_type


def _check_guarded(resource: dict, file: str) -> list[Issue]:
    try:
        return check(resource, file)
    except Exception as exc:  # noqa: BLE001 - as the pipeline reports a crashing stage
        return [Issue("fhirrug-internal-error", FATAL, f"stage model failed: {type(exc).__name__}: {exc}", file, _where(resource))]


def _where(resource: Any) -> str:
    """The expression of a finding about a whole resource: its type (`Questionnaire`)."""
    return _model_type(resource) or "Resource"


def _guarded(resource: dict, file: str, resource_type: str, marker: Path | None) -> list[Issue]:
    """`check` for a resource whose verdict is not cached, with a crash turned into an Issue just
    as the pipeline does for every stage."""
    try:
        return _check_uncached(resource, file, resource_type, marker)
    except Exception as exc:  # noqa: BLE001 - a crashing stage is a bug, reported, never a traceback
        return [Issue("fhirrug-internal-error", FATAL, f"stage model failed: {type(exc).__name__}: {exc}", file, resource_type)]


def _check_uncached(resource: dict, file: str, resource_type: str, marker: Path | None) -> list[Issue]:
    raw = _raw_errors(resource, resource_type)
    if raw == []:
        _remember_accept(marker)
        return []
    if isinstance(raw, str):
        return [Issue(CODE_UNAVAILABLE, INFORMATION, f"model stage skipped: {raw}", file, resource_type)]
    if not raw:
        return []
    # Only a resource the model rejects pays for this second look at the other two stages.
    from . import bindings, schema

    reported = _Reported(i.expression for i in schema.check(resource, file) + bindings.check(resource, file))
    out: list[Issue] = []
    seen: set[tuple[str, str]] = set()
    for error in raw:
        where = expression(resource_type, _clean_loc(tuple(error.get("loc", ()))))
        if reported.overlaps(where):
            continue
        missing = str(error.get("type", "")).endswith("missing")
        code = CODE_REQUIRED if missing else CODE_MODEL
        if (code, where) in seen:
            continue
        seen.add((code, where))
        message = _message(error, missing, where)
        out.append(Issue(code, ERROR, message, file, where))
    return out


def _message(error: dict[str, Any], missing: bool, where: str) -> str:
    if missing:
        return f"{where.rsplit('.', 1)[-1]} is required here (cardinality 1..) but missing"
    value = error.get("input")
    text = str(error.get("msg", "")).strip()
    return f"{describe(value)}: {text}" if value is not None else text


# -- worker processes -----------------------------------------------------------------------
#
# A cold model stage (import fhir.resources, build the pydantic classes, validate) is more work
# than all other stages together, and it needs nothing from them. So `ModelBatch` runs it in a
# forked worker process while the caller runs the other stages; the worker imports
# fhir.resources once and then forks a second worker, the two splitting the resources (by type,
# since building a type's classes is the larger part of the cost). Results come back pickled
# through pipes and are used exactly as if `check` had run in-process: the same Issues, in the
# same order. Whatever a worker fails to deliver (it crashed, was killed, could not pickle) is
# reported as a fatal `fhirrug-internal-error` for the resources concerned, never a hang or a
# traceback. Workers are always reaped before `ModelBatch` returns; the calling process's own
# state (sys.modules, caches, signal handlers) is left untouched.
#
# In-process instead (same results): no fork (Windows, macOS), threads running (fork is unsafe
# then), a single usable CPU (see `workers_wanted`), fewer than MIN_PARALLEL resources of a type the
# model applies to whose verdict is not cached (and no file of MIN_PARALLEL_BYTES among them),
# or FHIRRUG_WORKERS=0 (or 1). The cache is looked up here, before forking: a package whose
# verdicts are all cached forks nothing, and the worker imports fhir.resources only for what is
# not cached.

MIN_PARALLEL = 2  # resources for the model before a worker process is worth its fork
MIN_SPLIT = 4  # ... before a second worker process is
MIN_PARALLEL_BYTES = 1_000_000  # ... or the size of one resource file that is worth it alone
MAX_WORKERS = 2
# Rough costs (seconds) for the split: building a type's model classes, and validating per byte.
_TYPE_COST = {"StructureDefinition": 0.25, "Questionnaire": 0.08}
_DEFAULT_TYPE_COST = 0.05
_COST_PER_BYTE = 1 / 2_500_000


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def workers_wanted(cpus: int | None = None, setting: str | None = None) -> int:
    """How many worker processes (0 or 2) the model stage should fork, by this policy:

    - FHIRRUG_WORKERS (or `setting`) "0" or "1": none (one process); "2" or more: two; unset,
      "auto" or anything else: two when at least two CPUs are usable (sched_getaffinity), none
      on one (the workers could only take turns with the caller).
    - The load does not count. Issue 18 reported forked workers slower on a busy 2-core machine
      (13.0 s against 11.8 s), so a policy that forked only for free cores was tried; measured on
      a 50x package (1,401 files, cold), the workers won at every load: 13.5 s against 19.7 s
      quiet, 23 s against 31.5 s beside two busy loops (load 1.7), 35 s against 53 s beside four
      (load 3-5.5). Busy processes share the cores with fhirrug's three, so the fork still
      buys CPU time; not forking only gave it away.

    `cpus` is for tests; the machine's is read when not given."""
    setting = (os.environ.get("FHIRRUG_WORKERS", "") if setting is None else setting).strip().lower()
    if setting in ("0", "1"):
        return 0
    if setting.isdigit():
        return MAX_WORKERS
    return MAX_WORKERS if (cpus if cpus is not None else _usable_cpus()) >= 2 else 0


def fork_possible() -> bool:
    """Whether forking a worker process is possible and safe here (Linux, no other thread)."""
    if not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() <= 1  # a fork with threads can deadlock the child


def worker_count() -> int:
    """The worker processes to fork here and now: `workers_wanted`, or 0 if not `fork_possible`."""
    return workers_wanted() if fork_possible() else 0


def parallel_allowed() -> bool:
    """Whether forking a worker process is possible and sensible here (for other callers, such
    as the site's background routes)."""
    return worker_count() >= 1


class ModelBatch:
    """The model stage of many resources, possibly in worker processes while the caller works.

        with ModelBatch(jobs, run) as batch:   # jobs: [(resource, file)]
            ...other stages...
            results = batch.results()           # one list of Issues per job, in job order

    `run(resource, file)` is the caller's guarded call of `check` (a crash already turned into
    an Issue); it is what runs in-process. The workers give the same result (`_guarded`).
    `parallel`: None decides (see `parallel_allowed`), False never forks.
    """

    def __init__(self, jobs: list[tuple[dict, str]], run=None, *, parallel: bool | None = None):
        self.jobs = jobs
        self.run = run or _check_guarded
        self._done: dict[int, list[Issue]] = {}
        self._failed: dict[int, str] = {}
        self._pid: int | None = None
        self._fds: list[int] = []
        self._candidates = []  # the jobs a worker has: the model applies, the verdict is not cached
        self._todo: dict[int, tuple[str, Path | None]] = {}
        for index, (resource, _) in enumerate(jobs):
            resource_type = _model_type(resource)
            if resource_type is None:
                self._done[index] = []  # check() returns [] for it without looking further
                continue
            marker = _cache_path(resource)
            if _cached_accept(marker):
                self._done[index] = []  # as check() would answer
            else:
                self._candidates.append(index)
                self._todo[index] = (resource_type, marker)
        workers = MAX_WORKERS if parallel else 0
        if parallel is None and (len(self._candidates) >= MIN_PARALLEL or self._large()):
            workers = worker_count()
        if workers and self._candidates:
            self._start(split=workers >= 2)

    def _large(self) -> bool:
        """A resource big enough that its model stage alone is worth a worker (it then runs beside
        the other stages instead of after them: the time per file is the larger, not the sum)."""
        for index in self._candidates:
            try:
                if os.stat(self.jobs[index][1]).st_size >= MIN_PARALLEL_BYTES:
                    return True
            except (OSError, ValueError):  # '-', an archive member: not a file on disk
                continue
        return False

    @property
    def forked(self) -> bool:
        """True while a worker process has the model stage (until `results()`)."""
        return self._pid is not None

    def run_one(self, index: int) -> list[Issue]:
        """The model stage of one job, in-process now (when no worker has it)."""
        if index in self._done:
            return self._done[index]
        resource, file = self.jobs[index]
        self._done[index] = self.run(resource, file)
        return self._done[index]

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def _start(self, split: bool) -> None:
        fds: list[int] = []
        try:
            fds += os.pipe()
            fds += os.pipe()
            pid = os.fork()
        except OSError:  # out of file descriptors or processes: no worker, all in-process
            for fd in fds:
                os.close(fd)
            return
        first_r, first_w, second_r, second_w = fds
        if pid == 0:  # the worker; never returns
            os.close(first_r)
            os.close(second_r)
            _worker_main(self.jobs, self._todo, first_w, second_w, split)
        os.close(first_w)
        os.close(second_w)
        self._pid = pid
        self._fds = [first_r, second_r]

    def results(self) -> list[list[Issue]]:
        if self._pid is not None:
            self._collect()
        out = []
        for index, (resource, file) in enumerate(self.jobs):
            if index in self._done:
                out.append(self._done[index])
            elif index in self._failed:
                out.append([Issue("fhirrug-internal-error", FATAL, f"stage model failed: {self._failed[index]}", file, _where(resource))])
            else:
                out.append(self.run(resource, file))
        return out

    def _collect(self) -> None:
        import pickle
        import select

        chunks: dict[int, list[bytes]] = {fd: [] for fd in self._fds}
        open_fds = list(self._fds)
        problem = ""
        try:
            poller = select.poll()  # not select(): it fails on descriptors over 1023
            for fd in open_fds:
                poller.register(fd, select.POLLIN)
            while open_fds:  # both pipes at once: neither worker may block on a full pipe
                for fd, _ in poller.poll():
                    data = os.read(fd, 1 << 16)
                    if data:
                        chunks[fd].append(data)
                    elif fd in open_fds:
                        open_fds.remove(fd)
                        poller.unregister(fd)
        except OSError as exc:
            problem = f"reading the worker's result failed: {exc}"
        status = self._reap()
        why = problem or f"worker process ended without a result ({_describe_status(status)})"
        for fd in self._fds:
            payload = b"".join(chunks[fd])
            if not payload:
                continue
            try:
                message = pickle.loads(payload)
                self._done.update({int(k): list(v) for k, v in message["done"].items()})
                if message.get("second_status") is not None:
                    why = f"worker process ended without a result ({_describe_status(message['second_status'])})"
            except Exception:  # noqa: BLE001 - a garbled result is reported, never raised
                continue
        self._close_fds()
        for index in self._candidates:
            if index not in self._done:
                self._failed[index] = why

    def _reap(self) -> int | None:
        pid, self._pid = self._pid, None
        return None if pid is None else _wait(pid)

    def _close_fds(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        """Stop and reap the worker if results() was not called (the caller failed meanwhile)."""
        if self._pid is not None:
            import signal

            try:
                os.kill(self._pid, signal.SIGKILL)
            except OSError:
                pass
            self._reap()
        self._close_fds()


def _wait(pid: int) -> int | None:
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue
        except ChildProcessError:
            return None


def _describe_status(status: int | None) -> str:
    if status is None:
        return "status unknown"
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    if os.WIFEXITED(status):
        return f"exit code {os.WEXITSTATUS(status)}"
    return f"status {status}"


def _worker_main(jobs, todo: dict[int, tuple[str, Path | None]], first_w: int, second_w: int, split: bool) -> None:
    """In the forked worker: import fhir.resources, fork a second worker for part of `todo` (the
    jobs whose verdict the cache does not know, with their type and cache marker) when `split`,
    check its own part, send the Issues back. Never returns, and never runs the parent's exit
    handlers or flushes its buffers (os._exit)."""
    code = 1
    try:
        import gc
        import pickle

        gc.disable()  # a short-lived process: automatic collection only costs time (see _check_share)
        done: dict[int, list[Issue]] = {}
        mine, theirs = _split(jobs, list(todo)) if split else (list(todo), [])
        second = None
        if theirs:
            try:
                import fhir.resources.R4B  # noqa: F401 - once, before the second fork shares it
            except ImportError:
                pass  # check() reports it per resource
            try:
                second = os.fork()
            except OSError:
                mine, theirs = list(todo), []
            if second == 0:
                code = 1
                try:
                    os.close(first_w)
                    theirs_done = _check_share(jobs, todo, theirs)
                    _write_all(second_w, pickle.dumps({"done": theirs_done}, pickle.HIGHEST_PROTOCOL))
                    code = 0
                finally:
                    os._exit(code)
        os.close(second_w)
        done.update(_check_share(jobs, todo, mine))
        second_status = _wait(second) if second else None
        _write_all(first_w, pickle.dumps({"done": done, "second_status": second_status}, pickle.HIGHEST_PROTOCOL))
        code = 0
    except BaseException:  # noqa: BLE001 - the parent reports whatever did not arrive
        code = 1
    finally:
        os._exit(code)


def _check_share(jobs, todo: dict, share: list[int]) -> dict[int, list[Issue]]:
    import gc

    done = {}
    for count, index in enumerate(share, 1):
        done[index] = _guarded(*jobs[index], *todo[index])
        if count % 256 == 0:
            gc.collect()  # with automatic collection off: bound the memory of a very large package
    return done


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.close(fd)


def _split(jobs, todo: list[int]) -> tuple[list[int], list[int]]:
    """Two shares of about equal cost (longest first, a resource joining the share that already
    builds its type's classes when that is cheaper). The second is empty when not worth it."""
    if len(todo) < MIN_SPLIT:
        return list(todo), []
    sized = []
    for index in todo:
        resource = jobs[index][0]
        try:
            size = len(json.dumps(resource, ensure_ascii=False))
        except (TypeError, ValueError, RecursionError):
            size = 0
        resource_type = resource.get("resourceType", "")
        sized.append((_TYPE_COST.get(resource_type, _DEFAULT_TYPE_COST) + size * _COST_PER_BYTE, size, index, resource_type))
    sized.sort(key=lambda item: (-item[0], item[2]))
    shares: list[list[int]] = [[], []]
    loads = [0.0, 0.0]
    types: list[set] = [set(), set()]
    for _, size, index, resource_type in sized:
        costs = [size * _COST_PER_BYTE + (0 if resource_type in types[s] else _TYPE_COST.get(resource_type, _DEFAULT_TYPE_COST)) for s in (0, 1)]
        share = min((0, 1), key=lambda s: (loads[s] + costs[s], s))
        shares[share].append(index)
        loads[share] += costs[share]
        types[share].add(resource_type)
    if not shares[1]:
        return shares[0], []
    return sorted(shares[0]), sorted(shares[1])
