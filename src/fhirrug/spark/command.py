"""`fhirrug evaluate --spark MASTER IN... --out DIR`, without click: evaluate on Spark, write the
records (and the stripped responses), and return the summary the writing tasks counted.

OUT is a folder, as Spark writes: OUT.parquet gets Parquet files with the typed columns,
OUT.ndjson (or .jsonl) gets NDJSON part files whose every line is exactly the record that
`fhirrug evaluate --format ndjson` prints. A local OUT is written beside itself and renamed into
place when the job succeeded, so a failed job leaves no half output; an OUT with a scheme
(hdfs://, s3a:// …) is written by Spark's committer and must not exist yet.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import SparkError
from .sources import is_remote, list_sources

FORMATS = {".parquet": "parquet", ".ndjson": "ndjson", ".jsonl": "ndjson"}


@dataclass
class Written:
    summary: dict
    out: str
    stripped: str | None = None
    stripped_count: int = 0


def _format(out: str, option: str, allowed: dict) -> str:
    suffix = Path(out.rstrip("/")).suffix
    if suffix not in allowed:
        raise SparkError(f"{option} {out}: name it by its format: {', '.join('OUT' + s for s in allowed)}")
    return allowed[suffix]


def _local_target(out: str) -> Path | None:
    """The local folder for OUT (None for a URI); refuses to replace anything but a Spark output."""
    if is_remote(out):
        return None
    target = Path(out[len("file:"):] if out.startswith("file:") else out)
    if target.exists() and not (target.is_dir() and ((target / "_SUCCESS").exists() or not any(target.iterdir()))):
        raise SparkError(f"{target}: exists and is not an earlier Spark output (no _SUCCESS); choose another OUT or remove it")
    return target


class _Output:
    """Where one output is written: a temporary sibling folder for a local OUT, renamed at the end."""

    def __init__(self, out: str):
        self.out = out
        self.target = _local_target(out)
        # Not a dot name: Spark would not read it back (hidden) to count the stripped responses.
        self.path = out if self.target is None else str(self.target.with_name(f"{self.target.name}.{uuid.uuid4().hex[:8]}.tmp"))

    def commit(self) -> None:
        if self.target is None:
            return
        # Spark names text parts *.txt; as *.ndjson they are read back by `fhirrug evaluate OUT`.
        if self.target.suffix != ".parquet":
            for part in Path(self.path).glob("part-*.txt"):
                part.rename(part.with_suffix(self.target.suffix))
                part.with_name(f".{part.name}.crc").unlink(missing_ok=True)
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.{uuid.uuid4().hex[:8]}.old")
            os.replace(self.target, old)
        os.replace(self.path, self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        if self.target is not None:
            shutil.rmtree(self.path, ignore_errors=True)


def run(master: str, inputs: list[str], out: str, package: Any, questionnaire: dict | None = None,
        strip_out: str | None = None, progress: bool = False) -> Written:
    """Evaluate `inputs` on `master`, write OUT (and STRIP_OUT), return the summary of OUT's records."""
    from . import job  # SparkUnavailable without the extra

    from pyspark import StorageLevel

    kind = _format(out, "--out", FORMATS)
    if strip_out is not None:
        _format(strip_out, "--strip-disabled", {s: f for s, f in FORMATS.items() if f == "ndjson"})
    list_sources(inputs)  # usage errors before Spark starts
    created = job.SparkSession.getActiveSession() is None
    spark = job.session(master, app_name="fhirrug evaluate", conf={"spark.ui.showConsoleProgress": str(progress).lower()})
    outputs = [_Output(out)] + ([_Output(strip_out)] if strip_out is not None else [])
    raw = None
    try:
        counted = job.summary_accumulator(spark)
        raw = job.records(inputs, package, spark=spark, questionnaire=questionnaire, strip_disabled=strip_out is not None, summary=counted)
        if strip_out is not None:
            raw = raw.persist(StorageLevel.MEMORY_AND_DISK)  # two outputs, one evaluation
        writer = job.typed(raw) if kind == "parquet" else raw.select(job.F.col("record").cast("string").alias("value"))
        mode = "overwrite" if outputs[0].target is not None else "errorifexists"
        (writer.write.mode(mode).parquet if kind == "parquet" else writer.write.mode(mode).text)(outputs[0].path)
        # Counted by the tasks that made the records, with the single-process Summary.add; taken
        # now, before a second job could recompute a lost cached partition and count it again.
        written = Written(summary=counted.value.to_dict(), out=out)
        if strip_out is not None:
            stripped = raw.where(job.F.col("stripped").isNotNull()).select(job.F.col("stripped").cast("string").alias("value"))
            stripped.write.mode("overwrite" if outputs[1].target is not None else "errorifexists").text(outputs[1].path)
            written.stripped, written.stripped_count = strip_out, spark.read.text(outputs[1].path).count()
        for output in outputs:
            output.commit()
        return written
    except SparkError:
        raise
    except Exception as exc:  # noqa: BLE001 - Py4J and Spark errors: one line, no Java stack
        raise SparkError(f"the Spark job failed: {job._first_line(exc)}") from exc
    finally:
        for output in outputs:
            output.discard()
        if raw is not None and strip_out is not None:
            raw.unpersist()
        if created:
            spark.stop()
