"""A FHIR-looking HTTP server on 127.0.0.1 that misbehaves on purpose, for the publish tests:
it redirects, drips, drops, floods, echoes credentials and answers with odd entries.

Every behaviour is bounded in bytes and time (a drip sends a fixed number of bytes, a flood a
fixed total), the server runs in daemon threads and is stopped by the fixture. It records what
it received (method, path, headers) and how many bytes each reply got out before the client hung
up, so tests assert on behaviour, never on timing.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

CAPABILITY = {"resourceType": "CapabilityStatement", "status": "active", "date": "2026-11-25", "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"]}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """What one reply managed to send: bytes written, and whether the client hung up first."""

    sent: int = 0
    hung_up: bool = False


class Exchange:
    """One request and the means to answer it byte by byte."""

    def __init__(self, sock: socket.socket, request: Received, reply: Reply):
        self.sock, self.request, self.reply = sock, request, reply

    def write(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
        except OSError:
            self.reply.hung_up = True
            return False
        self.reply.sent += len(data)
        return True

    def head(self, status: str, headers: dict[str, str] | None = None, length: int | None = None) -> bytes:
        lines = [f"HTTP/1.1 {status}", "Connection: close", "Content-Type: application/fhir+json"]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


Behaviour = Callable[[Exchange], None]


def answer(status: str, body, headers: dict[str, str] | None = None) -> Behaviour:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    def run(x: Exchange) -> None:
        x.write(x.head(status, headers, len(data)) + data)

    return run


def capability() -> Behaviour:
    return answer("200 OK", CAPABILITY)


def redirect(location: str, status: str = "307 Temporary Redirect") -> Behaviour:
    return answer(status, b"", {"Location": location})


def drip(body, interval: float = 0.1, in_headers: bool = False) -> Behaviour:
    """The reply one byte at a time: the whole reply (headers too) or only the body."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    def run(x: Exchange) -> None:
        head = x.head("200 OK", length=len(data))
        if not in_headers and not x.write(head):
            return
        for byte in (head + data if in_headers else data):
            if not x.write(bytes([byte])):
                return
            time.sleep(interval)

    return run


def drop(declared: int, sent: bytes) -> Behaviour:
    """Promise `declared` bytes, send `sent`, close the connection."""

    def run(x: Exchange) -> None:
        x.write(x.head("200 OK", length=declared) + sent)

    return run


def hang_up() -> Behaviour:
    """Read the request, close without a word."""
    return lambda x: None


def flood(total: int, declared: int | None = None) -> Behaviour:
    """A body of `total` bytes (a JSON string that never ends), with or without Content-Length."""

    def run(x: Exchange) -> None:
        if not x.write(x.head("200 OK", length=declared) + b'{"resourceType": "CapabilityStatement", "x": "'):
            return
        chunk = b"a" * 65536
        while x.reply.sent < total:
            if not x.write(chunk):
                return

    return run


def echo_authorization(status: str = "401 Unauthorized") -> Behaviour:
    """An OperationOutcome that quotes the Authorization header back (as careless servers do)."""

    def run(x: Exchange) -> None:
        told = x.request.headers.get("authorization", "")
        answer(status, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "login", "diagnostics": f"token refused: {told}"}]})(x)

    return run


class HostileServer:
    def __init__(self, routes: dict[tuple[str, str], Behaviour]):
        self.routes = routes
        self.received: list[Received] = []
        self.replies: dict[tuple[str, str], Reply] = {}
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(10)
                try:
                    request = _read_request(self.request)
                except OSError:
                    return
                if request is None:
                    return
                server.received.append(request)
                key = (request.method, request.path.partition("?")[0].rstrip("/"))
                reply = server.replies.setdefault(key, Reply())
                behaviour = server.routes.get(key, answer("404 Not Found", {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}))
                behaviour(Exchange(self.request, request, reply))

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.base = f"{self.origin}/fhir"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "HostileServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reply(self, method: str, path: str) -> Reply:
        return self.replies.get((method, path), Reply())


def _read_request(sock: socket.socket) -> Received | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
        if not data[:1].isalpha():  # not HTTP (a TLS ClientHello): answer in plain HTTP, as such servers do
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            return None
        if len(data) > 1_000_000:
            return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        chunk = sock.recv(min(65536, length - len(body)))
        if not chunk:
            break
        body += chunk
    return Received(method, path, headers, body)
