"""`fhirrug publish`: post the release's transaction Bundle to a FHIR R4 server and check it landed.

1. GET [base]/metadata: the server answers and speaks FHIR 4.0.x;
2. POST [base] with the transaction Bundle (conditional updates on url and version, see export);
3. one report line per entry: the status the server gave it (201 created, 200 updated);
4. read every resource back (GET [base]/<Type>?url=<url>&version=<version>): exactly one match
   whose content equals what was sent (ignoring id, meta and a narrative the server generated).

Anything else (an entry not 2xx, a resource missing, two matches, a difference) is a finding and
`fhirrug publish` exits 1.

What happens to the credentials (`--token`, sent as `Authorization: Bearer`):
- they go to the origin of `--server` only. Redirects are never followed (urllib's default
  handler copies `Authorization` to wherever a 307 points); a redirect is reported with its
  target so the user can pass the final address as `--server`. Absolute URLs in requests must
  have the server's origin;
- over plain `http` they are refused for any host that is not loopback, unless `insecure=True`
  (`--insecure`), which the command line announces loudly;
- a token that is not a valid bearer token (RFC 6750: no spaces or control characters) is
  refused without being echoed, and every text that leaves this module (errors, the report)
  has the token replaced by `***`, also where a server echoes it back.

Each request as a whole (connect, send, status line, headers, body) ends within `timeout`
seconds: a watchdog shuts the socket down at the deadline, so a server dripping a byte a second
cannot hold it. A response body is at most `max_bytes` (Content-Length is checked before the
body is read, the bytes actually read are counted as they come).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

FHIR_JSON = "application/fhir+json"
IGNORED = {"id", "meta"}
MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # a transaction-response of this package is about 1.3 MB
_CHUNK = 64 * 1024
_BEARER = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")  # RFC 6750 b64token


class PublishError(Exception):
    """The server cannot be used at all (unreachable, not FHIR R4, authentication refused)."""


class TransactionRefused(PublishError):
    """The server refused the content (400, 409, 412, 422): nothing was stored (a transaction
    is all-or-nothing). A finding about the release, not a usage error."""


class InsecureTransport(PublishError):
    """The token would go over plain http to a host that is not loopback."""


@dataclass
class EntryReport:
    resource: str  # Type url|version
    status: str  # the server's entry status, e.g. "201 Created"
    location: str = ""
    readback: str = ""  # "same", or what differs
    ok: bool = True

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class PublishReport:
    server: str
    entries: list[EntryReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(e.ok for e in self.entries)

    @property
    def created(self) -> int:
        return sum(1 for e in self.entries if e.status.startswith("201"))

    def to_dict(self) -> dict:
        return {"server": self.server, "ok": self.ok, "created": self.created, "entries": [e.to_dict() for e in self.entries]}


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: traffic that never leaves this machine."""
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_server(server: str, token: str | None, insecure: bool = False) -> str:
    """Refuse a --server URL fhirrug will not send the release (or the token) to; returns a
    warning to show when the token goes over plain http with `insecure`, else ""."""
    try:
        parts = urlsplit(server)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise PublishError(f"--server {server!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublishError(f"--server {server!r}: not an http(s) URL such as https://fhir.example.org/fhir")
    if parts.username is not None or parts.password is not None:
        raise PublishError("--server: credentials in the URL are refused (they would be shown and logged); use --token or FHIRRUG_TOKEN")
    if parts.query or parts.fragment:
        raise PublishError(f"--server {server!r}: the FHIR base URL has no query or fragment")
    if token and not _BEARER.match(token):
        raise PublishError("--token: not a bearer token (RFC 6750 allows letters, digits and -._~+/ with trailing =; no spaces or line breaks)")
    if token and parts.scheme == "http" and not is_loopback(parts.hostname):
        if not insecure:
            raise InsecureTransport(
                f"refusing to send the token over plain http to {parts.hostname}: anyone on the network can read it; "
                "use https, or --insecure if you accept that risk"
            )
        return f"the token goes over plain http to {parts.hostname}: anyone on the network between here and there can read it and use it"
    return ""


class _Watchdog:
    """Ends a request at its deadline, wherever it is blocked (connect, TLS, headers, body)."""

    def __init__(self, seconds: float):
        self.expired = False
        self.sent = False  # some of the request reached the socket
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "_Watchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _watched(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
    class Watched(base):
        def __init__(self, *args, watchdog: _Watchdog, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = self._connect_watched
            self._watchdog = watchdog

        def _connect_watched(self, *args, **kwargs):
            sock = socket.create_connection(*args, **kwargs)
            self._watchdog.watch(sock)  # the raw socket: shutting it down also ends a TLS session
            return sock

        def send(self, data):
            self._watchdog.sent = True
            return super().send(data)

    return Watched


_WatchedHTTP = _watched(http.client.HTTPConnection)
_WatchedHTTPS = _watched(http.client.HTTPSConnection)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog):
        super().__init__()
        self.watchdog = watchdog

    def http_open(self, req):
        return self.do_open(_WatchedHTTP, req, watchdog=self.watchdog)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog):
        super().__init__()
        self.watchdog = watchdog

    def https_open(self, req):
        return self.do_open(_WatchedHTTPS, req, context=self._context, watchdog=self.watchdog)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: urllib's own handler would copy Authorization to the target."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status


