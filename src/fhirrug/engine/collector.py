"""The garbage collector while a batch of responses streams through the engine.

Evaluating a response makes no reference cycles (the walkers break the ones they make), so
reference counting frees each response as soon as the batch is done with it; the cyclic
collector finds nothing to free. It still runs, whenever the JSON objects and arrays alive
outnumber those freed by its threshold (700), and a full collection traverses everything
alive: the loaded package, the compiled plans and the response being read. A response with
thousands of repetitions of a group holds tens of thousands of objects at once, so its parse
triggers collections that traverse the whole package, again and again, and its cost grows
faster than its size (scripts/bench_evaluate.py prints the scaling with and without).

`BatchCollector(engine)`, a context manager around the batch:
- `gc.freeze()` on entry and after each response for which the engine compiled a new plan
  (`Engine.compiled`): what is alive then (the package, the engine, its plans) moves into the
  permanent generation, which collections never traverse;
- the first-generation threshold raised to `THRESHOLD` while the batch runs: a response of up to
  that many JSON objects and arrays parses without a collection, and whatever cyclic garbage
  other code makes is still collected, after at most that many objects;
- both undone on exit: the thresholds as they were, and `gc.unfreeze()` (unless something had
  frozen objects before the batch began: a forking server's, which stay frozen).
"""

from __future__ import annotations

import gc
from typing import Any

# JSON objects and arrays alive before a collection runs while a batch streams (CPython's
# default is 700). 5,000 repetitions of an ordinary group are about 85,000; at 100,000 such a
# response still paid for collections, at 300,000 it costs what it costs with the collector off
# (measured by scripts/bench_evaluate.py). The garbage that can wait for it is at most this
# many objects: some tens of MB.
THRESHOLD = 300_000


class BatchCollector:
    """See the module docstring. `after()` is called once per response."""

    def __init__(self, engine: Any = None, threshold: int = THRESHOLD):
        self.engine = engine
        self.threshold = threshold
        self._saved: tuple | None = None
        self._compiled = -1
        self._frozen_before = False

    def __enter__(self) -> "BatchCollector":
        self._saved = gc.get_threshold()
        self._frozen_before = gc.get_freeze_count() > 0
        gc.freeze()
        self._compiled = self._plans()
        gc.set_threshold(max(self.threshold, self._saved[0]), *self._saved[1:])
        return self

    def after(self) -> None:
        """After a response: freeze what is alive if the engine compiled a plan for it."""
        compiled = self._plans()
        if compiled != self._compiled:
            self._compiled = compiled
            gc.freeze()

    def __exit__(self, *exc) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
        if not self._frozen_before:
            gc.unfreeze()

    def _plans(self) -> int:
        return getattr(self.engine, "compiled", 0) if self.engine is not None else 0
