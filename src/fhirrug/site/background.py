"""One computation in a forked process, collected later: the routes of a big Questionnaire take
about as long as validating and rendering the rest, so on two cores the build does both at once.

The child inherits the compiled plans by fork, computes, pickles the (small) result into a pipe
and exits; the parent reads it when it needs it. Where forking is unsafe or impossible (see
`fhirrug.validate.model.parallel_allowed`: no fork, threads running, FHIRRUG_WORKERS=0) the
computation runs in this process when the result is asked for. A child that fails is not an
error of the build: the computation is run again here, so the result is always the same.
"""

from __future__ import annotations

import os
import pickle
from typing import Any, Callable


class Background:
    def __init__(self, compute: Callable[[], Any]):
        from ..validate.model import parallel_allowed

        self._compute = compute
        self._pid: int | None = None
        self._read: int | None = None
        if parallel_allowed():
            self._fork()

    def _fork(self) -> None:
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: compute, send, and leave without running the parent's cleanup
            code = 1
            try:
                os.close(read)
                data = pickle.dumps(self._compute(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self) -> Any:
        if self._pid is None:
            return self._compute()
        chunks = []
        with os.fdopen(self._read, "rb") as pipe:
            while True:
                chunk = pipe.read(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if os.waitstatus_to_exitcode(status) != 0:
            return self._compute()
        try:
            return pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 - a truncated result: compute it here instead
            return self._compute()