class Client:
    def __init__(self, base: str, token: str | None = None, timeout: float = 60.0, *, max_bytes: int = MAX_RESPONSE_BYTES, insecure: bool = False):
        check_server(base, token, insecure)
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.max_bytes = max_bytes
        parts = urlsplit(self.base)
        self._origin = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        # Proxies from the environment as urllib honours them, but never for this machine itself.
        self._proxies = {} if is_loopback(parts.hostname or "") else None

    def redact(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text

    def _url(self, path: str) -> str:
        if not path.startswith(("http://", "https://")):
            return f"{self.base}/{path.lstrip('/')}" if path else self.base
        parts = urlsplit(path)
        if (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)) != self._origin:
            raise PublishError(f"{path}: not on the server {self.base}; fhirrug sends nothing (and no token) to another origin")
        return path

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, parsed JSON body or text). Raises PublishError for anything but an answer."""
        url = self._url(path)
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Accept": FHIR_JSON}
        if data is not None:
            headers["Content-Type"] = f"{FHIR_JSON}; charset=utf-8"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        where = f"{method} {url}"
        response = None
        with _Watchdog(self.timeout) as watchdog:
            opener = urllib.request.build_opener(
                urllib.request.ProxyHandler(self._proxies), _HTTPHandler(watchdog), _HTTPSHandler(watchdog), _NoRedirects()
            )
            try:
                try:
                    response = opener.open(req, timeout=self.timeout)
                except urllib.error.HTTPError as exc:  # 4xx and 5xx are answers too
                    response = exc
                status = response.code
                if 300 <= status < 400:
                    target = response.headers.get("Location", "(no Location)")
                    raise PublishError(
                        f"{where}: the server answered {status}, a redirect to {target}; fhirrug publish never follows redirects, "
                        "so the token is never sent elsewhere (use the final address as --server)"
                    )
                raw = self._read(response, where)
                if watchdog.expired:  # a body without a length simply ends when the socket is shut
                    raise OSError("deadline")
            except PublishError as exc:
                raise PublishError(self.redact(str(exc))) from None
            except (OSError, http.client.HTTPException, ValueError) as exc:
                raise PublishError(self.redact(self._failure(where, method, exc, watchdog))) from None
            finally:
                if response is not None:
                    response.close()
        if not raw:
            return status, None
        try:
            return status, json.loads(raw)
        except (ValueError, RecursionError):
            return status, self.redact(raw.decode("utf-8", "replace"))

    def _failure(self, where: str, method: str, exc: BaseException, watchdog: "_Watchdog") -> str:
        if watchdog.expired:
            return f"{where}: no complete answer within {self.timeout:g} s (--timeout); the server is too slow or stalled"
        reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        text = f"{where}: {type(exc).__name__}: {reason}"
        if method == "POST" and watchdog.sent:
            text += "; the transaction was sent and the server may have stored it: publishing again is safe (conditional updates)"
        return text

    def _read(self, response, where: str) -> bytes:
        """The body, at most `max_bytes` of it."""
        length = response.headers.get("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_bytes:
            raise PublishError(f"{where}: the answer is {int(length)} bytes, over the limit of {self.max_bytes} bytes; not read")
        chunks, size = [], 0
        while chunk := response.read(_CHUNK):
            size += len(chunk)
            if size > self.max_bytes:
                raise PublishError(f"{where}: the answer is larger than the limit of {self.max_bytes} bytes; reading stopped")
            chunks.append(chunk)
        if length is not None and length.strip().isdigit() and size < int(length):  # read(n) does not say so itself
            raise http.client.IncompleteRead(b"", int(length) - size)
        return b"".join(chunks)


def _outcome_text(body: Any) -> str:
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome" and isinstance(body.get("issue"), list):
        texts = []
        for issue in body["issue"]:
            if isinstance(issue, dict):
                details = issue.get("details") if isinstance(issue.get("details"), dict) else {}
                texts.append(str(issue.get("diagnostics") or details.get("text") or issue.get("code", "")))
        return "; ".join(texts)[:300]
    return str(body)[:300]


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def differences(sent: Any, stored: Any, path: str = "") -> list[str]:
    """Where `stored` differs from `sent`: FHIRPath-like locations."""
    if isinstance(sent, dict) and isinstance(stored, dict):
        out = []
        for key in sorted(sent.keys() | stored.keys()):
            if not path and key in IGNORED:
                continue
            if not path and key == "text" and key not in sent:  # a narrative the server generated
                continue
            where = f"{path}.{key}" if path else key
            if key not in stored:
                out.append(f"{where} missing")
            elif key not in sent:
                out.append(f"{where} added by the server")
            else:
                out += differences(sent[key], stored[key], where)
        return out
    if isinstance(sent, list) and isinstance(stored, list):
        if len(sent) != len(stored):
            return [f"{path}: {len(sent)} values sent, {len(stored)} stored"]
        out = []
        for i, (a, b) in enumerate(zip(sent, stored)):
            out += differences(a, b, f"{path}[{i}]")
        return out
    return [] if sent == stored else [f"{path}: sent {json.dumps(sent, ensure_ascii=False)[:60]}, stored {json.dumps(stored, ensure_ascii=False)[:60]}"]


def bundle_problems(bundle: Any) -> list[str]:
    """What makes `bundle` no transaction fhirrug can publish and read back."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
        return ["not a transaction Bundle"]
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        return ["the Bundle has no entries"]
    problems = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            problems.append(f"Bundle.entry[{index}] has no resource")
        elif not isinstance(resource.get("url"), str) or not isinstance(resource.get("version"), str):
            problems.append(f"Bundle.entry[{index}]: a {resource['resourceType']} without url and version cannot be read back")
    return problems


