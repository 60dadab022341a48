"""A real FHIR R4 server (sekmet-fhir) on 127.0.0.1 and a free port, for the publish tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

TOKEN = "fhirrug-test-token"  # the servers accept only this bearer token (publish --token)
_LAUNCHER = Path(__file__).resolve().parent / "sekmet_server.py"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FhirServer:
    def __init__(self, base: str, process: subprocess.Popen, log: Path):
        self.base, self.process, self.log = base, process, log


def start_server(folder: Path, *extra: str):
    pytest.importorskip("sekmet", reason="sekmet-fhir (test extra) is not installed")
    port = free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    settings = folder / "settings.yaml"
    settings.write_text(
        f"host: 127.0.0.1\nport: {port}\nbase_url: {base}\ndata_dir: {folder / 'data'}\n"
        "simulator:\n  enabled: false\nlog_inbound: false\n"
        f"server_auth:\n  types: [bearer]\n  tokens: [{TOKEN}]\n",
        encoding="utf-8",
    )
    log = folder / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEKMET_")}
    handle = open(log, "wb")
    process = subprocess.Popen([sys.executable, str(_LAUNCHER), str(settings), *extra], cwd=folder, stdout=handle, stderr=subprocess.STDOUT, env=env)
    handle.close()
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/metadata", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"the FHIR server did not come up on {base}; its log:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
    return FhirServer(base, process, log)


def stop_server(server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
