"""The fill page, through the WSGI app in-process: every shipped example route answered one answer
at a time as a browser submits the form, ending in what `fhirrug evaluate` says for the same
answers; exactly the enabled items shown; the server's guards."""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode, urlsplit

import pytest
from click.testing import CliRunner

from fhirrug.cli import main
from fhirrug.site.server import SiteApp

from site_helpers import answer_value, parse_strict, routes

ROUTES = routes()


@pytest.fixture(scope="module")
def app(site):
    from fhirrug.site.build import build_site
    from site_helpers import ROOT

    return SiteApp(build_site(ROOT, validate=False, fill=True))


@pytest.fixture(scope="module")
def evaluated():
    """What `fhirrug evaluate` says for every example: id -> (outcomes, enabled)."""
    result = CliRunner().invoke(main, ["evaluate", *(str(r.path) for r in ROUTES), "--format", "ndjson"])
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return {r["response"]: ([f"{o['system']}|{o['code']}" for o in r["outcomes"]], set(r["enabled"])) for r in records}


def request(app, url: str, host: str = "127.0.0.1:8000", method: str = "GET"):
    parts = urlsplit(url)
    captured = {}

    def start_response(status, headers):
        captured["status"], captured["headers"] = status, dict(headers)

    environ = {"REQUEST_METHOD": method, "PATH_INFO": parts.path, "QUERY_STRING": parts.query, "HTTP_HOST": host, "wsgi.input": io.BytesIO()}
    body = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], body


def follow(app, url: str):
    status, headers, body = request(app, url)
    while status.startswith("303"):
        status, headers, body = request(app, headers["Location"].split("#")[0])
    assert status.startswith("200"), (url, status)
    return body


def submit(form, button=None, fields: dict | None = None) -> str:
    """The URL a browser requests when `button` of the GET `form` is pressed."""
    pairs = []
    for element in form.iter("input"):
        name = element.get("name")
        if not name:
            continue
        kind = element.get("type", "text")
        if kind == "checkbox":
            if (fields or {}).get((name, element.get("value")), element.get("checked") is not None):
                pairs.append((name, element.get("value")))
        elif kind != "submit":
            pairs.append((name, (fields or {}).get(name, element.get("value") or "")))
    if button is not None:
        pairs.append((button.get("name"), button.get("value")))
    return form.get("action") + "?" + urlencode(pairs)


def shown(tree) -> list[str]:
    return [e.get("data-linkid") for e in tree.iter() if e.get("data-linkid")]


def answer_route(app, route) -> tuple[object, int]:
    """Answer the example's questions in the order the page offers them. Returns the final page."""
    answers = route.answers()
    url = f"/fill/{route.questionnaire_id}"
    done: set[str] = set()
    clicks = 0
    while True:
        tree = parse_strict(follow(app, url), url)
        form = tree.find(".//form")
        pending = [e for e in tree.iter() if e.get("data-answered") == "false" and e.get("data-linkid") in answers and e.get("data-linkid") not in done]
        if not pending:
            assert set(answers) <= done, f"never offered: {sorted(set(answers) - done)}"
            return tree, clicks
        item = pending[0]
        link_id = item.get("data-linkid")
        wanted = [answer_value(a) for a in answers[link_id]]
        buttons = [b for b in item.iter("button") if b.get("name") == "set"]
        if buttons:
            (button,) = [b for b in buttons if b.get("data-value") == wanted[0]]
            url = submit(form, button)
        else:
            save = next(b for b in item.iter("button") if b.get("name") == "save")
            fields = {f"a:{link_id}": wanted[0]}
            fields.update({(f"a:{link_id}", value): True for value in wanted})
            url = submit(form, save, fields)
        done.add(link_id)
        clicks += 1


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_every_example_route_ends_where_fhirrug_evaluate_does(app, evaluated, route):
    tree, clicks = answer_route(app, route)
    outcomes, enabled = evaluated[route.response["id"]]
    result = [e.get("data-result-outcome") for e in tree.iter() if e.get("data-result-outcome")]
    assert result == outcomes
    if route.expected is not None:
        assert result == route.expected  # the book's route table agrees too
    assert set(shown(tree)) == enabled, "the page shows exactly the items the engine says are enabled"
    assert clicks == len(route.answers())
    download = tree.find(".//a[@id='download']")
    status, headers, body = request(app, download.get("href"))
    assert status.startswith("200") and "attachment" in headers["Content-Disposition"]
    response = json.loads(body)
    assert response["resourceType"] == "QuestionnaireResponse"
    again = CliRunner().invoke(main, ["evaluate", "-", "--format", "json"], input=body.decode("utf-8"))
    record = json.loads(again.stdout)["results"][0]
    assert [f"{o['system']}|{o['code']}" for o in record["outcomes"]] == outcomes
    assert record["valid"], record["issues"]


def test_changing_an_earlier_answer_drops_the_answers_it_disables(app):
    base = "/fill/zelfdiagnose-lage-rugklachten"
    tree = parse_strict(follow(app, base + "?" + urlencode([("a:alarm.1", "false"), ("a:alarm.2", "false"), ("a:alarm.3", "false"), ("a:lijst1.1", "false"), ("a:lijst1.2", "true")])))
    assert "lijst1.2" in shown(tree)
    form = tree.find(".//form")
    (yes,) = [b for b in form.iter("button") if b.get("value") == "lijst1.1=true"]
    status, headers, _ = request(app, submit(form, yes))
    assert status.startswith("303")
    location = headers["Location"]
    assert "lijst1.2" not in location and "a%3Alijst1.1=true" in location
    tree = parse_strict(follow(app, location.split("#")[0]))
    assert "lijst1.2" not in shown(tree) and "lijst1.antwoord-1" in shown(tree)


def test_static_pages_are_served_and_the_guards_hold(app, site):
    status, headers, body = request(app, "/")
    assert status.startswith("200") and body == site.files["index.html"].replace(b"", b"") or body.startswith(b"<!DOCTYPE html>")
    assert "script-src" not in headers["Content-Security-Policy"] and "default-src 'none'" in headers["Content-Security-Policy"]
    assert request(app, "/nope.html")[0].startswith("404")
    assert request(app, "/fill/no-such-questionnaire")[0].startswith("404")
    assert request(app, "/", method="POST")[0].startswith("405")
    assert request(app, "/", host="evil.example:8000")[0].startswith("421")
    assert request(app, "/", method="HEAD")[2] == b""


def test_nonsense_answers_are_ignored(app):
    url = "/fill/zelfdiagnose-lage-rugklachten?" + urlencode([("a:alarm.1", "misschien"), ("a:unknown", "x"), ("a:lijst2", "nope|nope")])
    tree = parse_strict(follow(app, url))
    assert [e.get("data-linkid") for e in tree.iter() if e.get("data-answered") == "true"] == []