def publish(bundle: dict, server: str, token: str | None = None, timeout: float = 60.0, *, insecure: bool = False, max_bytes: int = MAX_RESPONSE_BYTES) -> PublishReport:
    """Publish `bundle` (see the module docstring). Every message and report text has the token
    replaced by `***`, also where the server echoes it."""
    client = Client(server, token, timeout, max_bytes=max_bytes, insecure=insecure)
    try:
        report = _publish(client, bundle, server)
    except PublishError as exc:
        raise type(exc)(client.redact(str(exc))) from None
    for entry in report.entries:
        entry.status, entry.location, entry.readback = (client.redact(x) for x in (entry.status, entry.location, entry.readback))
    return report


def _publish(client: Client, bundle: dict, server: str) -> PublishReport:
    problems = bundle_problems(bundle)
    if problems:
        raise PublishError("the Bundle cannot be published: " + "; ".join(problems[:5]))
    status, metadata = client.request("GET", "metadata")
    if status != 200 or not isinstance(metadata, dict) or metadata.get("resourceType") != "CapabilityStatement":
        raise PublishError(f"{server}/metadata answered {status}: not a FHIR server ({_outcome_text(metadata)})")
    fhir_version = str(metadata.get("fhirVersion", ""))
    if not fhir_version.startswith("4.0"):
        raise PublishError(f"{server} speaks FHIR {fhir_version or '(unknown)'}; this release is FHIR R4 (4.0.1)")
    problems = check_capabilities(metadata, sorted({e["resource"]["resourceType"] for e in bundle["entry"]}))
    if problems:
        raise PublishError(f"{server} cannot import this release: " + "; ".join(problems))
    status, response = client.request("POST", "", bundle)
    if status in (400, 409, 412, 422):
        raise TransactionRefused(f"the server refused the transaction ({status}), nothing was stored: {_outcome_text(response)}")
    if status >= 300 or not isinstance(response, dict) or response.get("type") != "transaction-response":
        raise PublishError(f"the server did not process the transaction ({status}): {_outcome_text(response)}")
    report = PublishReport(server)
    results = response.get("entry")
    if not isinstance(results, list) or len(results) != len(bundle["entry"]):
        count = len(results) if isinstance(results, list) else 0
        raise PublishError(
            f"the server answered {count} entries for {len(bundle['entry'])} sent; the transaction may be stored: "
            "publishing again is safe (conditional updates)"
        )
    for index, (sent, result) in enumerate(zip(bundle["entry"], results)):
        resource = sent["resource"]
        rtype, url, version = resource["resourceType"], resource["url"], resource["version"]
        answer = result.get("response") if isinstance(result, dict) else None
        if not isinstance(answer, dict):
            entry = EntryReport(f"{rtype} {url}|{version}", "(no status)", ok=False)
            readback, same = read_back(client, resource)
            entry.readback = f"the server's answer has no Bundle.entry[{index}].response (read back: {readback})"
        else:
            entry = EntryReport(f"{rtype} {url}|{version}", str(answer.get("status", ""))[:100], str(answer.get("location", ""))[:300])
            if not entry.status[:1] == "2":
                entry.ok = False
                entry.readback = f"not stored: {_outcome_text(answer.get('outcome'))}"
            else:
                entry.readback, entry.ok = read_back(client, resource)
        report.entries.append(entry)
    return report


