"""The routing of a Questionnaire drawn at build time: Graphviz `dot` turns a DOT graph into SVG.

The graph: a box (cluster) per group, an ellipse per question some enableWhen refers to, a filled
box per outcome (coloured by urgency), and an arrow from each question to every item it enables,
labelled with the answer (`ja`, `nee`, the option code). Nodes link to the item on the
Questionnaire page and to the outcome page.

Graphviz is the well-kept tool for this (Debian package `graphviz`); fhirrug calls the `dot`
binary and needs no Python binding. Without it the site still builds: the diagram page says that
Graphviz is missing and how to get it, and the routes stay readable in words on the
Questionnaire and outcome pages. Same graph and same Graphviz version: same bytes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from .views import ItemView, QuestionnaireView, SiteContent, outcome_page

URGENCY_COLOURS = {  # fill colours with dark text (contrast above 7:1)
    "direct-arts": "#f6c1c1",
    "huisarts": "#fbe0b0",
    "arts-aangewezen": "#fff3b0",
    "zelfzorg": "#d3efd3",
}
DOT_TIMEOUT = 60  # seconds; a graph of a few hundred nodes takes well under one


@dataclass
class Diagram:
    svg: str | None  # the SVG element to inline, or None
    note: str  # why there is no diagram
    tool: str  # what drew it
    dot: str  # the DOT source (written beside the SVG for the curious)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _short(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def dot_source(q: QuestionnaireView, content: SiteContent) -> str:
    """The DOT graph of one Questionnaire's routing."""
    logic = q.logic
    urgency = {(o.ref.system, o.ref.code): o.urgency_code for o in content.outcomes}
    drawn: set[str] = set()
    for link_id, item in logic.items.items():
        if item.gating or item.outcome or (item.conditions and item.type not in ("display", "group")):
            drawn.add(link_id)
    lines = [
        f"digraph {_quote(str(q.resource.get('id')))} {{",
        '  graph [rankdir=TB, compound=true, fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=0.35];',
        '  node [fontname="Helvetica", fontsize=10, margin="0.08,0.04"];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    first_node: dict[str, str] = {}  # group linkId -> a node drawn inside it (head of edges into the group)
    cluster_of: dict[str, str] = {}  # group linkId -> its cluster
    inside_of: dict[str, set[str]] = {}  # node -> the clusters around it
    counter = [0]

    def node_id(link_id: str) -> str:
        return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", link_id)

    def emit(items: list[ItemView], indent: str) -> list[str]:
        inside: list[str] = []
        for view in items:
            item = logic.items.get(view.link_id)
            if item is None:
                continue
            if view.type == "group" and not item.outcome and view.children:
                counter[0] += 1
                cluster = f"cluster_{counter[0]}"  # taken before the nested groups number theirs
                body = emit(view.children, indent + "  ")
                if not body:
                    if not item.conditions:
                        continue
                    body = [f"{indent}  {node_id(view.link_id)} [shape=box, style=dashed, label={_quote(view.label)}, URL={_quote(q.page + '#' + view.anchor)}];"]
                    inside.append(node_id(view.link_id))
                first_node[view.link_id] = _first(body)
                cluster_of[view.link_id] = cluster
                for line in body:
                    match = re.match(r"\s*(n_\w+) \[", line)
                    if match:
                        inside_of.setdefault(match.group(1), set()).add(cluster)
                label = view.label + (": " + _short(view.text.first, 40) if view.text and view.label != view.link_id else "")
                lines_out = [f"{indent}subgraph {cluster} {{", f"{indent}  label={_quote(label)}; style=rounded; color=\"#6b7a8f\"; URL={_quote(q.page + '#' + view.anchor)};"]
                lines_out += body
                lines_out.append(f"{indent}}}")
                inside += lines_out
                continue
            if view.link_id not in drawn:
                inside += emit(view.children, indent)
                continue
            href = q.page + "#" + view.anchor
            if item.outcome:
                ref = content.outcome_ref(item.outcome)
                colour = URGENCY_COLOURS.get(urgency.get((ref.system, ref.code), ""), "#e4e8ee")
                label = f"{view.label}\n{_short(ref.display.first, 40)}"
                url = ref.page or href
                inside.append(f"{indent}{node_id(view.link_id)} [shape=box, style=\"filled,rounded\", fillcolor={_quote(colour)}, label={_quote(label)}, URL={_quote(url)}];")
            else:
                label = f"{view.label}\n{_short(view.text.first)}" if view.text else view.label
                inside.append(f"{indent}{node_id(view.link_id)} [shape=ellipse, label={_quote(label)}, URL={_quote(href)}];")
            inside += emit(view.children, indent)
        return inside

    lines += emit(q.items, "  ")
    for link_id, item in logic.items.items():
        if link_id in drawn:
            head, lhead = node_id(link_id), None
        elif link_id in first_node:
            head, lhead = first_node[link_id], link_id
        else:
            continue
        several = len(item.conditions) > 1
        for condition in item.conditions:
            if condition.question not in drawn:
                continue
            label = _edge_label(condition, q, several and item.behavior == "all")
            attrs = [f"label={_quote(label)}"]
            tail = node_id(condition.question)
            if lhead is not None and cluster_of[lhead] not in inside_of.get(tail, ()):
                attrs.append(f"lhead={cluster_of[lhead]}")  # the arrow ends at the group's box (not from inside it)
            if several and item.behavior == "all":
                attrs.append("style=dashed")
            lines.append(f"  {tail} -> {head} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _first(body: list[str]) -> str:
    for line in body:
        match = re.match(r"\s*(n_\w+) \[", line)
        if match:
            return match.group(1)
    return ""


def _edge_label(condition, q: QuestionnaireView, conjunct: bool) -> str:
    value = condition.answer
    if condition.operator == "exists":
        text = "answered" if value is True else "unanswered"
    elif isinstance(value, bool):
        text = "ja" if value else "nee"
    elif isinstance(value, dict):
        text = str(value.get("code") or value.get("value") or "")
    else:
        text = str(value)
    if condition.operator not in ("=", "exists"):
        text = f"{condition.operator} {text}"
    return ("and " if conjunct else "") + text


class DiagramJob:
    """`dot -Tsvg` started at once and collected later, so the build goes on meanwhile."""

    def __init__(self, source: str, dot: str | None = None):
        self.source = source
        self.dot = dot if dot is not None else shutil.which("dot")
        self._process = None
        if self.dot:
            try:
                self._process = subprocess.Popen([self.dot, "-Tsvg"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            except OSError:
                self._process = None

    def result(self) -> Diagram:
        if self._process is None:
            return Diagram(None, "Graphviz (the dot program) is not installed, so this build has no diagram. Install it (Debian: apt-get install graphviz) and build again; the routes are in words on the questionnaire and outcome pages.", "nobody", self.source)
        try:
            out, err = self._process.communicate(self.source.encode("utf-8"), timeout=DOT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            return Diagram(None, f"Graphviz took longer than {DOT_TIMEOUT} s and was stopped; no diagram in this build.", "nobody", self.source)
        if self._process.returncode != 0:
            message = err.decode("utf-8", "replace").strip().splitlines()
            return Diagram(None, f"Graphviz failed ({message[0] if message else 'exit ' + str(self._process.returncode)}); no diagram in this build.", "nobody", self.source)
        return Diagram(inline_svg(out.decode("utf-8")), "", "Graphviz " + _version(err, out), self.source)


def _version(err: bytes, out: bytes) -> str:
    match = re.search(rb"Generated by graphviz version ([^ ]+)", out)
    return "dot " + match.group(1).decode() if match else "dot"


def inline_svg(svg: str) -> str:
    """The <svg> element alone (no XML declaration, doctype or comments), ready to inline in HTML."""
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    return svg.replace('<svg ', '<svg role="group" aria-label="routing diagram" ', 1).strip()


__all__ = ["Diagram", "DiagramJob", "dot_source", "inline_svg", "outcome_page"]
