"""The columns of a Spark evaluation: the `fhirrug evaluate --format ndjson` record, typed.

One place for the column list, so the DataFrame, the Parquet files and docs/spark.md agree.
"""

from __future__ import annotations

from pyspark.sql.types import ArrayType, BinaryType, BooleanType, LongType, StringType, StructField, StructType

OUTCOME = StructType([
    StructField("system", StringType()),
    StructField("code", StringType()),
    StructField("display", StringType()),
])

ISSUE = StructType([
    StructField("code", StringType()),
    StructField("severity", StringType()),
    StructField("message", StringType()),
    StructField("file", StringType()),
    StructField("expression", StringType()),
])

# The part of the record JSON that becomes typed columns (the rest comes from the task row).
RECORD_JSON = StructType([
    StructField("questionnaire", StringType()),
    StructField("valid", BooleanType()),
    StructField("enabled", ArrayType(StringType())),
    StructField("outcomes", ArrayType(OUTCOME)),
    StructField("issues", ArrayType(ISSUE)),
])

RESULT_COLUMNS = ("response", *RECORD_JSON.fieldNames())

# What a task returns for one NDJSON line: the record as the exact JSON line, plus the columns a
# DataFrame cannot take from it (`response` is an id, or in JSON the line when there is none).
LINE_ROW = StructType([
    StructField("file", StringType()),
    StructField("line", LongType()),
    StructField("response", StringType()),
    StructField("record", BinaryType()),
    StructField("stripped", BinaryType()),
])

# What the UDF returns for one JSON value of a DataFrame column.
VALUE_ROW = StructType([field for field in LINE_ROW.fields if field.name not in ("file", "line")])
