"""Versions and releases: `fhirrug bump`, `diff`, `export` and `publish` as a library.

Modules: versions (semantic versions), transaction (all-or-nothing multi-file writes),
tarsafe (reading exported packages back safely), trees (OLD/NEW as folder, package or git
revision), diff, bump, export, publish.
"""
