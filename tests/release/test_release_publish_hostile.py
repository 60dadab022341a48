"""`fhirrug publish` against servers that misbehave (issue 17): redirects, plain http, echoed
tokens, drips, drops, floods and odd replies. The servers run on 127.0.0.1, started by each
test (hostile_server.py); every behaviour is bounded in bytes and time. The well-behaved path
runs against a real FHIR server in test_release_publish.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug import exitcodes
from fhirrug.cli import main
from fhirrug.release.export import collect, transaction_bundle
from fhirrug.release.publish import Client, PublishError, is_loopback
from hostile_server import CAPABILITY, HostileServer, answer, capability, drip, drop, echo_authorization, flood, hang_up, redirect
from release_tree import write_tree

TOKEN = "s3cr3t-fhirrug-token"  # distinctive: any appearance in output is a leak
MiB = 1024 * 1024


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(transaction_bundle(collect(write_tree(tmp_path / "content")))), encoding="utf-8")
    return path


def _publish(server: str, bundle: Path, *args: str):
    result = CliRunner().invoke(main, ["publish", "--server", server, "--token", TOKEN, "--bundle", str(bundle), *args])
    assert isinstance(result.exception, SystemExit), f"not a clean exit: {result.exception!r}\n{result.output}"
    assert "Traceback" not in result.output
    assert TOKEN not in result.output, "the token leaked into the output"
    return result


# --- credentials ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["301 Moved Permanently", "302 Found", "303 See Other", "307 Temporary Redirect", "308 Permanent Redirect"])
def test_a_redirect_to_another_origin_receives_nothing(bundle: Path, status: str):
    with HostileServer({("GET", "/fhir/metadata"): capability()}) as elsewhere:
        with HostileServer({("GET", "/fhir/metadata"): redirect(f"{elsewhere.base}/metadata", status)}) as server:
            result = _publish(server.base, bundle)
    assert result.exit_code == exitcodes.USAGE, result.output
    assert "redirect" in result.output and elsewhere.base in result.output
    assert elsewhere.received == [], "the other origin was contacted (with the token)"


def test_a_redirect_on_the_same_origin_is_not_followed_either(bundle: Path):
    with HostileServer({("GET", "/fhir/metadata"): redirect("/other/metadata")}) as server:
        result = _publish(server.base, bundle)
    assert result.exit_code == exitcodes.USAGE and "--server" in result.output
    assert [r.path for r in server.received] == ["/fhir/metadata"]


def test_a_request_to_another_origin_is_refused_by_the_client():
    with HostileServer({}) as server, HostileServer({}) as elsewhere:
        with pytest.raises(PublishError, match="another origin"):
            Client(server.base, TOKEN).request("GET", f"{elsewhere.base}/metadata")
    assert elsewhere.received == []


def test_plain_http_to_another_host_is_refused_without_insecure(bundle: Path):
    result = _publish("http://fhir.example.invalid/fhir", bundle)
    assert result.exit_code == exitcodes.USAGE
    assert "plain http" in result.output and "--insecure" in result.output


def test_with_insecure_the_risk_is_announced(bundle: Path):
    result = _publish("http://fhir.example.invalid/fhir", bundle, "--insecure")
    assert result.exit_code == exitcodes.USAGE  # the host does not exist; what matters is the warning
    assert "WARNING" in result.output and "plain http" in result.output


def test_plain_http_without_a_token_and_https_are_not_refused(bundle: Path):
    without = CliRunner().invoke(main, ["publish", "--server", "http://fhir.example.invalid/fhir", "--bundle", str(bundle)], env={"FHIRRUG_TOKEN": ""})
    assert without.exit_code == exitcodes.USAGE and "plain http" not in without.output  # unreachable, not refused
    secure = _publish("https://fhir.example.invalid/fhir", bundle)
    assert secure.exit_code == exitcodes.USAGE and "plain http" not in secure.output


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True), ("LOCALHOST.", True), ("10.0.0.1", False), ("fhir.example.org", False), ("localhost.example.org", False)])
def test_loopback_hosts(host: str, loopback: bool):
    assert is_loopback(host) is loopback


def test_a_token_the_server_echoes_back_is_not_shown(bundle: Path):
    with HostileServer({("GET", "/fhir/metadata"): echo_authorization()}) as server:
        result = _publish(server.base, bundle)
    assert server.received[0].headers["authorization"] == f"Bearer {TOKEN}"  # it was sent, to this origin
    assert result.exit_code == exitcodes.USAGE and "token refused: Bearer ***" in result.output


@pytest.mark.parametrize("token", ["abc\r\nX-Injected: 1", "two words", ""])
def test_a_token_that_is_no_bearer_token_is_refused_without_echo(bundle: Path, token: str):
    with HostileServer({("GET", "/fhir/metadata"): capability()}) as server:
        result = CliRunner().invoke(main, ["publish", "--server", server.base, "--token", token, "--bundle", str(bundle)])
    if token:
        assert result.exit_code == exitcodes.USAGE and "not a bearer token" in result.output, result.output
        assert token not in result.output and server.received == []
    else:  # an empty token is no token
        assert "not a bearer token" not in result.output


def test_credentials_in_the_server_url_are_refused(bundle: Path):
    result = CliRunner().invoke(main, ["publish", "--server", f"https://user:{TOKEN}@fhir.example.invalid/fhir", "--bundle", str(bundle)])
    assert result.exit_code == exitcodes.USAGE and TOKEN not in result.output and "--token" in result.output


# --- time and size ----------------------------------------------------------------------------


@pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
def test_a_dripping_server_cannot_hold_a_request_beyond_the_timeout(bundle: Path, in_headers: bool):
    body = json.dumps(CAPABILITY).encode()
    behaviour = drip(body, interval=0.05, in_headers=in_headers)  # well under the 1 s per-read timeout
    with HostileServer({("GET", "/fhir/metadata"): behaviour}) as server:
        result = _publish(server.base, bundle, "--timeout", "1")
        sent = server.reply("GET", "/fhir/metadata").sent
    assert result.exit_code == exitcodes.USAGE
    assert "within 1 s (--timeout)" in result.output, result.output
    assert sent < len(body), "the whole reply was received: the deadline did not hold"


def test_a_flood_is_cut_at_the_size_limit(bundle: Path):
    total = 64 * MiB  # twice the limit; the server stops there whatever happens
    with HostileServer({("GET", "/fhir/metadata"): flood(total)}) as server:
        result = _publish(server.base, bundle)
        reply = server.reply("GET", "/fhir/metadata")
    assert result.exit_code == exitcodes.USAGE and "larger than the limit" in result.output, result.output
    assert reply.hung_up or reply.sent < total


def test_a_declared_length_over_the_limit_is_refused_before_reading(bundle: Path):
    with HostileServer({("GET", "/fhir/metadata"): flood(4 * MiB, declared=10 * 1024 * MiB)}) as server:
        result = _publish(server.base, bundle)
    assert result.exit_code == exitcodes.USAGE and "over the limit" in result.output, result.output


def test_the_size_limit_is_a_parameter():
    with HostileServer({("GET", "/fhir/metadata"): capability()}) as server:
        assert Client(server.base, max_bytes=10_000).request("GET", "metadata")[1]["fhirVersion"] == "4.0.1"
        with pytest.raises(PublishError, match="limit of 20 bytes"):
            Client(server.base, max_bytes=20).request("GET", "metadata")


# --- connections that drop, replies that make no sense -----------------------------------------


def test_a_connection_dropped_mid_answer_after_the_transaction_is_reported(bundle: Path):
    routes = {("GET", "/fhir/metadata"): capability(), ("POST", "/fhir"): drop(declared=5000, sent=b'{"resourceType": "Bundle", "type": "transac')}
    with HostileServer(routes) as server:
        result = _publish(server.base, bundle)
    assert result.exit_code == exitcodes.USAGE
    assert "may have stored" in result.output and "publishing again is safe" in result.output


def test_a_server_that_hangs_up_on_the_transaction_is_reported(bundle: Path):
    with HostileServer({("GET", "/fhir/metadata"): capability(), ("POST", "/fhir"): hang_up()}) as server:
        result = _publish(server.base, bundle)
    assert result.exit_code == exitcodes.USAGE and "may have stored" in result.output, result.output


def test_a_connection_dropped_before_anything_was_sent_is_not_a_maybe(bundle: Path):
    with HostileServer({("GET", "/fhir/metadata"): drop(declared=500, sent=b"{")}) as server:
        result = _publish(server.base, bundle)
    assert result.exit_code == exitcodes.USAGE and "may have stored" not in result.output


def _searchset(entries) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def test_odd_entries_in_the_replies_are_failures_not_tracebacks(bundle: Path):
    odd = {"resourceType": "Bundle", "type": "transaction-response", "entry": [1, {"response": "201 Created"}, {"response": {"status": ["201"]}}, {}]}
    routes = {
        ("GET", "/fhir/metadata"): answer("200 OK", {**CAPABILITY, "rest": [1, {"mode": "server", "resource": "x"}]}),
        ("POST", "/fhir"): answer("200 OK", odd),
    }
    for rtype in ("CodeSystem", "ValueSet", "ConceptMap", "Questionnaire"):
        routes[("GET", f"/fhir/{rtype}")] = answer("200 OK", _searchset(["x", {"resource": 5}, {"search": "match"}]))
    with HostileServer(routes) as server:
        result = _publish(server.base, bundle)
    assert result.exit_code == exitcodes.FINDINGS, result.output
    assert result.stdout.count("FAIL") == 4


@pytest.mark.parametrize("entries", [None, "x", [{}]], ids=["no entry", "entry not a list", "too few"])
def test_a_transaction_response_without_matching_entries_is_reported(bundle: Path, entries):
    reply = {"resourceType": "Bundle", "type": "transaction-response", **({} if entries is None else {"entry": entries})}
    with HostileServer({("GET", "/fhir/metadata"): capability(), ("POST", "/fhir"): answer("200 OK", reply)}) as server:
        result = _publish(server.base, bundle)
    assert result.exit_code == exitcodes.USAGE and "entries for 4 sent" in result.output


@pytest.mark.parametrize(
    "change",
    [lambda b: b["entry"].append({"request": {"method": "PUT"}}), lambda b: b["entry"][0]["resource"].pop("url"), lambda b: b.update(type="batch"), lambda b: b.update(entry=[])],
    ids=["entry without resource", "resource without url", "not a transaction", "no entries"],
)
def test_a_bundle_file_that_cannot_be_published_is_refused_before_sending(bundle: Path, change):
    data = json.loads(bundle.read_text())
    change(data)
    bundle.write_text(json.dumps(data), encoding="utf-8")
    with HostileServer({("GET", "/fhir/metadata"): capability()}) as server:
        result = _publish(server.base, bundle)
    assert result.exit_code == exitcodes.USAGE and "cannot be published" in result.output
    assert server.received == []


SCRIPT = shutil.which("fhirrug", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(SCRIPT is None, reason="the fhirrug console script is not installed next to this python")
def test_through_the_console_script_nothing_leaks_to_stderr(bundle: Path):
    routes = {("GET", "/fhir/metadata"): echo_authorization("500 Internal Server Error")}
    with HostileServer(routes) as server:
        done = subprocess.run([SCRIPT, "publish", "--server", server.base, "--bundle", str(bundle)], capture_output=True, text=True, timeout=60, env={**os.environ, "FHIRRUG_TOKEN": TOKEN, "FHIRRUG_DEBUG": "1"})
    assert done.returncode == exitcodes.USAGE
    assert TOKEN not in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_https_to_a_server_that_speaks_no_tls_is_a_clean_error(bundle: Path):
    with HostileServer({("GET", "/fhir/metadata"): capability()}) as server:
        result = _publish(server.base.replace("http://", "https://"), bundle, "--timeout", "5")
    assert result.exit_code == exitcodes.USAGE and "metadata" in result.output, result.output
