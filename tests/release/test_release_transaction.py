"""All-or-nothing: a bump killed at any moment leaves every file entirely old or entirely new, and
after recovery the whole tree is entirely the old release or entirely the new one."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fhirrug.release import transaction
from fhirrug.release.bump import apply_bump, plan_bump
from release_tree import code_system, snapshot, write_tree

DATE = "2026-12-01"


class Crash(Exception):
    pass


def _content(snap: dict[str, bytes]) -> dict[str, bytes]:
    """The tree as a reader sees it: without the transaction's own journal and temp files."""
    return {
        name: data
        for name, data in snap.items()
        if transaction.JOURNAL_NAME not in name
        and not name.endswith((transaction.NEW_SUFFIX, transaction.OLD_SUFFIX))
    }


def _bigger_tree(root: Path, extra: int = 0) -> Path:
    more = {}
    for i in range(extra):
        cs = code_system()
        cs["id"] = f"extra-{i:02d}"
        cs["url"] = f"https://fhir.fhirrug.nl/CodeSystem/extra-{i:02d}"
        more[f"valuesets/CodeSystem-extra-{i:02d}.json"] = cs
    return write_tree(root, more)


@pytest.fixture
def old_and_new(tmp_path: Path):
    """The tree before and after a complete bump, and the number of steps a bump takes."""
    root = _bigger_tree(tmp_path / "reference")
    old = snapshot(root)
    steps = []
    apply_bump(plan_bump(root, "minor", date=DATE, validator=None), hook=steps.append)
    new = snapshot(root)
    assert old != new
    return old, new, steps


def test_a_complete_bump_leaves_no_journal_or_temp_files(old_and_new):
    _, new, _ = old_and_new
    assert _content(new) == new


def test_failure_after_every_step_leaves_old_or_new_files_and_recovers_to_one_release(tmp_path: Path, old_and_new):
    old, new, steps = old_and_new
    assert len(steps) > 10  # temp + backup per file, journal, replace per file, journal removed
    outcomes = set()
    for failing_step in range(len(steps)):
        root = _bigger_tree(tmp_path / f"run-{failing_step}")
        seen = []

        def hook(name: str) -> None:
            seen.append(name)
            if len(seen) == failing_step + 1:
                raise Crash(name)

        with pytest.raises(Crash):
            apply_bump(plan_bump(root, "minor", date=DATE, validator=None), hook=hook)
        during = _content(snapshot(root))
        assert during.keys() == old.keys()
        for name, data in during.items():
            assert data in (old[name], new[name]), f"step {failing_step} ({seen[-1]}): {name} is neither old nor new"
        outcome = transaction.recover(root)
        outcomes.add(outcome)
        after = snapshot(root)
        assert after in (old, new), f"step {failing_step} ({seen[-1]}): tree is a mix after recovery ({outcome})"
        # a crash after the journal (the commit point) always rolls forward
        committed = "journal" in seen
        assert after == (new if committed else old), f"step {failing_step} ({seen[-1]})"
        shutil.rmtree(root)
    assert {"rolled-forward", "cleaned"} <= outcomes


def test_recovery_rolls_back_when_a_new_file_is_lost(tmp_path: Path, old_and_new):
    old, _, steps = old_and_new
    root = _bigger_tree(tmp_path / "lost")
    journal_at = steps.index("journal")

    def hook(name: str) -> None:
        if name == steps[journal_at + 1]:  # crashed after the first replace
            raise Crash(name)

    with pytest.raises(Crash):
        apply_bump(plan_bump(root, "minor", date=DATE, validator=None), hook=hook)
    lost = next(root.rglob(f"*{transaction.NEW_SUFFIX}"))
    lost.unlink()  # someone cleaned up by hand
    assert transaction.recover(root) == "rolled-back"
    assert snapshot(root) == old


