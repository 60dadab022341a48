"""Click helpers shared by every command: options, output and the error boundary.

Every command follows the same shape::

    @click.command()
    @format_option(("text", "json"))
    @output_option()
    def mycommand(format, output):
        with cli_errors():
            text = ...library call and rendering...
            emit(text, output)
            raise SystemExit(exitcodes.OK)

`cli_errors()` is the one place where exceptions become messages: ManifestError, ConfigError and
OSError give `fhirrug: <message>` on stderr and exit 2; anything else is a bug, reported as
`fhirrug: internal error: ...` with exit 2 and never a traceback (set FHIRRUG_DEBUG=1 to see it).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterable, Iterator

import click

from .. import exitcodes


def format_option(choices: Iterable[str], default: str = "text", help: str | None = None):
    """`--format/-f` with the given choices (e.g. `list(REPORTER_BY_NAME)`)."""
    choices = list(choices)
    return click.option(
        "--format",
        "-f",
        "output_format",
        type=click.Choice(choices, case_sensitive=False),
        default=default,
        show_default=True,
        help=help or f"Output format: {', '.join(choices)}.",
    )


def output_option(help: str = "Write the report to FILE (atomically) instead of stdout."):
    return click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None, help=help)


def package_option(help: str | None = None):
    """`--package DIR|TGZ`: the package resources are checked against (validate and evaluate alike)."""
    return click.option(
        "--package",
        "package",
        type=click.Path(exists=True, path_type=Path),
        default=None,
        metavar="DIR|TGZ",
        help=help
        or "Package to check against: a folder with fhirrug.toml, a folder of resources without one, or a FHIR NPM "
        "package (.tgz). Default: the project around PATH or the working directory, else the embedded content.",
    )


def color_option():
    """`--color/--no-color`; unset, the environment decides (see `use_color`)."""
    return click.option("--color/--no-color", "color", default=None, help="Colour the text report (default: on a terminal, unless NO_COLOR; FORCE_COLOR forces it).")


def diagnostic(message: str) -> None:
    """A message for the person at the terminal: stderr, prefixed `fhirrug:`."""
    click.echo(f"fhirrug: {message}", err=True)


def fail(message: str, code: int = exitcodes.USAGE) -> None:
    """Stop the command with `message` on stderr and exit `code` (default 2)."""
    diagnostic(message)
    raise SystemExit(code)


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn every failure into a one-line message on stderr and exit 2. Never a traceback."""
    from ..config import ConfigError
    from ..manifest import ManifestError

    try:
        yield
    except (SystemExit, click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
        raise
    except (ManifestError, ConfigError) as exc:
        fail(str(exc))
    except BrokenPipeError:
        stdout_gone()
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        fail(f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        fail("interrupted")
    except Exception as exc:  # noqa: BLE001 - the boundary: a bug in fhirrug, still no traceback
        if os.environ.get("FHIRRUG_DEBUG"):
            import traceback

            traceback.print_exc()
        fail(f"internal error: {type(exc).__name__}: {exc} (this is a bug in fhirrug; FHIRRUG_DEBUG=1 shows the traceback)")


def use_color(output: Path | None = None, flag: bool | None = None) -> bool:
    """Whether the text report is coloured, first rule that applies:
    a report written to a file never is; `--color`/`--no-color` decide; NO_COLOR (non-empty, as
    https://no-color.org says) turns colour off; FORCE_COLOR (non-empty and not `0`, as
    https://force-color.org and Node/rich read it) turns it on; otherwise a terminal on stdout
    (not TERM=dumb) is coloured."""
    if output is not None:
        return False
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


# A Unix tool whose reader went away dies of SIGPIPE; the shell reports that as 128 + 13.
SIGPIPE_STATUS = 141


def quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush into a closed pipe stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def stdout_gone() -> None:
    """The reader of stdout went away (`fhirrug evaluate big.ndjson | head`) while a command was
    still streaming: stop at once, silently, with the status of a tool killed by SIGPIPE (141),
    because the verdict on what was never read is unknown. (`validate` writes its report only
    when the verdict is known; `emit` keeps its exit code.)"""
    quiet_stdout()
    raise SystemExit(SIGPIPE_STATUS)


def _encode(text: str) -> bytes:
    # Lone surrogates (from JSON "\ud800" escapes in bad input) cannot be UTF-8: write them as
    # "\ud800", which inside a JSON string is exactly the escape they came from.
    return text.encode("utf-8", "backslashreplace")


def emit(text: str, output: Path | None = None) -> None:
    """Findings go to stdout, or atomically to `output`."""
    data = _encode(text)
    if output is None:
        stream = click.get_binary_stream("stdout")
        try:
            stream.write(data)
            stream.flush()
        except BrokenPipeError:
            # The reader went away (`fhirrug validate | head`) after the verdict was reached: not
            # an error of ours, and the exit code is still the verdict.
            quiet_stdout()
        return
    from ..jsonio import atomic_write

    atomic_write(output, data)


@contextlib.contextmanager
def emit_stream(output: Path | None = None, chunk: int = 1 << 16) -> Iterator:
    """As `emit`, for a report written piece by piece (one too big to hold in memory): yields
    `write(text)`. To stdout as it comes (a reader that goes away ends the command at once with
    status 141, as `stdout_gone` says: the verdict on what was never written is unknown), or to
    `output`, replaced atomically when the block ends without an exception (`jsonio.atomic_file`,
    as `emit` writes)."""
    from ..jsonio import atomic_file

    pending: list[bytes] = []
    size = 0
    sink = click.get_binary_stream("stdout") if output is None else None

    def write(text: str) -> None:
        nonlocal size
        data = _encode(text)
        pending.append(data)
        size += len(data)
        if size >= chunk:
            flush()

    def flush() -> None:
        nonlocal size
        sink.write(b"".join(pending))
        pending.clear()
        size = 0

    if output is None:
        try:
            yield write
            flush()
            sink.flush()
        except BrokenPipeError:
            stdout_gone()
        return
    with atomic_file(output) as sink:
        yield write
        flush()
