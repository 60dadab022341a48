"""`fhirrug rules [RULE ...]`: list every rule with id, default severity, scope, summary and spec link."""

from __future__ import annotations

import fnmatch

import click

from .. import __version__, exitcodes
from ..reporters.rules_listing import RULES_REPORTER_BY_NAME
from ._common import cli_errors, emit, fail, format_option


@click.command()
@click.argument("patterns", nargs=-1, metavar="[RULE ...]")
@format_option(RULES_REPORTER_BY_NAME)
@click.option("--verbose", "-v", is_flag=True, help="Also print each rule's documentation (text format).")
def rules(patterns, output_format, verbose):
    """List every rule `fhirrug validate` can report: id, default severity, scope and resource
    types, summary and spec link. RULE (an id or glob such as 'que-*') limits the list; an id
    that matches nothing is a usage error (exit 2).

    The ids are what --select, --ignore, --severity and [tool.fhirrug] take; so are the former
    ids a rule lists as aliases.
    """
    with cli_errors():
        from ..rules import all_rules

        selected = all_rules()
        if patterns:
            selected = [r for r in selected if any(fnmatch.fnmatchcase(name, p) for name in (r.id, *r.aliases) for p in patterns)]
            if not selected:
                fail(f"no rule matches {', '.join(patterns)}; `fhirrug rules` lists them all")
        emit(RULES_REPORTER_BY_NAME[output_format.lower()](selected, __version__, verbose=verbose))
    raise SystemExit(exitcodes.OK)
