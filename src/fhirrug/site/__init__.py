"""The review site for content owners: `fhirrug site` and `fhirrug site --serve`.

- `build.build_site(root)` renders every page in memory (index, Questionnaire pages with the item
  tree, outcome pages, terminology tables, routing diagrams, changes); `build.write_site` writes
  them at once.
- `narrative.with_narratives(resources)` gives resources a generated narrative from the same
  templates (what `fhirrug export` ships).
- `server.serve(...)` serves the site on 127.0.0.1 with a fill page per Questionnaire whose every
  decision comes from `fhirrug.engine`.

The Questionnaire logic is read through `adapter` only.
"""
