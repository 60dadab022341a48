"""fhirrug: FHIR R4 (4.0.1) questionnaire content on low back pain, with its own validator and
enableWhen engine. The library works on plain parsed JSON; nothing here imports click or
fhir.resources until it is used."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "evaluate", "Issue"]


def __getattr__(name: str):
    # Lazy, so that `import fhirrug` stays cheap for the CLI and for library users.
    if name == "evaluate":
        from .engine import evaluate

        return evaluate
    if name == "Issue":
        from .issues import Issue

        return Issue
    raise AttributeError(f"module 'fhirrug' has no attribute {name!r}")
