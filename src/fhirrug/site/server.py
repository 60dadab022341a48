"""`fhirrug site --serve`: the site and its fill pages on 127.0.0.1.

The stack is the standard library's WSGI server (`wsgiref`, one thread per request) and a WSGI
application of a few routes: no dependency to install or keep up to date, maintained with
CPython itself, and enough for a content owner's browser on the same machine. The app is a plain
WSGI callable, so the tests call it directly and it could run under any WSGI server.

Safe for its one job: it listens on 127.0.0.1 only, answers GET and HEAD only, refuses a Host
header that is not this machine (DNS rebinding) and sends a Content-Security-Policy that allows
no scripts at all (the pages need none; the engine decides on the server).

Routes:
    /, /<page>                  the static site, from memory (the same bytes `fhirrug site` writes)
    /fill/<id>?a:<linkId>=...   the fill page of Questionnaire <id> for the answers given
    /fill/<id>/response.json?…  the QuestionnaireResponse of those answers, as a download
"""

from __future__ import annotations

import socketserver
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import quote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .. import __version__
from .build import Site
from .fill import SUPPORTED, fill, parse_state, response_json
from .render import render

HOST = "127.0.0.1"
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".dot": "text/plain; charset=utf-8", ".json": "application/fhir+json; charset=utf-8"}
CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
INPUT_TYPES = {"integer": "number", "decimal": "number", "date": "date", "dateTime": "datetime-local", "time": "time", "url": "url"}


class SiteApp:
    """The WSGI application: `app(environ, start_response)`."""

    def __init__(self, site: Site):
        self.site = site
        self.content = site.content
        self.questionnaires = {str(q.resource.get("id")): q for q in site.content.questionnaires}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return self._send(start_response, "405 Method Not Allowed", b"only GET and HEAD\n", "text/plain; charset=utf-8", method, [("Allow", "GET, HEAD")])
        if not _local_host(environ.get("HTTP_HOST", "")):
            return self._send(start_response, "421 Misdirected Request", b"this server answers to 127.0.0.1 and localhost only\n", "text/plain; charset=utf-8", method)
        path = environ.get("PATH_INFO", "/") or "/"
        query = environ.get("QUERY_STRING", "")
        if path.startswith("/fill/"):
            return self._fill(path[len("/fill/"):], query, start_response, method)
        name = "index.html" if path == "/" else path.lstrip("/")
        data = self.site.files.get(name)
        if data is None:
            return self._send(start_response, "404 Not Found", self._not_found(), TYPES[".html"], method)
        return self._send(start_response, "200 OK", data, TYPES.get(Path(name).suffix, "application/octet-stream"), method)

    def _fill(self, rest: str, query: str, start_response: Callable, method: str) -> Iterable[bytes]:
        qid, _, tail = rest.partition("/")
        q = self.questionnaires.get(qid)
        if q is None or tail not in ("", "response.json"):
            return self._send(start_response, "404 Not Found", self._not_found(), TYPES[".html"], method)
        state = fill(self.content, q, query)
        base = f"/fill/{quote(qid)}"
        if tail == "response.json":
            headers = [("Content-Disposition", f'attachment; filename="QuestionnaireResponse-{qid}.json"')]
            return self._send(start_response, "200 OK", response_json(state).encode("utf-8"), TYPES[".json"], method, headers)
        _, changed = parse_state(query)
        if changed:  # an answer was given: show the page of the new state at its own address
            location = f"{base}?{state.query}#next" if state.query else f"{base}#next"
            return self._send(start_response, "303 See Other", b"", "text/plain; charset=utf-8", method, [("Location", location)])
        page = render(
            "pages/fill.html", content=self.content, languages=self.content.languages, manifest=self.site.manifest,
            version=__version__, root="../", has_changes="changes.html" in self.site.files, page_title=f"Fill in {qid}",
            questionnaire=q, state=state, action=base, start=base, supported=SUPPORTED, input_types=INPUT_TYPES,
            download=f"{base}/response.json" + (f"?{state.query}" if state.query else ""), response_json=response_json(state),
        )
        return self._send(start_response, "200 OK", page.encode("utf-8"), TYPES[".html"], method)

    def _not_found(self) -> bytes:
        return b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Not found</title></head><body><main><h1>Not found</h1><p><a href="/">The review site</a></p></main></body></html>\n'

    @staticmethod
    def _send(start_response: Callable, status: str, body: bytes, content_type: str, method: str, extra: list | None = None) -> Iterable[bytes]:
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Content-Security-Policy", CSP),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
        ] + (extra or [])
        start_response(status, headers)
        return [b""] if method == "HEAD" else [body]


def _local_host(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return name in ("127.0.0.1", "localhost", "")


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's signature
        pass  # the person at the terminal wants the URL, not a line per request


def make(site: Site, port: int) -> ThreadingServer:
    """A server bound to 127.0.0.1:`port` (0: any free port), not yet serving."""
    return make_server(HOST, port, SiteApp(site), server_class=ThreadingServer, handler_class=QuietHandler)


def serve(site: Site, root, port: int, announce: Callable[[str], None] = print) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM)."""
    import signal

    server = make(site, port)
    host, bound = server.server_address[:2]
    announce(f"http://{host}:{bound}/")

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
