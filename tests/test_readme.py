"""Every example of the README is run: its indented code blocks are read from README.md itself, so
an example that is edited is tested as edited. Shell lines run through bash with this
environment's console script first on PATH, in a throw-away copy of the content package (a git
repository, as a clone is, without tags); the Python block runs with `questionnaire` and `response`
read from the package."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CONTENT = ("fhirrug.toml", "pyproject.toml", "CHANGELOG.md", "definitions", "questionnaires", "valuesets", "examples", "sources", "releases")


def code_blocks(text: str) -> list[list[str]]:
    """The README's indented (4-space) code blocks, as lists of lines without the indent."""
    blocks, current = [], []
    previous_blank = True
    for line in text.splitlines():
        if line.startswith("    ") and (current or previous_blank):
            current.append(line[4:])
        else:
            if current:
                blocks.append(current)
            current = []
        previous_blank = not line.strip()
    if current:
        blocks.append(current)
    return blocks


BLOCKS = code_blocks(README.read_text(encoding="utf-8"))
SHELL = [b for b in BLOCKS if not b[0].startswith(("import ", "from "))]
PYTHON = [b for b in BLOCKS if b[0].startswith(("import ", "from "))]


def _id(block: list[str]) -> str:
    return re.sub(r"\s+", " ", block[0].split("#")[0]).strip()[:60]


@pytest.fixture
def clone(tmp_path) -> Path:
    """The content package in a fresh git repository with one commit and no tag."""
    root = tmp_path / "clone"
    root.mkdir()
    for name in CONTENT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        elif source.is_file():
            shutil.copy(source, root / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "content"]):
        subprocess.run([*git, *args], cwd=root, check=True, capture_output=True)
    return root


def _env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FHIRRUG_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "t"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "t@example.org"
    return {**env, **(extra or {})}


def _shell(line: str) -> str:
    """The command of one README line; the quick start's setup is this environment already."""
    command = line.split("  #")[0].strip()
    setup = re.match(r"python3 -m venv \.venv && \.venv/bin/pip install [^&]+&& (.*)", command)
    if setup:
        command = setup.group(1).replace(".venv/bin/", "")
    return command


def test_the_readme_has_examples():
    assert SHELL and PYTHON, "README.md has no indented code blocks: the parser needs mending"


def _run_line(command: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("block", [pytest.param(b, id=_id(b)) for b in SHELL])
def test_readme_shell_block(block, clone, tmp_path, request):
    env = _env()
    substitutions = {}
    if any("publish" in line for line in block):
        sys.path.insert(0, str(REPO / "tests" / "release"))
        from sekmet_fixture import TOKEN, start_server, stop_server

        (tmp_path / "server").mkdir()
        server = start_server(tmp_path / "server")
        request.addfinalizer(lambda: stop_server(server))
        substitutions = {"--server URL": f"--server {server.base}", "--token T": f"--token {TOKEN}", "FHIRRUG_TOKEN=...": f"FHIRRUG_TOKEN={TOKEN}"}
    if any(re.search(r"fhirrug bump\b", line) for line in block):
        _edit_content(clone)
    for line in block:
        command = _shell(line)
        if command.endswith("python -m pytest"):
            continue  # the test command of the quick start is this very run
        if command.startswith("git commit") and "X.Y.Z" in command:
            version = _version(clone)
            command = command.replace("X.Y.Z", version)
        for placeholder, value in substitutions.items():
            command = command.replace(placeholder, value)
        if "<name>-<version>" in command:
            command = command.replace("<name>-<version>", f"{_name(clone)}-{_version(clone)}")
        if re.search(r"--serve\b(?!r)", command):
            _serve(command, clone, env)
            continue
        result = _run_line(command, clone, env)
        assert "Traceback" not in result.stderr, (command, result.stderr)
        assert result.returncode == 0, f"README example `{command}` exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def _edit_content(clone: Path) -> None:
    """The release example starts where a content owner does: after an edit. Without one, `bump`
    rightly refuses ("nothing to release") once the content equals its last release."""
    path = clone / "questionnaires" / "Questionnaire-ischias-faq.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["description"] += " Herzien."
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _serve(command: str, cwd: Path, env: dict) -> None:
    """A server example (`fhirrug site --serve --port 8000`): started on a free port of
    127.0.0.1 (the machine is shared), asked for its first page, stopped."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = re.sub(r"--port \d+", f"--port {port}", command)
    process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"README example `{command}` did not serve: {process.communicate()[1][-3000:]}")
                time.sleep(0.3)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _manifest(root: Path) -> dict:
    import tomllib

    return tomllib.loads((root / "fhirrug.toml").read_text(encoding="utf-8"))["package"]


def _version(root: Path) -> str:
    return _manifest(root)["version"]


def _name(root: Path) -> str:
    return _manifest(root)["name"]


@pytest.mark.parametrize("block", PYTHON, ids=[_id(b) for b in PYTHON])
def test_readme_python_block(block):
    questionnaire = REPO / "questionnaires" / "Questionnaire-zelfdiagnose-lage-rugklachten.json"
    response = REPO / "examples" / "QuestionnaireResponse-zelfdiagnose-lijst3-3.json"
    code = "\n".join(block)
    # A fresh interpreter: `import fhirrug` must be all the example needs.
    program = (
        "import json, sys\n"
        "questionnaire, response = (json.load(open(p, encoding='utf-8')) for p in sys.argv[1:3])\n"
        f"{code}\n"
        "print(json.dumps({'valid': ev.valid}))\n"
    )
    result = subprocess.run([sys.executable, "-c", program, str(questionnaire), str(response)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"valid": True}


LIBRARY_NAMES = sorted(set(re.findall(r"\bfhirrug\.([A-Za-z_][A-Za-z_0-9]*)", "\n".join("\n".join(b) for b in PYTHON))))


@pytest.mark.parametrize("name", LIBRARY_NAMES)
def test_every_library_name_of_the_readme_works_right_after_import_fhirrug(name):
    """`fhirrug.engine.compile(q)` as the first line after `import fhirrug` (not only after
    `fhirrug.evaluate` happened to import the engine)."""
    result = subprocess.run([sys.executable, "-c", f"import fhirrug; fhirrug.{name}"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
