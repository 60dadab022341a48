"""One SparkSession (local[2]) for every Spark test: starting the JVM costs seconds, so it is started
once per test run and shared. Without the `spark` extra or without Java the tests are skipped,
except under CI (CI=true), where that is a broken setup and fails."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import bulk  # noqa: E402
from spark_helpers import single_process  # noqa: E402

N_RESPONSES = 50_000


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must install it: see .ci/run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _missing("pyspark is not installed: pip install -e '.[test,spark]'")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        _missing("no Java: apt-get install openjdk-17-jre-headless")
    from fhirrug.spark import session

    # Small splits, so that big files are read as many byte ranges and line numbering across
    # range boundaries is exercised.
    spark = session("local[2]", app_name="fhirrug tests", conf={"spark.sql.files.maxPartitionBytes": str(4 * 1024 * 1024), "spark.sql.shuffle.partitions": "4"})
    yield spark
    spark.stop()


@pytest.fixture(scope="session")
def package_dir(tmp_path_factory) -> Path:
    return bulk.make_package(tmp_path_factory.mktemp("spark") / "package")


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("spark") / "export"
    bulk.write_export(folder, N_RESPONSES)
    return folder


@pytest.fixture(scope="session")
def single_lines(export_dir, package_dir) -> list[str]:
    """The single-process records of the whole export, as printed."""
    return single_process(export_dir, "--package", package_dir)
