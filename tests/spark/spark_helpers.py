"""Helpers of the Spark tests: the single-process reference and record bookkeeping."""

from __future__ import annotations

import json


def single_process(*args) -> list[str]:
    """The lines `fhirrug evaluate --format ndjson` prints for these arguments."""
    from click.testing import CliRunner

    from fhirrug.cli import main

    result = CliRunner().invoke(main, ["evaluate", "--format", "ndjson", *map(str, args)])
    assert result.exit_code in (0, 1), result.output
    return result.stdout.splitlines()


def by_line(records) -> dict:
    """(file, line) -> record; fails on a (file, line) seen twice."""
    result: dict = {}
    for record in records:
        key = (record["file"], record["line"])
        assert key not in result, f"{key} twice"
        result[key] = record
    return result


def parsed(lines) -> list[dict]:
    return [json.loads(line) for line in lines]
