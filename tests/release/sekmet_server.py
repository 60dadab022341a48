"""Start sekmet-fhir 0.1.1 (a FastAPI + SQLite FHIR R4 server) for the publish tests.

Usage: python sekmet_server.py SETTINGS.yaml [--plain]

sekmet 0.1.1 indexes only the search parameters of its hospital workflows; it has none for the
canonical resources (Questionnaire, CodeSystem, ValueSet, ConceptMap, StructureDefinition), so it
rejects `PUT Questionnaire?url=...&version=...` with "Unknown search parameter 'url'". Every
general FHIR R4 server (HAPI, Firely, the HL7 reference servers) supports the standard R4 search
parameters `url` (uri) and `version` (token) on these types, and a conditional update on them is
what the release Bundle relies on. This launcher therefore registers exactly those standard
parameters (plus `name`, `title`, `status`) before the app starts, and changes nothing else:
storage, transactions, validation and conditional update are sekmet's own.

With --plain the server runs unmodified (to test how `fhirrug publish` handles a server that
cannot do conditional updates on url and version).
"""

from __future__ import annotations

import sys


def add_canonical_search_parameters() -> None:
    from sekmet.fhir import search_params
    from sekmet.fhir.search_params import SearchParam

    for rtype in ("Questionnaire", "CodeSystem", "ValueSet", "ConceptMap", "StructureDefinition"):
        params = search_params.PARAMS.setdefault(rtype, {})
        params["url"] = SearchParam("url", "uri", ("url",))
        params["version"] = SearchParam("version", "token", ("version",))
        params["name"] = SearchParam("name", "string", ("name",))
        params["title"] = SearchParam("title", "string", ("title",))
        params["status"] = SearchParam("status", "token", ("status",))


def main() -> None:
    import uvicorn

    from sekmet.config import load_settings
    from sekmet.main import create_app

    settings = load_settings(sys.argv[1])
    if "--plain" not in sys.argv[2:]:
        add_canonical_search_parameters()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
