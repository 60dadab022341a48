"""Helpers for the site tests: the shipped examples as routes, strict HTML parsing, links."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import html5lib

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


@dataclass(frozen=True)
class Route:
    """A shipped example response and the outcomes recorded beside it (from the book's routes)."""

    name: str
    path: Path
    response: dict
    expected: list[str] | None  # system|code of each outcome, in questionnaire order

    @property
    def questionnaire_id(self) -> str:
        return str(self.response.get("questionnaire", "")).partition("|")[0].rsplit("/", 1)[-1]

    def answers(self) -> dict[str, list[dict]]:
        """linkId -> answers, from the response's item tree (nested items included)."""
        found: dict[str, list[dict]] = {}

        def visit(items):
            for item in items or ():
                if item.get("answer"):
                    found[item["linkId"]] = item["answer"]
                    for answer in item["answer"]:
                        visit(answer.get("item"))
                visit(item.get("item"))

        visit(self.response.get("item"))
        return found


def routes() -> list[Route]:
    out = []
    for table in sorted(EXAMPLES.glob("*.expected.toml")):
        for stem, expected in tomllib.loads(table.read_text(encoding="utf-8")).items():
            path = EXAMPLES / f"{stem}.json"
            out.append(Route(stem, path, json.loads(path.read_text(encoding="utf-8")), expected.get("outcomes")))
    return out


def answer_value(answer: dict) -> str:
    """The value the fill page's buttons and fields carry for one answer (its documented contract:
    true/false, system|code, the text itself)."""
    if "valueBoolean" in answer:
        return "true" if answer["valueBoolean"] else "false"
    if "valueCoding" in answer:
        return f"{answer['valueCoding'].get('system', '')}|{answer['valueCoding']['code']}"
    (key, value), = [(k, v) for k, v in answer.items() if k.startswith("value")]
    return str(value)


def parse_strict(data: bytes, name: str = "page"):
    """Parse with html5lib in strict mode: any HTML parse error (the WHATWG algorithm) raises."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        return parser.parse(data.decode("utf-8"))
    except html5lib.html5parser.ParseError as exc:
        raise AssertionError(f"{name}: {exc} (errors: {parser.errors[:3]})") from None


def local_links(tree) -> list[str]:
    """Every href/src of a parsed page that points into the site (no scheme, no host)."""
    out = []
    for element in tree.iter():
        for key in ("href", "src", XLINK_HREF):
            value = element.get(key)
            if value is None:
                continue
            parts = urlsplit(value)
            if parts.scheme or parts.netloc:
                continue
            out.append(value)
    return out


def ids(tree) -> set[str]:
    return {e.get("id") for e in tree.iter() if e.get("id")}


def split_link(page: str, link: str) -> tuple[str, str]:
    """(target file, fragment) of a relative link on `page`."""
    parts = urlsplit(link)
    target = unquote(parts.path) if parts.path else page
    return target, unquote(parts.fragment)


def text_of(element) -> str:
    return " ".join("".join(element.itertext()).split())


def squash(text: str) -> str:
    """Text without any whitespace: compares a source text with the same text split into paragraphs."""
    return "".join(text.split())