def test_bump_recovers_a_leftover_journal_before_it_starts(tmp_path: Path, old_and_new):
    _, new, steps = old_and_new
    root = _bigger_tree(tmp_path / "leftover")

    def hook(name: str) -> None:
        if name == "journal":
            raise Crash(name)

    with pytest.raises(Crash):
        apply_bump(plan_bump(root, "minor", date=DATE, validator=None), hook=hook)
    assert (root / transaction.JOURNAL_NAME).exists()
    # the next write of any kind (here: a Transaction commit with nothing to change) recovers first
    transaction.Transaction(root).commit()
    assert snapshot(root) == new


def test_unreadable_journal_is_reported_not_guessed(tree: Path):
    (tree / transaction.JOURNAL_NAME).write_text("{not json", encoding="utf-8")
    with pytest.raises(transaction.TransactionError):
        transaction.recover(tree)


_DRIVER = textwrap.dedent(
    """
    import sys, time
    from fhirrug.release.bump import apply_bump, plan_bump
    root = sys.argv[1]
    plan = plan_bump(root, "minor", date="2026-12-01", validator=None)
    print("ready", flush=True)
    apply_bump(plan, hook=lambda name: time.sleep(0.001))
    print("done", flush=True)
    """
)


@pytest.mark.slow
def test_sigkill_at_random_moments(tmp_path: Path):
    reference = _bigger_tree(tmp_path / "reference", extra=30)
    old = snapshot(reference)
    plan = plan_bump(reference, "minor", date=DATE, validator=None)
    started = time.monotonic()
    apply_bump(plan, hook=lambda name: time.sleep(0.001))  # the driver's pace, to aim the kills
    commit_seconds = time.monotonic() - started
    new = snapshot(reference)
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER, encoding="utf-8")
    rng = random.Random(20261125)
    killed_midway = 0
    for run in range(12):
        root = _bigger_tree(tmp_path / f"kill-{run}", extra=30)
        process = subprocess.Popen([sys.executable, str(driver), str(root)], stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0, commit_seconds * 1.2))
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.wait(timeout=30)
            process.stdout.close()
        raw = snapshot(root)
        during = _content(raw)
        for name, data in during.items():
            assert data in (old[name], new[name]), f"run {run}: {name} is neither old nor new"
        if raw != during:  # journal or temp files left: the kill interrupted a commit
            killed_midway += 1
        transaction.recover(root)
        assert snapshot(root) in (old, new), f"run {run}: tree is a mix after recovery"
        shutil.rmtree(root)
    # The kills must actually land inside commits for this test to mean anything.
    print(f"killed inside a commit: {killed_midway} of 12")
    assert killed_midway >= 1


def test_a_journal_cut_short_while_being_written_is_cleaned(tree: Path):
    before = snapshot(tree)
    (tree / f".{transaction.JOURNAL_NAME}.abc123.tmp").write_text('{"version": 1, "fi', encoding="utf-8")
    (tree / "valuesets" / f".CodeSystem-antwoord.json{transaction.NEW_SUFFIX}").write_text("{}", encoding="utf-8")
    assert transaction.recover(tree) == "cleaned"
    assert snapshot(tree) == before


def test_roll_back_removes_a_file_the_transaction_created(tmp_path: Path):
    root = tmp_path / "t"
    root.mkdir()
    (root / "b.json").write_text("old b\n", encoding="utf-8")

    def hook(name: str) -> None:
        if name == "replace a.md":
            raise Crash(name)

    txn = transaction.Transaction(root, hook=hook)
    txn.write(root / "a.md", "new a\n")  # does not exist yet; replaced first (sorted order)
    txn.write(root / "b.json", "new b\n")
    with pytest.raises(Crash):
        txn.commit()
    assert (root / "a.md").read_text() == "new a\n" and (root / ".b.json.fhirrug-new").exists()
    (root / ".b.json.fhirrug-new").unlink()  # a new file lost: only rolling back is possible
    assert transaction.recover(root) == "rolled-back"
    assert sorted(p.name for p in root.iterdir()) == ["b.json"]
    assert (root / "b.json").read_text() == "old b\n"


# --- file modes, tampered journals, failed recoveries, leftovers (issue 17) --------------------


