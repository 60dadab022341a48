"""fhirrug on Apache Spark: evaluate millions of QuestionnaireResponses from bulk NDJSON exports.

Needs the `spark` extra (`pip install 'fhirrug[spark]'`: PySpark 4.x, whose wheel carries Spark's
jars, so nothing is downloaded at run time) and Java 17 or later.

    from fhirrug import spark as fs
    session = fs.session("local[2]")                         # or your cluster's SparkSession
    df = fs.evaluate(["export/"], package="content/")      # NDJSON files or folders
    df.write.parquet("results.parquet")
    fs.summarize(df)                                       # counts by validity and outcome

    df = fs.evaluate(table, column="resource")             # a DataFrame with a JSON column

Each result row is the record of `fhirrug evaluate --format ndjson` for one response, typed
(columns in docs/spark.md): `file`, `line`, `response`, `questionnaire`, `valid`, `enabled`,
`outcomes`, `issues`, and with `strip_disabled=True` the response with its disabled answers
removed (`stripped`). A line that is not JSON becomes a row with its parse issue; it never fails
the job. The package is broadcast once; every Python worker compiles each Questionnaire once.

Validating the Questionnaire package itself stays a single-process job (`fhirrug validate`).
"""

from __future__ import annotations

__all__ = ["SparkError", "SparkUnavailable", "evaluate", "session", "summarize", "to_record"]


class SparkError(RuntimeError):
    """A Spark job could not run or could not write its output; the message says why."""


class SparkUnavailable(SparkError):
    """PySpark or Java is missing."""


def __getattr__(name: str):
    # Lazy: an executor imports fhirrug.spark._tasks and needs none of the driver's code.
    if name in ("evaluate", "session", "summarize", "to_record"):
        from . import job

        return getattr(job, name)
    raise AttributeError(f"module 'fhirrug.spark' has no attribute {name!r}")
