"""The shipped content validates clean under the resource and package rules: no error, no warning."""

from __future__ import annotations

from fhirrug.validate import validate_root

from ._helpers import own_rules


def test_shipped_content_passes_the_resource_and_package_rules(repo_root):
    result = validate_root(repo_root, rules=own_rules())
    findings = [(i.severity, i.code, i.file, i.expression, i.message) for i in result.issues]
    assert findings == []
    assert len(result.files) > 10  # the content really was there
