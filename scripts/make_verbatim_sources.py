"""Write the source passages the rule fhirrug-verbatim checks against (sources/<tekstbron code>.toml).

Developer tool, not part of the installed package. Run from the repository root after a change
to a quoted text:

    .venv/bin/python scripts/make_verbatim_sources.py [--check]

For every text of the content package that is attributed to a document (tekstbron code with
`letterlijk` true, see fhirrug.rules.verbatim), each line is looked up in that document's seed
(../shared/seeds/, normalised as the content map does: whitespace collapsed, line-end
hyphenation rejoined):

- `exact`: found as a whole run of words (the case of the first letter may differ);
- `hyphenation`: found once hyphens and spaces are ignored (the seed breaks a word at a line end
  where the content map kept, or dropped, a hyphen; or a PDF artefact such as `bewe - zen`);
- `stitched`: found as two to four consecutive pieces from different places (passages the content
  map stitches back together, e.g. answer 22).

A line found nowhere is an error: quote it verbatim or mark it `fhirrug` / `<document>-bewerkt`.
The file then holds exactly the quoted lines (a line contained in another is left out), with the
seed lines they come from, so the package ships nothing of a source beyond what it quotes.
`--check` exits 1 when a file is out of date or a line is not in its seed; 2 without ../shared.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _generated import sync  # noqa: E402
from fhirrug.manifest import load_manifest  # noqa: E402
from fhirrug.package import load_package  # noqa: E402
from fhirrug.rules.verbatim import claims, lines, occurs, sources_folder, verbatim_codes  # noqa: E402

SEEDS = ROOT / ".." / "shared" / "seeds"
# tekstbron code -> the seed file's number (CodeSystem tekstbron names each document's seed in its definition)
SEED_OF = {"ischias-faq-blog": "000", "st-antonius-rughernia": "001", "spreekuur-thuis": "002", "nvvn-rugklachten": "003", "solid-performance-blog": "004"}
STITCH_MIN = 40  # characters (spaces and hyphens not counted) of each stitched piece
NORMALISATION = "whitespace collapsed to one space; a word broken at a line end with '-' (lower-case letters on both sides) or '/' rejoined"
COPYRIGHT = (
    "The passages below are quoted from {title}; the text remains the property of its authors and publisher. "
    "fhirrug ships only the passages this package itself quotes, so that fhirrug validate can check the quotations without the source."
)


@dataclass
class Passage:
    text: str
    lines: str
    match: str
    first: int


class Seed:
    """A seed's text normalised like the content map, with the line of every character."""

    def __init__(self, raw: str):
        tokens: list[list] = []  # [text, first line, last line]
        for number, line in enumerate(raw.split("\n"), start=1):
            words = line.split()
            for k, word in enumerate(words):
                tokens.append([word, number, number, k == len(words) - 1])
        joined: list[list] = []
        for token in tokens:
            if joined:
                last = joined[-1]
                broken = last[3] and last[2] < token[1]
                if broken and len(last[0]) > 1 and last[0].endswith("-") and last[0][-2].islower() and token[0][:1].islower():
                    last[0], last[2], last[3] = last[0][:-1] + token[0], token[2], token[3]
                    continue
                if broken and last[0].endswith("/"):
                    last[0], last[2], last[3] = last[0] + token[0], token[2], token[3]
                    continue
            joined.append(list(token))
        text, where = [], []
        for word, first, last, _ in joined:
            if text:
                text.append(" ")
                where.append(first)
            text.append(word)
            where.extend([first] * (len(word) - 1) + [last])
        self.text = "".join(text)
        self.line_at = where
        squeezed = [(c, where[i]) for i, c in enumerate(self.text) if not c.isspace() and c != "-"]
        self.squeezed = "".join(c for c, _ in squeezed)
        self.squeezed_line = [n for _, n in squeezed]

    def find(self, line: str) -> tuple[str, list[tuple[int, int]]] | None:
        """(match kind, [(first line, last line), ...]) of `line`, or None."""
        for candidate in (line, line[0].swapcase() + line[1:]):
            start = self.text.find(candidate)
            while start != -1:
                if occurs(candidate, self.text[max(0, start - 1): start + len(candidate) + 1]):
                    return "exact", [(self.line_at[start], self.line_at[start + len(candidate) - 1])]
                start = self.text.find(candidate, start + 1)
        squeezed = "".join(c for c in line if not c.isspace() and c != "-")
        start = self.squeezed.find(squeezed)
        if start != -1:
            return "hyphenation", [(self.squeezed_line[start], self.squeezed_line[start + len(squeezed) - 1])]
        pieces, rest = [], squeezed
        while rest and len(pieces) < 4:
            size = self._longest_prefix(rest)
            if size < STITCH_MIN:  # every piece a real passage, not a word found anywhere
                return None
            start = self.squeezed.find(rest[:size])
            pieces.append((self.squeezed_line[start], self.squeezed_line[start + size - 1]))
            rest = rest[size:]
        return ("stitched", pieces) if not rest and len(pieces) > 1 else None

    def _longest_prefix(self, text: str) -> int:
        low, high = 0, len(text)  # prefix presence is monotonic in its length
        while low < high:
            middle = (low + high + 1) // 2
            if text[:middle] in self.squeezed:
                low = middle
            else:
                high = middle - 1
        return low


