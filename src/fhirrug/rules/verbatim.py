"""fhirrug-verbatim: a text the package presents as a source's own words is found in that source.

Where a text comes from is said by the tekstbron extension
(https://fhir.fhirrug.nl/StructureDefinition/tekstbron) with a code of CodeSystem tekstbron:

- on the text's primitive (`_text`, `_display`, `_definition`): the source of that string;
- else on the element holding it (the item, the Coding, the answerOption, the concept);
- else on the resource itself: the main source of its content.

A mark applies to its element's own texts, not to nested items, options or concepts. The texts
looked at are the content a reader sees: Questionnaire `item.text`, `answerOption.valueCoding.display`
and `answerOption.valueString`; CodeSystem `concept.display` and `concept.definition`. A
resource's own metadata (title, description, copyright, ...) is the publisher's and is not
checked; nor are `prefix` (numbering) and the display of a code (checked against its
CodeSystem by fhirrug-code-display).

A code is verbatim when its concept in the package's tekstbron CodeSystem has property
`letterlijk` = true (a document); codes with `letterlijk` false (`fhirrug`, `...-bewerkt`) claim
no source words. Verbatim texts are compared with the passages the package ships: the folder
named by `[content] sources` in fhirrug.toml holds one TOML file per code with `code` and a
list of `[[passage]]` tables whose `text` is the source's text, normalised (whitespace
collapsed, PDF line-end hyphenation rejoined). The rule needs nothing else at run time, so an
installed package checks itself without the source documents.

Each line of a text is compared on its own (paragraphs and `- ` list items; the leading `- ` is
presentation, not text), whitespace collapsed, and must occur in one passage as a whole run of
words (not inside a longer word); only the case of its first letter may differ (a fragment
quoted as an answer option starts with a capital).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..issues import ERROR
from ..jsontypes import as_list, is_text
from ..tekstbron import TEKSTBRON_URL, Mark, mark, text_mark
from .registry import Finding, Rule, rule_decorator

RULES: list[Rule] = []
rule = rule_decorator(RULES)

_SPEC = TEKSTBRON_URL


@dataclass(frozen=True)
class Claim:
    """One text of a resource and the tekstbron code it is attributed to (None: unmarked, no main source)."""

    expression: str
    text: str
    code: str | None
    system: str | None


@dataclass(frozen=True)
class Sources:
    folder: Path
    passages: dict[str, str]  # code -> the passages joined by NUL (a non-word separator)
    problems: tuple[str, ...]  # unreadable files, said once per resource that needs them


# ---------------------------------------------------------------------------------------------
# Which source each text is attributed to
# ---------------------------------------------------------------------------------------------
def _claim(expression: str, holder: dict, key: str, *owners, default: Mark | None) -> Claim | None:
    value = holder.get(key)
    if not isinstance(value, str):
        return None
    found = text_mark(holder, key, *owners) or default
    return Claim(expression, value, found.code if found else None, found.system if found else None)


def claims(resource: dict) -> Iterator[Claim]:
    """Every content text of a Questionnaire or CodeSystem with the source it is attributed to."""
    kind = resource.get("resourceType")
    default = mark(resource)
    if kind == "Questionnaire":
        yield from _items(resource.get("item"), "Questionnaire", default)
    elif kind == "CodeSystem":
        yield from _concepts(resource.get("concept"), "CodeSystem", default)


def _items(items, path: str, default) -> Iterator[Claim]:
    for i, item in enumerate(items if isinstance(items, list) else ()):
        if not isinstance(item, dict):
            continue
        here = f"{path}.item[{i}]"
        found = _claim(f"{here}.text", item, "text", default=default)
        if found:
            yield found
        for j, option in enumerate(item.get("answerOption") if isinstance(item.get("answerOption"), list) else ()):
            if not isinstance(option, dict):
                continue
            where = f"{here}.answerOption[{j}]"
            coding = option.get("valueCoding")
            if isinstance(coding, dict):
                found = _claim(f"{where}.valueCoding.display", coding, "display", option, default=default)
            else:
                found = _claim(f"{where}.valueString", option, "valueString", default=default)
            if found:
                yield found
        yield from _items(item.get("item"), here, default)


def _concepts(concepts, path: str, default) -> Iterator[Claim]:
    for i, concept in enumerate(concepts if isinstance(concepts, list) else ()):
        if not isinstance(concept, dict):
            continue
        here = f"{path}.concept[{i}]"
        for key in ("display", "definition"):
            found = _claim(f"{here}.{key}", concept, key, default=default)
            if found:
                yield found
        yield from _concepts(concept.get("concept"), here, default)


# ---------------------------------------------------------------------------------------------
# Comparing a text with the passages
# ---------------------------------------------------------------------------------------------
def lines(text: str) -> list[str]:
    """A text as the units compared: its lines, a leading `- ` list marker dropped, whitespace collapsed."""
    out = []
    for line in text.split("\n"):
        line = line.strip()
        if line == "-" or line.startswith("- "):
            line = line[2:]
        line = " ".join(line.split())
        if line:
            out.append(line)
    return out


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def occurs(line: str, haystack: str) -> bool:
    """`line` occurs in `haystack` as a whole run of words; the case of its first letter may differ."""
    if not line:
        return True
    variants = {line, line[0].swapcase() + line[1:]}
    for candidate in variants:
        start = haystack.find(candidate)
        while start != -1:
            end = start + len(candidate)
            before = haystack[start - 1] if start else " "
            after = haystack[end] if end < len(haystack) else " "
            # a boundary is needed only where the line itself starts or ends with a word character
            if (not _is_word(candidate[0]) or not _is_word(before)) and (not _is_word(candidate[-1]) or not _is_word(after)):
                return True
            start = haystack.find(candidate, start + 1)
    return False


def missing_lines(text: str, haystack: str) -> list[str]:
    return [line for line in lines(text) if not occurs(line, haystack)]


# ---------------------------------------------------------------------------------------------
# What the package ships
# ---------------------------------------------------------------------------------------------
_CACHE: dict[tuple, Sources] = {}  # keyed by folder and each file's (name, mtime, size): never stale


def sources_folder(manifest) -> Path | None:
    """The folder `[content] sources` of fhirrug.toml, or None when the package declares none."""
    if manifest is None:
        return None
    content = (getattr(manifest, "raw", None) or {}).get("content", {})
    folder = content.get("sources") if isinstance(content, dict) else None
    return Path(manifest.root) / folder if isinstance(folder, str) and folder.strip() else None


def load_sources(folder: Path) -> Sources:
    try:
        files = sorted(p for p in folder.glob("*.toml") if p.is_file())
        key = (str(folder.resolve()), tuple((p.name, os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in files))
    except OSError as exc:
        return Sources(folder, {}, (f"cannot read {folder}: {exc}",))
    if key in _CACHE:
        return _CACHE[key]
    passages: dict[str, list[str]] = {}
    problems = [] if folder.is_dir() else [f"the sources folder {folder} declared in fhirrug.toml does not exist"]
    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        code = data.get("code")
        texts = [p.get("text") for p in data.get("passage", []) if isinstance(p, dict)]
        if not isinstance(code, str) or not all(isinstance(t, str) for t in texts):
            problems.append(f"{path.name}: needs `code` and [[passage]] tables with a `text` string")
            continue
        passages.setdefault(code, []).extend(texts)
    result = Sources(folder, {code: "\0".join(texts) for code, texts in passages.items()}, tuple(problems))
    _CACHE[key] = result
    return result


def verbatim_codes(package) -> dict[tuple[str, str], bool]:
    """(system, code) -> letterlijk, from the package's CodeSystems that declare property `letterlijk`."""
    out: dict[tuple[str, str], bool] = {}
    for resource in getattr(package, "resources", ()) or ():
        data = resource.data
        if data.get("resourceType") != "CodeSystem" or not isinstance(data.get("url"), str):
            continue

        def walk(concepts):
            for concept in concepts if isinstance(concepts, list) else ():
                if not isinstance(concept, dict):
                    continue
                for prop in as_list(concept.get("property")):  # untrusted: a number, an object
                    if isinstance(prop, dict) and prop.get("code") == "letterlijk" and isinstance(prop.get("valueBoolean"), bool) and is_text(concept.get("code")):
                        out[(data["url"], concept["code"])] = prop["valueBoolean"]
                walk(concept.get("concept"))

        walk(data.get("concept"))
    return out


