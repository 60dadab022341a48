"""`fhirrug publish` against a real FHIR R4 server (sekmet-fhir) started on 127.0.0.1 by a fixture."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from sekmet_fixture import TOKEN, free_port
from fhirrug import exitcodes
from fhirrug.cli import main
from fhirrug.release.bump import apply_bump, plan_bump
from fhirrug.release.export import collect, export, transaction_bundle
from fhirrug.release.publish import Client, PublishError, differences, publish
from release_tree import structural_validator, write_tree

pytestmark = pytest.mark.slow  # a server process per module

TYPES = ["CodeSystem", "ValueSet", "ConceptMap", "Questionnaire"]


def _search(server, rtype: str, url: str, version: str) -> list[dict]:
    status, found = Client(server.base, TOKEN).request("GET", f"{rtype}?url={quote(url, safe='')}&version={version}")
    assert status == 200, found
    return [e["resource"] for e in found.get("entry", []) if e.get("search", {}).get("mode", "match") == "match"]


def test_publish_republish_bump_publish(fhir_server, tmp_path: Path):
    root = write_tree(tmp_path / "content")
    first = publish(transaction_bundle(collect(root)), fhir_server.base, TOKEN)
    assert first.ok, first.to_dict()
    assert [e.status[:3] for e in first.entries] == ["201"] * 4
    assert [e.readback for e in first.entries] == ["same"] * 4

    again = publish(transaction_bundle(collect(root)), fhir_server.base, TOKEN)
    assert again.ok, again.to_dict()
    assert again.created == 0 and [e.status[:3] for e in again.entries] == ["200"] * 4

    apply_bump(plan_bump(root, "minor", date="2026-12-01", validator=structural_validator))
    second = publish(transaction_bundle(collect(root)), fhir_server.base, TOKEN)
    assert second.ok, second.to_dict()
    assert second.created == 4

    for rtype, file in zip(TYPES, ["valuesets/CodeSystem-antwoord.json", "valuesets/ValueSet-antwoord.json", "valuesets/ConceptMap-uitkomst.json", "questionnaires/Questionnaire-zelftest.json"]):
        current = json.loads((root / file).read_text())
        old = _search(fhir_server, rtype, current["url"], "0.1.0")
        new = _search(fhir_server, rtype, current["url"], "0.2.0")
        assert len(old) == 1 and len(new) == 1, rtype
        assert old[0]["id"] != new[0]["id"]  # the new version did not overwrite the old one
        assert old[0]["version"] == "0.1.0" and new[0]["version"] == "0.2.0"
        assert differences({k: v for k, v in current.items() if k != "id"}, new[0]) == []
    old_q = _search(fhir_server, "Questionnaire", "https://fhir.fhirrug.nl/Questionnaire/zelftest", "0.1.0")[0]
    assert old_q["item"][0]["answerValueSet"].endswith("|0.1.0")


def test_cli_publish_an_exported_bundle(fhir_server, tmp_path: Path):
    root = write_tree(tmp_path / "content")
    for path in root.rglob("*.json"):  # other urls than the first test's, so this test stands alone
        path.write_text(path.read_text().replace("/zelftest", "/cli-zelftest").replace("/antwoord", "/cli-antwoord").replace("/uitkomst", "/cli-uitkomst"))
    export(root, tmp_path / "out", "bundle")
    bundle = tmp_path / "out/fhirrug.test.nl-0.1.0.bundle.json"
    result = CliRunner().invoke(main, ["publish", "--server", fhir_server.base, "--token", TOKEN, "--bundle", str(bundle), "--format", "json"])
    assert result.exit_code == exitcodes.OK, result.output
    report = json.loads(result.stdout)
    assert report["ok"] and report["created"] == 4
    result = CliRunner().invoke(main, ["publish", "--server", fhir_server.base, "--token", TOKEN, "--bundle", str(bundle)])
    assert result.exit_code == exitcodes.OK, result.output
    assert result.stdout.count("200 OK") == 4 and "read back: same" in result.stdout


def test_without_the_token_the_server_refuses(fhir_server, tmp_path: Path):
    root = write_tree(tmp_path / "content")
    result = CliRunner().invoke(main, ["publish", "--server", fhir_server.base, "--root", str(root), "--no-validate"], env={"FHIRRUG_TOKEN": ""})
    assert result.exit_code == exitcodes.USAGE, result.output
    assert "401" in result.output and "Traceback" not in result.output


def test_a_server_that_cannot_search_by_url_is_refused_before_anything_is_sent(plain_fhir_server, tmp_path: Path):
    root = write_tree(tmp_path / "content")
    with pytest.raises(PublishError, match="Questionnaire"):
        publish(transaction_bundle(collect(root)), plain_fhir_server.base, TOKEN)
    status, found = Client(plain_fhir_server.base, TOKEN).request("GET", "Questionnaire")
    assert status == 200 and found.get("total", 0) == 0


def test_unreachable_server_is_a_usage_error(tmp_path: Path):
    root = write_tree(tmp_path / "content")
    result = CliRunner().invoke(main, ["publish", "--server", f"http://127.0.0.1:{free_port()}/fhir", "--root", str(root), "--no-validate"])
    assert result.exit_code == exitcodes.USAGE and "Traceback" not in result.output


def test_content_that_does_not_validate_is_not_sent(tmp_path: Path, monkeypatch):
    from fhirrug.release import bump as bump_module

    monkeypatch.setattr(bump_module, "validate_content", structural_validator)
    root = write_tree(tmp_path / "content")
    (root / "valuesets/ValueSet-kapot.json").write_text("{", encoding="utf-8")
    result = CliRunner().invoke(main, ["publish", "--server", f"http://127.0.0.1:{free_port()}/fhir", "--root", str(root)])
    assert result.exit_code == exitcodes.FINDINGS, result.output


def test_differences_are_found():
    sent = {"resourceType": "Questionnaire", "id": "x", "url": "u", "item": [{"linkId": "a", "text": "A"}]}
    assert differences(sent, {**sent, "id": "server-id", "meta": {"versionId": "3"}}) == []
    assert differences(sent, {**sent, "text": {"status": "generated", "div": "<div/>"}}) == []
    assert differences(sent, {**sent, "item": [{"linkId": "a", "text": "B"}]}) == ['item[0].text: sent "A", stored "B"']
    assert differences(sent, {k: v for k, v in sent.items() if k != "url"}) == ["url missing"]
    assert differences(sent, {**sent, "item": []}) == ["item: 1 values sent, 0 stored"]



def test_content_the_server_refuses_is_a_finding_and_nothing_is_stored(fhir_server, tmp_path: Path):
    root = write_tree(tmp_path / "content")
    bundle = transaction_bundle(collect(root))
    for entry in bundle["entry"]:
        entry["resource"]["url"] = entry["resource"]["url"].replace("/antwoord", "/geweigerd").replace("/zelftest", "/geweigerd-q").replace("/uitkomst", "/geweigerd-cm")
        entry["request"]["url"] = entry["request"]["url"].replace("antwoord", "geweigerd").replace("zelftest", "geweigerd-q").replace("uitkomst", "geweigerd-cm")
    bundle["entry"][-1]["resource"]["experimental"] = "nee"  # not a boolean: the server's model validation refuses it
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = CliRunner().invoke(main, ["publish", "--server", fhir_server.base, "--token", TOKEN, "--bundle", str(path)])
    assert result.exit_code == exitcodes.FINDINGS, result.output
    assert "nothing was stored" in result.output
    assert _search(fhir_server, "CodeSystem", "https://fhir.fhirrug.nl/CodeSystem/geweigerd", "0.1.0") == []