def check_capabilities(metadata: dict, types: list[str]) -> list[str]:
    """What the server's CapabilityStatement says it cannot do of what the import needs:
    the resource type, conditional update, and search by url and version."""
    rest = next((r for r in _dicts(metadata.get("rest")) if r.get("mode") == "server"), None)
    if rest is None or not isinstance(rest.get("resource"), list):
        return []  # says nothing: let the transaction tell
    declared = {r.get("type"): r for r in _dicts(rest.get("resource")) if isinstance(r.get("type"), str)}
    problems = []
    for rtype in types:
        resource = declared.get(rtype)
        if resource is None:
            problems.append(f"it does not support {rtype} (not in its CapabilityStatement)")
            continue
        if resource.get("conditionalUpdate") is False:
            problems.append(f"it does not support conditional update of {rtype}")
        names = {p.get("name") for p in _dicts(resource.get("searchParam"))}
        missing = [n for n in ("url", "version") if names and n not in names]
        if missing:
            problems.append(f"it cannot search {rtype} by {' and '.join(missing)}, which a conditional update on url and version needs")
    return problems


def read_back(client: Client, resource: dict) -> tuple[str, bool]:
    rtype, url, version = resource["resourceType"], resource.get("url", ""), resource.get("version", "")
    status, found = client.request("GET", f"{rtype}?url={quote(url, safe='')}&version={quote(version, safe='')}")
    if status != 200 or not isinstance(found, dict):
        return f"search answered {status}: {_outcome_text(found)}", False
    matches = [e.get("resource") for e in _dicts(found.get("entry")) if (e.get("search") if isinstance(e.get("search"), dict) else {}).get("mode", "match") == "match"]
    # A server that silently ignores an unknown search parameter returns everything: check ourselves.
    matches = [m for m in matches if isinstance(m, dict) and m.get("url") == url and m.get("version") == version]
    if len(matches) != 1:
        return f"{len(matches)} resources found for url and version (expected 1)", False
    diffs = differences(resource, matches[0])
    return ("same" if not diffs else "differs: " + "; ".join(diffs[:5])), not diffs
