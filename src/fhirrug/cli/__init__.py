"""The `fhirrug` command. Click only: each command lives in its own module, imported when it runs,
so `fhirrug --help` stays fast and a broken command cannot break the others."""

from __future__ import annotations

import importlib

import click

from .. import __version__

# name -> (module, attribute, one-line help shown by `fhirrug --help` without importing the module)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("fhirrug.cli.validate", "validate", "Validate resources, folders or the embedded content package."),
    "rules": ("fhirrug.cli.rules", "rules", "List every rule: id, severity, summary and spec link."),
    "evaluate": ("fhirrug.cli.evaluate", "evaluate", "Evaluate QuestionnaireResponses: enabled items, validity, outcomes."),
    "paths": ("fhirrug.cli.paths", "paths", "Print the decision table of a Questionnaire: every route and its outcomes."),
    "translate": ("fhirrug.cli.translate", "translate", "Write a single-language copy of resources (translation extensions applied)."),
    "diff": ("fhirrug.cli.diff", "diff", "Compare two releases and classify the change as major, minor or patch."),
    "bump": ("fhirrug.cli.bump", "bump", "Raise the package version, rewrite references and add a CHANGELOG entry."),
    "export": ("fhirrug.cli.export", "export", "Write the release as a FHIR NPM package and a transaction Bundle."),
    "publish": ("fhirrug.cli.publish", "publish", "Post the release to a FHIR R4 server and read every resource back."),
    "site": ("fhirrug.cli.site", "site", "Build the review site (or serve it with fill pages that run the engine)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, _, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def version_text() -> str:
    """The tool's version and the content package it carries (name, version, FHIR version)."""
    lines = [f"fhirrug {__version__}"]
    try:
        from ..manifest import embedded_root, load_manifest

        manifest = load_manifest(embedded_root())
        lines.append(f"embedded content: {manifest.name} {manifest.version} (FHIR {manifest.fhir_version})")
    except Exception as exc:  # noqa: BLE001 - --version must always answer
        lines.append(f"embedded content: none ({exc})")
    return "\n".join(lines)


def _print_version(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(version_text())
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version, help="Show the version of fhirrug and of its embedded content, and exit.")
def main() -> None:
    """fhirrug: FHIR R4 questionnaire content on low back pain, and the tools to check and release it.

    Exit codes: 0 clean, 1 findings (errors; warnings with --strict; an invalid response),
    2 usage, configuration or internal failure; 141 when the reader of a streaming command's
    output went away (`fhirrug evaluate ... | head`).

    Shell completion: eval "$(_FHIRRUG_COMPLETE=bash_source fhirrug)" (zsh_source, fish_source).
    """
