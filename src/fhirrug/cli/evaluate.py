"""`fhirrug evaluate RESPONSE ...`: enabled items, validity and outcomes of QuestionnaireResponses."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .. import __version__, exitcodes
from ._common import cli_errors, diagnostic, fail, package_option, stdout_gone

FORMATS = ("text", "json", "ndjson", "operationoutcome")
_PROGRESS_AFTER = 200  # responses before a progress bar is worth showing


def _render_text(record: dict, where: str) -> str:
    status = "valid" if record["valid"] else "INVALID"
    outcomes = ", ".join(f"{o['code']} {o.get('display') or ''}".strip() for o in record["outcomes"]) or "none"
    lines = [f"{where} {record['response']}: {status}; outcomes: {outcomes}"]
    for issue in record["issues"]:
        at = f" @ {issue['expression']}" if issue["expression"] else ""
        place = f"{issue['file']}:{issue['line']}:{issue['column']}: " if issue.get("line") else ""
        lines.append(f"  {place}{issue['severity']:<11} {issue['code']}: {issue['message']}{at}")
    return "\n".join(lines) + "\n"


class _Positions:
    """Line and column for the issues of responses read from .json files (a resource or a Bundle
    of them), found only for the files with issues, by scanning their bytes once (see
    fhirrug.positions). NDJSON records carry their line already; standard input has none."""

    def __init__(self):
        self._file = None
        self._text = None
        self._bundle = False

    def add(self, record: dict, item) -> None:
        issues = record["issues"]
        if not issues or item.file == "-" or item.line or not item.file.endswith(".json"):
            return
        from ..positions import locate, resource_type

        if item.file != self._file:
            self._file, self._text = item.file, None
            try:
                with open(item.file, "rb") as handle:
                    self._text = handle.read().decode("utf-8")
                self._bundle = resource_type(self._text) == "Bundle"
            except (OSError, UnicodeDecodeError, ValueError, IndexError):
                return
        if self._text is None:
            return
        prefix = f"Bundle.entry[{item.position - 1}].resource" if self._bundle else None

        def located(expression: str) -> str:
            if prefix is None or not expression:
                return expression
            return prefix + expression[len(expression.split(".", 1)[0]):]
        try:
            places = locate(self._text, {located(i["expression"]) for i in issues if i["expression"]})
        except (ValueError, IndexError, RecursionError):
            return
        for issue in issues:
            where = places.get(located(issue["expression"])) if issue["expression"] else None
            if where:
                issue["line"], issue["column"] = where


def _outcome(record: dict) -> dict:
    from ..issues import Issue
    from ..reporters.operationoutcome import _issue

    issues = [_issue(Issue(**i)) for i in record["issues"]]
    if not issues:
        issues = [{"severity": "information", "code": "informational", "details": {"text": "All OK"}}]
    return {"resourceType": "OperationOutcome", "issue": issues}


def _summary_text(summary: dict) -> str:
    lines = [f"{summary['responses']} responses: {summary['valid']} valid, {summary['invalid']} invalid"
             + (f" ({summary['unevaluated']} not evaluated)" if summary["unevaluated"] else "")]
    for coding, count in summary["outcomes"].items():
        lines.append(f"  {count:>7}  {coding}")
    return "\n".join(lines) + "\n"


@click.command()
@click.argument("responses", nargs=-1, required=True, type=click.Path(allow_dash=True, path_type=str))
@click.option("--questionnaire", "-q", "questionnaire_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Evaluate against this Questionnaire file instead of resolving each response's `questionnaire`.")
@package_option("Package to resolve Questionnaires, CodeSystems and ValueSets in: a folder with fhirrug.toml, a folder of resources without one, or a FHIR NPM package (.tgz). Default: the project around the working directory, else the embedded content.")
@click.option("--format", "-f", "output_format", type=click.Choice(FORMATS, case_sensitive=False), default="text", show_default=True, help="text, json (one envelope), ndjson (one record per line) or operationoutcome (FHIR).")
@click.option("--strip-disabled", "strip_out", type=click.Path(path_type=Path), default=None, help="Write each response with the answers of disabled items removed: OUT.ndjson gets one line per response, any other OUT is a folder of JSON files.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: on a terminal for long batches).")
@click.option("--spark", "spark_master", metavar="MASTER", default=None, help="Evaluate NDJSON on Apache Spark (local[2], spark://HOST:7077, yarn …; needs fhirrug[spark]) and write the records to --out; see docs/spark.md.")
@click.option("--out", "spark_out", metavar="OUT", default=None, help="With --spark: the folder for the records, OUT.parquet (typed columns) or OUT.ndjson (the --format ndjson lines).")
def evaluate(responses, questionnaire_file, package, output_format, strip_out, progress, spark_master, spark_out):
    """Evaluate QuestionnaireResponses: enabled items, validity and outcomes.

    RESPONSE: .json files (a QuestionnaireResponse or a Bundle of them), folders, .ndjson files
    (one response per line, as bulk FHIR exports deliver them) or - for standard input. An
    invalid NDJSON line is reported and the rest of the file is still evaluated.

    Exit codes: 0 every response valid, 1 any response invalid (or unreadable, or its
    Questionnaire not found), 2 usage.
    """
    with cli_errors():
        try:
            code = _run(list(responses), questionnaire_file, package, output_format.lower(), strip_out, progress, spark_master, spark_out)
        except BrokenPipeError:
            stdout_gone()  # `fhirrug evaluate ... | head`: quiet, exit 141 (see _common.stdout_gone)
        raise SystemExit(code)


def _run(paths, questionnaire_file, package_dir, output_format, strip_out, progress, spark_master=None, spark_out=None) -> int:
    from ..engine import Engine
    from ..engine.batch import StrippedWriter, Summary, dumps_line, iter_inputs, process_input
    from ..engine.collector import BatchCollector
    from ..jsonio import read_json
    from ..manifest import default_root
    from ..package import load_context

    if (spark_master is None) != (spark_out is None):
        fail("--spark MASTER and --out OUT go together")
    for name in paths:
        if name != "-" and not Path(name).exists() and spark_master is None:  # Spark reads URIs too
            fail(f"{name}: no such file or folder")
    if paths.count("-") > 1:
        fail("standard input (-) can be read only once")
    package = load_context(package_dir if package_dir is not None else default_root()).package
    engine = Engine(package)
    questionnaire = None
    if questionnaire_file is not None:
        questionnaire, issues = read_json(questionnaire_file)
        if questionnaire is None or questionnaire.get("resourceType") != "Questionnaire":
            fail(f"{questionnaire_file}: not a Questionnaire" + (f" ({issues[0].message})" if issues else ""))
    if questionnaire is not None:
        for issue in engine.plan_for(questionnaire).issues:
            diagnostic(f"{questionnaire_file}: {issue.severity} {issue.code}: {issue.message} @ {issue.expression}")

    if spark_master is not None:
        return _run_spark(spark_master, paths, spark_out, package, questionnaire, strip_out, output_format, progress)

    out = click.get_text_stream("stdout")
    summary = Summary()
    writer = StrippedWriter(strip_out) if strip_out is not None else None
    show_progress = progress if progress is not None else _is_terminal()
    bar = _Progress(show_progress)
    positions = _Positions()
    first = True
    single = []  # operationoutcome: keep the first record to decide between OperationOutcome and Bundle
    if output_format == "json":
        out.write('{\n  "fhirrug": ' + json.dumps(__version__) + ',\n  "results": [')
    elif output_format == "operationoutcome":
        pass
    ok = False
    try:
        # The garbage collector tuned for a stream (fhirrug.engine.collector): a response of
        # thousands of repetitions no longer costs more than linear.
        with BatchCollector(engine) as collector:
            for item in iter_inputs(paths):
                record = process_input(engine, item, questionnaire, writer)  # contained per response
                collector.after()
                positions.add(record, item)
                summary.add(record)
                bar.advance()
                if output_format == "ndjson":
                    out.write(dumps_line(record) + "\n")
                elif output_format == "json":
                    out.write(("\n    " if first else ",\n    ") + dumps_line(record))
                elif output_format == "text":
                    out.write(_render_text(record, item.where))
                else:
                    if len(single) < 1:
                        single.append(record)
                        continue
                    if len(single) == 1:
                        out.write('{"resourceType": "Bundle", "type": "collection", "entry": [\n')
                        out.write(json.dumps({"resource": _outcome(single[0])}, ensure_ascii=False))
                        single.append(None)
                    out.write(",\n" + json.dumps({"resource": _outcome(record)}, ensure_ascii=False))
                first = False
        ok = True
    finally:
        bar.close()
        if writer is not None:
            writer.close(commit=ok)
    result = summary.to_dict()
    if output_format == "json":
        out.write(("\n  " if first else "\n  ") + '],\n  "summary": ' + json.dumps(result, ensure_ascii=False) + "\n}\n")
    elif output_format == "operationoutcome":
        if len(single) == 1:
            out.write(json.dumps(_outcome(single[0]), ensure_ascii=False, indent=2) + "\n")
        elif len(single) > 1:
            out.write("\n]}\n")
        else:
            out.write(json.dumps({"resourceType": "Bundle", "type": "collection"}) + "\n")
    if output_format == "text" and summary.responses:
        out.write(_summary_text(result))
    elif summary.responses > 1 or show_progress:
        sys.stderr.write("fhirrug: " + _summary_text(result))
    if writer is not None:
        renamed = f" ({writer.renamed} renamed: their names were taken in this run)" if writer.renamed else ""
        diagnostic(f"{writer.count} stripped responses written to {strip_out}{renamed}")
    out.flush()
    if summary.responses == 0:
        diagnostic(f"nothing to evaluate: {', '.join(paths)} holds no responses")
        return exitcodes.USAGE
    return exitcodes.OK if summary.invalid == 0 else exitcodes.FINDINGS


def _run_spark(master, paths, out, package, questionnaire, strip_out, output_format, progress) -> int:
    """--spark: the records go to OUT; stdout gets the summary (text, or json: {"summary": ...})."""
    from ..spark import SparkError
    from ..spark.command import run

    if output_format not in ("text", "json"):
        fail(f"--spark writes the records to --out; --format is text or json (the summary), not {output_format}")
    try:
        written = run(master, paths, out, package, questionnaire, str(strip_out) if strip_out is not None else None, progress if progress is not None else _is_terminal())
    except SparkError as exc:
        fail(str(exc))
    result = written.summary
    if output_format == "json":
        click.echo(json.dumps({"fhirrug": __version__, "out": out, "summary": result}, ensure_ascii=False))
    elif result["responses"]:
        click.echo(_summary_text(result), nl=False)
    diagnostic(f"{result['responses']} records written to {out}")
    if written.stripped is not None:
        diagnostic(f"{written.stripped_count} stripped responses written to {written.stripped}")
    if result["responses"] == 0:
        diagnostic(f"nothing to evaluate: {', '.join(paths)} holds no responses")
        return exitcodes.USAGE
    return exitcodes.OK if result["invalid"] == 0 else exitcodes.FINDINGS


def _is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Progress:
    """A rich progress bar on stderr, shown only on a terminal and only once a batch is long."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.count = 0
        self._bar = None
        self._task = None

    def advance(self) -> None:
        self.count += 1
        if not self.enabled:
            return
        if self._bar is None:
            if self.count < _PROGRESS_AFTER:
                return
            from rich.console import Console
            from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = Progress(SpinnerColumn(), TextColumn("evaluating"), MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("responses", total=None, completed=self.count)
        elif self.count % 100 == 0:
            self._bar.update(self._task, completed=self.count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