@rule(
    "fhirrug-verbatim",
    ERROR,
    "A text marked as a source's own words (tekstbron) is not found verbatim in that source's passages",
    _SPEC,
    resource_types=("Questionnaire", "CodeSystem"),
)
def verbatim(resource: dict, ctx) -> Iterator[Finding]:
    """Every Questionnaire item text and answer option, and every CodeSystem concept display and
    definition, whose tekstbron source is a document (property `letterlijk` true in CodeSystem
    tekstbron) occurs word for word in the passages the package ships for that document (the
    folder `[content] sources` of fhirrug.toml, one TOML file per tekstbron code). A text that
    is ours or adapted is marked `fhirrug` or `<document>-bewerkt` and is not compared. The
    source of a text is the mark on its primitive (`_text`), else on its element, else on the
    resource (its main source). Each line is compared on its own, whitespace collapsed, as a
    whole run of words; only the case of the first letter may differ. Without a manifest that
    declares `sources` the rule says nothing. The expression points at the text, e.g.
    `Questionnaire.item[3].item[0].text`.
    """
    folder = sources_folder(getattr(ctx, "manifest", None))
    if folder is None:
        return
    kinds = verbatim_codes(getattr(ctx, "package", None))
    sources: Sources | None = None
    reported: set[str] = set()
    for claim in claims(resource):
        if claim.code is None or not kinds.get((claim.system, claim.code)):
            continue
        if sources is None:
            sources = load_sources(folder)
            for problem in sources.problems:
                yield Finding(resource.get("resourceType", "Resource"), problem)
        haystack = sources.passages.get(claim.code)
        if haystack is None:
            if claim.code not in reported:
                reported.add(claim.code)
                yield Finding(claim.expression, f"text marked as the words of {claim.code!r}, but {folder.name}/ ships no passages of {claim.code!r}")
            continue
        missing = missing_lines(claim.text, haystack)
        if missing:
            yield Finding(claim.expression, f"{_short(missing[0])!r} is marked as the words of {claim.code!r} but is not in its passages ({folder.name}/); quote it verbatim or mark it `fhirrug` or `{claim.code}-bewerkt`")


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reset_cache() -> None:
    _CACHE.clear()


__all__ = ["Claim", "Sources", "claims", "lines", "occurs", "missing_lines", "load_sources", "sources_folder", "verbatim_codes", "RULES", "reset_cache"]
