"""The driver side: a SparkSession for fhirrug, reading NDJSON with line numbers, the evaluation
DataFrames and the summary.

Line numbers: Spark's text source splits big files into byte ranges and tells each row only the
start of its range (`_metadata.file_block_start`). A first, JVM-only pass counts the lines of
every range; the prefix sums give each range's first line, broadcast with the package, and the
tasks number their lines from there (and check their count against it, so a line can neither be
lost nor doubled without the job failing loudly).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter, defaultdict
from functools import partial
from pathlib import Path
from typing import Any

from . import SparkError, SparkUnavailable, _tasks
from .sources import GLOB, Sources, list_sources

try:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import functions as F
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise SparkUnavailable("PySpark is not installed: pip install 'fhirrug[spark]'") from exc

from .schema import LINE_ROW, RECORD_JSON, RESULT_COLUMNS, VALUE_ROW

LOG4J = Path(__file__).with_name("log4j2.properties")


def _require_java() -> None:
    home = os.environ.get("JAVA_HOME")
    if (home and (Path(home) / "bin" / "java").exists()) or shutil.which("java"):
        return
    raise SparkUnavailable("Spark needs Java 17 or later and found none (no java on PATH, no JAVA_HOME); on Debian: apt-get install openjdk-17-jre-headless")


def session(master: str = "local[*]", *, app_name: str = "fhirrug", conf: dict | None = None) -> SparkSession:
    """A SparkSession for `master` (or the active one, which is returned as it is).

    Local masters are kept on this machine: the driver binds to 127.0.0.1, there is no web UI,
    and the Python workers run this interpreter (so they see the same fhirrug). Spark's own log
    is cut to warnings and errors on stderr. `conf` is passed on and wins."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    _require_java()
    settings = {
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG4J.as_uri()}",
    }
    if master.startswith("local"):
        settings.update({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1", "spark.ui.enabled": "false"})
        # PySpark starts its workers with $PYSPARK_PYTHON (default: python3 on PATH, maybe another
        # Python without fhirrug) and looks for the address to bind to unless told.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - PySpark raises several kinds when the JVM cannot start
        raise SparkUnavailable(f"cannot start Spark ({master}): {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    """One line for a Spark failure: a Python worker's own error is the last line of its
    traceback, a Java one the first line of its message."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if any(line.startswith("Traceback") for line in lines):
        return lines[-1]
    return lines[0]


def _package(package: Any):
    """The package to broadcast: its resources only (the engine needs nothing else). A path is
    read as `--package` reads it: a folder (with or without fhirrug.toml) or an NPM .tgz."""
    from ..package import Package, load_context

    if package is None:
        from ..manifest import default_root

        package = default_root()
    if isinstance(package, (str, os.PathLike)):
        package = load_context(package).package
    return Package(manifest=None, resources=list(package.resources))


def _broadcast(spark: SparkSession, package: Any, questionnaire: dict | None, strip: bool, **extra):
    context = _tasks.Context(_package(package), questionnaire, strip, **extra)
    return spark.sparkContext.broadcast(context)


def _line_rows(spark: SparkSession, sources: Sources) -> DataFrame:
    """(file_path, block_start, value) for every line of the NDJSON files; value keeps the raw
    bytes (a line that is not UTF-8 is reported as such, not silently repaired)."""
    lines = (spark.read.option("lineSep", "\n").option("recursiveFileLookup", "true").option("pathGlobFilter", GLOB)
             .text(sources.paths))
    return lines.select(F.col("_metadata.file_path").alias("file_path"), F.col("_metadata.file_block_start").alias("block_start"), F.col("value").cast("binary").alias("value"))


def _splits(lines: DataFrame, sources: Sources) -> tuple[dict, dict]:
    """(file_path, block_start) -> (lines before, lines in the range), and the records' file names."""
    by_file: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in lines.groupBy("file_path", "block_start").count().collect():
        by_file[row["file_path"]].append((row["block_start"], row["count"]))
    splits: dict[tuple[str, int], tuple[int, int]] = {}
    for path, parts in by_file.items():
        before = 0
        for start, count in sorted(parts):
            splits[(path, start)] = (before, count)
            before += count
    names = {path: sources.name_for(path) for path in by_file}
    read = set(names.values())
    for resolved, name in sources.names.items():
        if name not in read and os.path.getsize(resolved) > 0:
            raise SparkError(f"{name}: Spark read no lines from this file")
    return splits, names


def summary_accumulator(spark: SparkSession):
    """An accumulator for `records(..., summary=)`: its value is the Summary of the records once
    a job has computed them."""
    from ..engine.batch import Summary

    return spark.sparkContext.accumulator(Summary(), _tasks.SummaryParam())


def records(source: Any, package: Any = None, *, spark: SparkSession | None = None, questionnaire: dict | None = None,
            column: str = "value", strip_disabled: bool = False, summary=None) -> DataFrame:
    """The evaluation before typing: NDJSON input gives (file, line, response, record, stripped)
    where `record` is the exact `fhirrug evaluate --format ndjson` line (as UTF-8 bytes); a
    DataFrame input keeps its columns and adds (response, record, stripped). `summary` (from
    summary_accumulator, NDJSON input only) counts the records as they are made."""
    spark = spark or session()
    if isinstance(source, DataFrame):
        return _value_records(source, column, _broadcast(spark, package, questionnaire, strip_disabled))
    inputs = [os.fspath(source)] if isinstance(source, (str, os.PathLike)) else [os.fspath(s) for s in source]
    sources = list_sources(inputs)
    if not sources.paths:
        return spark.createDataFrame([], LINE_ROW)
    lines = _line_rows(spark, sources)
    splits, names = _splits(lines, sources)
    context = _broadcast(spark, package, questionnaire, strip_disabled, splits=splits, names=names)
    return lines.mapInArrow(partial(_tasks.evaluate_batches, context, summary), LINE_ROW)


def _value_records(frame: DataFrame, column: str, context) -> DataFrame:
    if column not in frame.columns:
        raise SparkError(f"the DataFrame has no column {column!r} (its columns: {', '.join(frame.columns)})")
    kind = frame.schema[column].dataType.typeName()
    if kind not in ("string", "binary"):
        raise SparkError(f"column {column!r} holds {kind}, not JSON text (string or binary)")
    clash = sorted(set(frame.columns) & {*RESULT_COLUMNS, "record", "stripped"})
    if clash:
        raise SparkError(f"the DataFrame already has column(s) {', '.join(clash)}: rename them, the results use these names")
    # A UDF, not mapPartitions: only the JSON column travels to Python; the other columns stay in
    # the JVM. Marked nondeterministic so the optimizer never evaluates it twice per row.
    evaluate_value = F.udf(partial(_tasks.evaluate_value, context), VALUE_ROW, useArrow=False).asNondeterministic()
    result = frame.withColumn("__fhirrug", evaluate_value(F.col(column)))
    return result.select(*frame.columns, *[F.col(f"__fhirrug.{name}").alias(name) for name in VALUE_ROW.fieldNames()])


def typed(raw: DataFrame, strip_disabled: bool = False) -> DataFrame:
    """The records as typed columns (docs/spark.md): the keys of the NDJSON record, with `line`
    for `position` and `response` null when the response has no id."""
    parsed = raw.withColumn("__record", F.from_json(F.col("record").cast("string"), RECORD_JSON))
    kept = [c for c in raw.columns if c not in ("record", "stripped")]
    columns = [*kept, *[F.col(f"__record.{name}").alias(name) for name in RECORD_JSON.fieldNames()]]
    if strip_disabled:
        columns.append(F.col("stripped").cast("string").alias("stripped"))
    return parsed.select(*columns)


def evaluate(source: Any, package: Any = None, *, spark: SparkSession | None = None, questionnaire: dict | None = None,
             column: str = "value", strip_disabled: bool = False) -> DataFrame:
    """Evaluate QuestionnaireResponses on Spark; one row per response (see the module docstring).

    source: an NDJSON file or folder, or a list of them (local paths, or any URI Spark reads:
      hdfs://, s3a://, abfss://, dbfs:/), or a DataFrame whose `column` holds one JSON document
      per row (its other columns are kept).
    package: what `--package` takes (a folder with or without fhirrug.toml, a FHIR NPM package
      .tgz), a loaded `fhirrug.package.Package`, or None for the project around the working
      directory, else the content embedded in fhirrug.
    questionnaire: a Questionnaire (parsed JSON) to evaluate every response against, instead
      of resolving each response's `questionnaire` (`url` or `url|version`) in the package.
    strip_disabled: add `stripped`, the response as JSON without the answers of disabled items
      (null when it could not be evaluated).

    Reading NDJSON runs one quick counting job now (for the line numbers); the evaluation runs
    when the DataFrame is used, and again each time: write it once, or cache it."""
    return typed(records(source, package, spark=spark, questionnaire=questionnaire, column=column, strip_disabled=strip_disabled), strip_disabled)


def summarize(frame: DataFrame) -> dict:
    """The summary of `fhirrug evaluate` (responses, valid, invalid, unevaluated, outcomes by
    `system|code`) of typed results, computed in the JVM."""
    from ..engine.batch import Summary

    totals = frame.agg(F.count(F.lit(1)).alias("responses"), F.sum(F.col("valid").cast("long")).alias("valid"),
                       F.sum(F.col("questionnaire").isNull().cast("long")).alias("unevaluated")).first()
    outcomes = frame.select(F.explode("outcomes").alias("o")).groupBy("o.system", "o.code").count().collect()
    summary = Summary(responses=totals["responses"], valid=totals["valid"] or 0, unevaluated=totals["unevaluated"] or 0,
                      outcomes=Counter({f"{row['system']}|{row['code']}": row["count"] for row in outcomes}))
    summary.invalid = summary.responses - summary.valid
    return summary.to_dict()


def to_record(row: Any) -> dict:
    """A typed result row back into the `fhirrug evaluate --format ndjson` record (NDJSON input)."""
    values = row.asDict(recursive=True)
    record = {
        "response": values["response"] if values["response"] is not None else values["line"],
        "file": values["file"],
        "position": values["line"],
        **{name: values[name] for name in RECORD_JSON.fieldNames()},
        "line": values["line"],
    }
    return record