def collect(root: Path) -> tuple[dict[str, dict[str, tuple[str, str]]], dict[str, str]]:
    """code -> {line: (file, expression)} of every line the package attributes to a document, and code -> display."""
    package = load_package(root)
    kinds = verbatim_codes(package)
    titles = {}
    for resource in package.resources:
        if resource.resource_type == "CodeSystem" and resource.url == "https://fhir.fhirrug.nl/CodeSystem/tekstbron":
            titles = {c["code"]: c["display"] for c in resource.data.get("concept", [])}
    wanted: dict[str, dict[str, tuple[str, str]]] = {}
    for resource in package.resources:
        for claim in claims(resource.data):
            if claim.code and kinds.get((claim.system, claim.code)):
                for line in lines(claim.text):
                    wanted.setdefault(claim.code, {}).setdefault(line, (str(resource.path.relative_to(root)), claim.expression))
    return wanted, titles


def toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def render(code: str, title: str, seed_path: Path, passages: list[Passage]) -> str:
    out = [
        "# Passages quoted verbatim by this package, for the rule fhirrug-verbatim (see src/fhirrug/rules/verbatim.py).",
        "# Written by scripts/make_verbatim_sources.py from the content and the seed; do not edit by hand.",
        f"code = {toml_string(code)}",
        f"title = {toml_string(title)}",
        f"copyright = {toml_string(COPYRIGHT.format(title=title))}",
        f"seed = {toml_string(seed_path.name)}",
        f"seed_sha256 = {toml_string(hashlib.sha256(seed_path.read_bytes()).hexdigest())}",
        f"normalisation = {toml_string(NORMALISATION)}",
        "",
    ]
    for passage in passages:
        out += ["[[passage]]", f"lines = {toml_string(passage.lines)}", f"match = {toml_string(passage.match)}", f"text = {toml_string(passage.text)}", ""]
    return "\n".join(out)


def build(root: Path) -> tuple[dict[Path, str], list[str]]:
    wanted, titles = collect(root)
    folder = sources_folder(load_manifest(root))
    if folder is None:
        return {}, ["fhirrug.toml declares no [content] sources folder"]
    files: dict[Path, str] = {}
    problems: list[str] = []
    for code, found_lines in sorted(wanted.items()):
        number = SEED_OF.get(code)
        seed_paths = sorted(SEEDS.glob(f"{number}_*.txt")) if number else []
        if not seed_paths:
            problems.append(f"{code}: no seed file for this source")
            continue
        seed = Seed(seed_paths[0].read_text(encoding="utf-8"))
        passages = []
        for line, (file, expression) in found_lines.items():
            located = seed.find(line)
            if located is None:
                problems.append(f"{file} {expression}: not in {seed_paths[0].name}: {line[:90]!r}")
                continue
            kind, ranges = located
            label = " + ".join(f"L{a}" if a == b else f"L{a}-L{b}" for a, b in ranges)
            passages.append(Passage(line, label, kind, ranges[0][0]))
        # a line that occurs inside another quoted line of the same source adds nothing
        kept = [p for p in passages if not any(q is not p and len(q.text) > len(p.text) and occurs(p.text, q.text) for q in passages)]
        kept.sort(key=lambda p: (p.first, p.text))
        files[folder / f"{code}.toml"] = render(code, titles.get(code, code), seed_paths[0], kept)
    return files, problems


def main(argv: list[str]) -> int:
    check = "--check" in argv
    if not SEEDS.is_dir():
        print(f"{SEEDS} is absent: the seeds are needed to write or check the source passages", file=sys.stderr)
        return 2
    files, problems = build(ROOT)
    for problem in problems:
        print("error:", problem, file=sys.stderr)
    folder = sources_folder(load_manifest(ROOT))
    extra = sorted(set(folder.glob("*.toml")) - set(files)) if folder and folder.is_dir() else []
    if problems and not check:
        return 1
    fresh, changed = sync(files, check, extra)
    if check:
        return 1 if problems or not fresh else 0
    print(f"{len(files)} source files, {sum(t.count('[[passage]]') for t in files.values())} passages; {len(changed)} changed")
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
