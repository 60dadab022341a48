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


def use_color(output: Path | None = None) -> bool:
    """Colour only for a terminal on stdout, and never when NO_COLOR is set (https://no-color.org)."""
    if output is not None or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


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
            # The reader went away (`fhirrug validate | head`): not an error of ours. Point stdout
            # at devnull so the interpreter's final flush stays quiet; the exit code still counts.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return
    from ..jsonio import atomic_write

    atomic_write(output, data)
