"""`fhirrug validate --watch`, for real: the installed console script watches a temporary project,
a file is edited and saved as an editor saves it, and a new report appears."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time

import pytest

pytest.importorskip("watchfiles", reason="watchfiles (the watch extra) is not installed")

GOOD = {
    "resourceType": "Questionnaire",
    "id": "watch",
    "url": "https://fhir.fhirrug.nl/Questionnaire/watch",
    "version": "0.1.0",
    "status": "draft",
    "item": [{"linkId": "a", "text": "Pijn?", "_text": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/translation", "extension": [{"url": "lang", "valueCode": "en"}, {"url": "content", "valueString": "Pain?"}]}]}, "type": "boolean"}],
}


def _lines(stream, into: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        into.put(line)
    into.put(None)


def _until(lines: queue.Queue, predicate, timeout: float = 60) -> list[str]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if predicate(line):
            return seen
    raise AssertionError(f"no such line within {timeout} s; got {seen!r}")


@pytest.mark.slow
def test_saving_a_file_triggers_a_new_report(fhirrug_exe, make_project):
    root = make_project({"questionnaires/Questionnaire-watch.json": json.dumps(GOOD, indent=2)})
    target = root / "questionnaires" / "Questionnaire-watch.json"
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    process = subprocess.Popen(
        [str(fhirrug_exe), "validate", "--watch"], cwd=root, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
    )
    out, err = queue.Queue(), queue.Queue()
    for stream, into in ((process.stdout, out), (process.stderr, err)):
        threading.Thread(target=_lines, args=(stream, into), daemon=True).start()
    try:
        first = _until(out, lambda line: "error" in line and "warning" in line and line[0].isdigit())
        assert first[-1].startswith("1 file, 0 errors")
        _until(err, lambda line: "watching" in line)
        # save as editors do: a new file renamed over the old one
        broken = {**GOOD, "status": "kapot"}
        temporary = target.with_name(".Questionnaire-watch.json.swp")
        temporary.write_text(json.dumps(broken, indent=2), encoding="utf-8")
        os.replace(temporary, target)
        second = _until(out, lambda line: line[0].isdigit() and "errors" in line or line.startswith("1 file, 1 error"))
        assert any("Terminology_TX_NoValid_16" in line and "Questionnaire-watch.json:" in line for line in second), second
        assert second[-1].startswith("1 file, 1 error")
        changed = _until(err, lambda line: "waiting for changes" in line)
        assert any("changed: Questionnaire-watch.json" in line for line in changed), changed
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 1  # the verdict of the last run
    assert not any("Traceback" in line for line in list(err.queue) if line)
