"""`fhirrug paths`: the decision table, computed by hand for small Questionnaires."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirrug.cli import main
from fhirrug.engine import compile
from fhirrug.engine.paths import RouteWalk, routes

from engine_helpers import ew, item, q

ROOT = Path(__file__).resolve().parents[2]
OUT = lambda code: [{"system": "http://example.org/cs", "code": code}]  # noqa: E731


def outcome(link_id, code, **extra):
    return item(link_id, "display", text=f"Antwoord {code}", code=OUT(code), **extra)


DECISION_LIST = q(
    item("v1"),
    outcome("a1", "1", enableWhen=[ew("v1", answerBoolean=True)]),
    item("v2", enableWhen=[ew("v1", answerBoolean=False)]),
    outcome("a2", "2", enableWhen=[ew("v2", answerBoolean=True)]),
    outcome("a3", "3", enableWhen=[ew("v2", answerBoolean=False)]),
    outcome("never", "4", enableWhen=[ew("v2", answerBoolean=True), ew("v1", answerBoolean=True)], enableBehavior="all"),
)


def _table(routes_result):
    return [([(s["linkId"], s["answer"].get("boolean", s["answer"].get("code"))) for s in r["steps"]], [o["code"] for o in r["outcomes"]]) for r in routes_result.routes]


def test_routes_of_a_decision_list():
    result = routes(compile(DECISION_LIST))
    assert _table(result) == [
        ([("v1", True)], ["1"]),
        ([("v1", False), ("v2", True)], ["2"]),
        ([("v1", False), ("v2", False)], ["3"]),
    ]
    assert [o["code"] for o in result.unreached] == ["4"]


def test_choice_options_branch_and_equivalent_answers_merge():
    options = [{"valueCoding": {"system": "http://example.org/k", "code": c}} for c in ("x", "y", "z")]
    quest = q(item("k", "choice", answerOption=options), outcome("ax", "1", enableWhen=[ew("k", answerCoding={"system": "http://example.org/k", "code": "x"})]))
    result = routes(compile(quest))
    assert _table(result) == [([("k", "x")], ["1"]), ([("k", "y")], [])]
    assert [a["code"] for a in result.routes[1]["steps"][0]["alternatives"]] == ["z"]


def test_cli_paths_json_and_exit_code(tmp_path):
    (tmp_path / "fhirrug.toml").write_text('[package]\nname = "t"\nversion = "0.1.0"\ncanonical = "http://example.org"\npublisher = "t"\n', encoding="utf-8")
    (tmp_path / "valuesets").mkdir()
    (tmp_path / "questionnaires").mkdir()
    (tmp_path / "valuesets" / "CodeSystem-cs.json").write_text(json.dumps({"resourceType": "CodeSystem", "url": "http://example.org/cs", "concept": [{"code": c} for c in "1234"]}), encoding="utf-8")
    path = tmp_path / "questionnaires" / "Questionnaire-t.json"
    quest = json.loads(json.dumps(DECISION_LIST))
    quest["item"][0]["text"] = "Vraag 1?"  # v2 has no text: its entry in "items" is empty
    path.write_text(json.dumps(quest), encoding="utf-8")
    result = CliRunner().invoke(main, ["paths", str(path), "--format", "json"])
    assert result.exit_code == 1  # one outcome is unreachable
    table = json.loads(result.stdout)
    assert len(table["routes"]) == 3 and table["unreached"][0]["code"] == "4"
    # A step names its item by linkId and holds the answer; the item's text is given once, in "items".
    step = table["routes"][0]["steps"][0]
    assert set(step) >= {"linkId", "answer"} and "text" not in step
    assert table["items"] == {"v1": {"text": "Vraag 1?"}, "v2": {}} and step["linkId"] == "v1"


@pytest.mark.slow
def test_cli_paths_self_diagnosis_reaches_every_outcome():
    path = ROOT / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json"
    result = CliRunner().invoke(main, ["paths", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["unreached"] == []


def test_cli_paths_streams_the_table_the_engine_computes(tmp_path):
    """The json and text forms, written route by route, hold exactly the routes of `routes()`
    (the site's), with each item's text once; --output replaces the file atomically."""
    path = ROOT / "questionnaires" / "Questionnaire-ischias-faq.json"
    from fhirrug.engine import Engine
    from fhirrug.package import load_package

    package = load_package(ROOT)
    data = next(r.data for r in package.resources if r.path.resolve() == path.resolve())
    plan = Engine(package).plan_for(data)
    expected = routes(plan)
    out = tmp_path / "paths.json"
    out.write_text("old", encoding="utf-8")
    result = CliRunner().invoke(main, ["paths", str(path), "--format", "json", "--output", str(out)])
    assert result.exit_code == (1 if expected.unreached else 0), result.stderr
    table = json.loads(out.read_text(encoding="utf-8"))
    texts = {link: entry["text"] for link, entry in table["items"].items()}
    rebuilt = [{"steps": [{"linkId": s["linkId"], "text": texts[s["linkId"]], **{k: v for k, v in s.items() if k != "linkId"}} for s in r["steps"]], "outcomes": r["outcomes"]} for r in table["routes"]]
    assert [{"steps": [dict(sorted(s.items())) for s in r["steps"]], "outcomes": r["outcomes"]} for r in rebuilt] == \
        [{"steps": [dict(sorted(s.items())) for s in r["steps"]], "outcomes": r["outcomes"]} for r in expected.routes]
    assert table["unreached"] == expected.unreached and table["truncated"] is False
    raw = out.read_text(encoding="utf-8")
    for shown in {t for t in texts.values() if t}:  # each question's text once
        assert raw.count(json.dumps(shown, ensure_ascii=False)) == 1
    text = CliRunner().invoke(main, ["paths", str(path)])
    assert text.stdout.endswith(f"{len(expected.routes)} routes\n") and text.stdout.count("\n      => ") == len(expected.routes)


def test_routes_are_yielded_and_written_one_at_a_time():
    """RouteWalk hands out each route as it is found, and the json form writes it then: nothing
    waits for the whole table (which is what keeps memory flat in the number of routes)."""
    from fhirrug.cli.paths import stream_json

    walk = RouteWalk(compile(DECISION_LIST))
    first = next(iter(walk))
    assert walk.count == 1 and [s["linkId"] for s in first["steps"]] == ["v1"]
    walk = RouteWalk(compile(DECISION_LIST))
    seen = []
    stream_json(walk, lambda text: seen.append((walk.count, text)))
    route_writes = [(count, text) for count, text in seen if '"steps"' in text]
    assert [count for count, _ in route_writes] == [1, 2, 3]  # each route written as it came
    table = json.loads("".join(text for _, text in seen))
    assert _table(routes(compile(DECISION_LIST))) == [
        ([(s["linkId"], s["answer"].get("boolean")) for s in r["steps"]], [o["code"] for o in r["outcomes"]]) for r in table["routes"]]
    assert [o["code"] for o in table["unreached"]] == ["4"] and table["truncated"] is False


def test_paths_into_a_closed_pipe_is_quiet_with_the_sigpipe_status(fhirrug_exe):
    """The table is streamed: a reader that goes away stops the command, which then cannot know
    whether every outcome is reachable; 141 (as `evaluate`), not a verdict, and no traceback."""
    import subprocess

    path = ROOT / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json"
    pipeline = subprocess.run(
        f"'{fhirrug_exe}' paths --format json '{path}' | head -c 200; echo \" status=${{PIPESTATUS[0]}}\"",
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=120,
    )
    assert pipeline.stderr == ""
    assert pipeline.stdout.startswith('{"items": {') and pipeline.stdout.endswith(" status=141\n")


def test_a_stream_that_fails_leaves_the_old_output(tmp_path):
    """emit_stream (the writer of `paths --output`): a failure halfway keeps the old file whole
    and leaves no temp file; a finished stream replaces it, keeping its mode."""
    import os

    from fhirrug.cli._common import emit_stream

    out = tmp_path / "paths.json"
    out.write_text("old", encoding="utf-8")
    os.chmod(out, 0o640)
    with pytest.raises(RuntimeError):
        with emit_stream(out, chunk=4) as write:
            write("new, and more than one chunk")
            raise RuntimeError("halfway")
    assert out.read_text(encoding="utf-8") == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["paths.json"]
    with emit_stream(out, chunk=4) as write:
        for piece in ("a", "bcdef", "g\n"):
            write(piece)
    assert out.read_text(encoding="utf-8") == "abcdefg\n" and (out.stat().st_mode & 0o777) == 0o640