@pytest.mark.parametrize("mode", [0o664, 0o600, 0o755])
def test_a_bump_keeps_file_modes(tree: Path, mode: int):
    target = tree / "valuesets/CodeSystem-antwoord.json"
    os.chmod(target, mode)
    apply_bump(plan_bump(tree, "minor", date=DATE, validator=None))
    assert b'"version": "0.2.0"' in target.read_bytes()
    assert target.stat().st_mode & 0o7777 == mode


def test_a_file_the_bump_creates_gets_the_usual_mode(tmp_path: Path):
    root = tmp_path / "t"
    root.mkdir()
    old = os.umask(0o022)
    try:
        txn = transaction.Transaction(root)
        txn.write(root / "new.md", "new\n")
        txn.commit()
    finally:
        os.umask(old)
    assert (root / "new.md").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("target", ["../outside.txt", "/etc/hostname-of-nobody", "valuesets/../../outside.txt"])
def test_a_journal_pointing_outside_the_tree_is_refused_and_touches_nothing(tmp_path: Path, target: str):
    root = _bigger_tree(tmp_path / "tree")
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours\n", encoding="utf-8")
    journal = {"version": 1, "files": [{"target": target, "old": None, "new": "0" * 64}]}
    (root / transaction.JOURNAL_NAME).write_text(json.dumps(journal), encoding="utf-8")
    with pytest.raises(transaction.TransactionError, match="outside"):
        transaction.recover(root)
    assert outside.read_text() == "not yours\n"


def test_a_recovery_that_fails_on_the_file_system_is_a_transaction_error(tree: Path):
    (tree / "valuesets/CodeSystem-antwoord.json").unlink()
    (tree / "valuesets/CodeSystem-antwoord.json").mkdir()  # the target is now a folder
    journal = {"version": 1, "files": [{"target": "valuesets/CodeSystem-antwoord.json", "old": "1" * 64, "new": "2" * 64}]}
    (tree / transaction.JOURNAL_NAME).write_text(json.dumps(journal), encoding="utf-8")
    with pytest.raises(transaction.TransactionError):
        transaction.recover(tree)


def test_bump_reports_a_failed_recovery_without_a_traceback(tree: Path):
    from click.testing import CliRunner

    from fhirrug import exitcodes
    from fhirrug.cli import main

    (tree / "questionnaires").rename(tree / "questionnaires-moved")
    (tree / "questionnaires").write_text("a file where a folder was\n", encoding="utf-8")
    journal = {"version": 1, "files": [{"target": "questionnaires/Questionnaire-zelftest.json", "old": "1" * 64, "new": "2" * 64}]}
    (tree / transaction.JOURNAL_NAME).write_text(json.dumps(journal), encoding="utf-8")
    result = CliRunner().invoke(main, ["bump", "minor", "--root", str(tree)])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Questionnaire-zelftest.json" in result.output


_BASELINE_DRIVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from fhirrug.release import tarsafe, trees
    real = tarsafe.read_archive
    def slow(*args, **kwargs):
        print("reading", flush=True)  # the revision is being read: kill now
        time.sleep(60)
        return real(*args, **kwargs)
    tarsafe.read_archive = slow
    trees.release_baseline(Path(sys.argv[1]), None, "0.1.0")
    """
)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_run_killed_while_reading_the_previous_release_leaves_no_temporary_files(tmp_path: Path):
    root = _bigger_tree(tmp_path / "repo", extra=5)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "0.1.0"], check=True)
    subprocess.run([*git, "tag", "v0.1.0"], check=True)
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    driver = tmp_path / "driver.py"
    driver.write_text(_BASELINE_DRIVER, encoding="utf-8")
    process = subprocess.Popen([sys.executable, str(driver), str(root)], stdout=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(scratch)})
    try:
        assert process.stdout.readline().strip() == "reading"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        process.stdout.close()
    assert list(scratch.iterdir()) == [], "a killed run left temporary files"
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".") and p.name != ".git") == []
