"""fhirrug: FHIR R4 (4.0.1) questionnaire content on low back pain, with its own validator and
enableWhen engine. The library works on plain parsed JSON; nothing here imports click or
fhir.resources until it is used."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "evaluate", "Issue", "engine", "validate", "rules", "translate"]

# Subpackages reachable as attributes after `import fhirrug` (`fhirrug.engine.compile(q)`),
# imported on first use.
_SUBMODULES = frozenset({"engine", "validate", "rules", "reporters", "translate", "package", "manifest", "config", "issues", "jsonio"})


def __getattr__(name: str):
    # Lazy, so that `import fhirrug` stays cheap for the CLI and for library users.
    if name == "evaluate":
        from .engine import evaluate

        return evaluate
    if name == "Issue":
        from .issues import Issue

        return Issue
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'fhirrug' has no attribute {name!r}")
