"""`fhirrug publish`: post the release's transaction Bundle to a FHIR R4 server and check it landed.

1. GET [base]/metadata: the server answers and speaks FHIR 4.0.x;
2. POST [base] with the transaction Bundle (conditional updates on url and version, see export);
3. one report line per entry: the status the server gave it (201 created, 200 updated);
4. read every resource back (GET [base]/<Type>?url=<url>&version=<version>): exactly one match
   whose content equals what was sent (ignoring id, meta and a narrative the server generated).

Anything else (an entry not 2xx, a resource missing, two matches, a difference) is a finding and
`fhirrug publish` exits 1. HTTP is the standard library's urllib; `--token` is sent as
`Authorization: Bearer`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

FHIR_JSON = "application/fhir+json"
IGNORED = {"id", "meta"}


class PublishError(Exception):
    """The server cannot be used at all (unreachable, not FHIR R4, authentication refused)."""


class TransactionRefused(PublishError):
    """The server refused the content (400, 409, 412, 422): nothing was stored (a transaction
    is all-or-nothing). A finding about the release, not a usage error."""


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


class Client:
    def __init__(self, base: str, token: str | None = None, timeout: float = 60.0):
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Accept": FHIR_JSON}
        if data is not None:
            headers["Content-Type"] = f"{FHIR_JSON}; charset=utf-8"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = path if path.startswith(("http://", "https://")) else f"{self.base}/{path.lstrip('/')}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise PublishError(f"{method} {url}: {getattr(exc, 'reason', exc)}") from None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", "replace")


def _outcome_text(body: Any) -> str:
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        return "; ".join(i.get("diagnostics") or (i.get("details") or {}).get("text") or i.get("code", "") for i in body.get("issue", []))
    return str(body)[:300]


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


def publish(bundle: dict, server: str, token: str | None = None, timeout: float = 60.0) -> PublishReport:
    client = Client(server, token, timeout)
    status, metadata = client.request("GET", "metadata")
    if status != 200 or not isinstance(metadata, dict) or metadata.get("resourceType") != "CapabilityStatement":
        raise PublishError(f"{server}/metadata answered {status}: not a FHIR server ({_outcome_text(metadata)})")
    fhir_version = str(metadata.get("fhirVersion", ""))
    if not fhir_version.startswith("4.0"):
        raise PublishError(f"{server} speaks FHIR {fhir_version or '(unknown)'}; this release is FHIR R4 (4.0.1)")
    problems = check_capabilities(metadata, sorted({e["resource"]["resourceType"] for e in bundle.get("entry", [])}))
    if problems:
        raise PublishError(f"{server} cannot import this release: " + "; ".join(problems))
    status, response = client.request("POST", "", bundle)
    if status in (400, 409, 412, 422):
        raise TransactionRefused(f"the server refused the transaction ({status}), nothing was stored: {_outcome_text(response)}")
    if status >= 300 or not isinstance(response, dict) or response.get("type") != "transaction-response":
        raise PublishError(f"the server did not process the transaction ({status}): {_outcome_text(response)}")
    report = PublishReport(server)
    results = response.get("entry", [])
    if len(results) != len(bundle.get("entry", [])):
        raise PublishError(f"the server answered {len(results)} entries for {len(bundle.get('entry', []))} sent")
    for sent, result in zip(bundle["entry"], results):
        resource = sent["resource"]
        rtype, url, version = resource["resourceType"], resource.get("url", ""), resource.get("version", "")
        answer = result.get("response", {})
        entry = EntryReport(f"{rtype} {url}|{version}", str(answer.get("status", "")), str(answer.get("location", "")))
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
    rest = next((r for r in metadata.get("rest", []) if r.get("mode") == "server"), None)
    if rest is None:
        return []  # says nothing: let the transaction tell
    declared = {r.get("type"): r for r in rest.get("resource", []) if isinstance(r, dict)}
    problems = []
    for rtype in types:
        resource = declared.get(rtype)
        if resource is None:
            problems.append(f"it does not support {rtype} (not in its CapabilityStatement)")
            continue
        if resource.get("conditionalUpdate") is False:
            problems.append(f"it does not support conditional update of {rtype}")
        names = {p.get("name") for p in resource.get("searchParam", []) or []}
        missing = [n for n in ("url", "version") if names and n not in names]
        if missing:
            problems.append(f"it cannot search {rtype} by {' and '.join(missing)}, which a conditional update on url and version needs")
    return problems


def read_back(client: Client, resource: dict) -> tuple[str, bool]:
    rtype, url, version = resource["resourceType"], resource.get("url", ""), resource.get("version", "")
    status, found = client.request("GET", f"{rtype}?url={quote(url, safe='')}&version={quote(version, safe='')}")
    if status != 200 or not isinstance(found, dict):
        return f"search answered {status}: {_outcome_text(found)}", False
    matches = [e.get("resource") for e in found.get("entry", []) if (e.get("search") or {}).get("mode", "match") == "match"]
    # A server that silently ignores an unknown search parameter returns everything: check ourselves.
    matches = [m for m in matches if isinstance(m, dict) and m.get("url") == url and m.get("version") == version]
    if len(matches) != 1:
        return f"{len(matches)} resources found for url and version (expected 1)", False
    diffs = differences(resource, matches[0])
    return ("same" if not diffs else "differs: " + "; ".join(diffs[:5])), not diffs
