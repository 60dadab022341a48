"""The import graph of src/fhirrug: no circle, and every import points down the layers.

Layers, lowest first (a module may import its own layer and the ones below):

    parse    issues, exitcodes, jsonio, positions, xmlio, resources, manifest, package, config,
             vendor, translate, tekstbron, scoring, and release/tarsafe.py (the safe reader of NPM archives:
             it turns bytes into resources, beside the export that writes them)
    model    model/
    logic    rules/, engine/
    apps     validate/, reporters/, release/, site/, spark/
    cli      cli/

Every import counts, also those inside functions (lazy imports that keep `fhirrug --help`
cheap): a lazy import still makes two modules depend on each other, and a circle through one is
still a circle (the first wave had three). Two kinds of import are not edges, on purpose:

- imports under `if TYPE_CHECKING:` never run; they name types for annotations only (the
  engine's walkers annotate with the plan's classes, and the plan imports the walkers);
- imports of the package root `fhirrug` (`from .. import __version__`): the root holds the
  version string and re-exports the library's entry points lazily (PEP 562 `__getattr__`); it
  sits above every layer as the public face, so its own lazy imports are not edges either;
- likewise, what a package's `__init__` imports inside its module `__getattr__` (the lazy
  facade `fhirrug.spark` is: its submodules import the exception classes the `__init__`
  defines, and the facade hands out the submodules' functions on first use).

An import of a package (`from .. import engine`) is an edge to its `__init__`; importing a
submodule does not add an edge to its parent package (Python runs the parent first, but a
package importing its own submodules is no circle).
"""

from __future__ import annotations

import ast
from pathlib import Path

from fhirrug.model.graph import components

SRC = Path(__file__).resolve().parents[1] / "src" / "fhirrug"

LAYERS = (
    ("parse", {"issues", "exitcodes", "jsontypes", "jsonio", "positions", "xmlio", "resources", "manifest", "package", "config", "vendor", "translate", "tekstbron", "scoring", "_content", "release.tarsafe"}),
    ("model", {"model"}),
    ("logic", {"rules", "engine"}),
    ("apps", {"validate", "reporters", "release", "site", "spark"}),
    ("cli", {"cli"}),
)


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, package)
    return found


def _skipped_lines(tree: ast.AST, is_package: bool) -> set[int]:
    """Lines under `if TYPE_CHECKING:`, and (in a package's __init__) in a module `__getattr__`."""
    blocks = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, (ast.Name, ast.Attribute)):
            name = node.test.id if isinstance(node.test, ast.Name) else node.test.attr
            if name == "TYPE_CHECKING":
                blocks += node.body
    if is_package:
        blocks += [node for node in getattr(tree, "body", ()) if isinstance(node, ast.FunctionDef) and node.name == "__getattr__"]
    lines: set[int] = set()
    for block in blocks:
        for sub in ast.walk(block):
            if hasattr(sub, "lineno"):
                lines.add(sub.lineno)
    return lines


def import_graph() -> dict[str, set[str]]:
    """module -> the fhirrug modules it imports (module level or inside functions)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        if name == "fhirrug":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _skipped_lines(tree, is_package)
        package = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    if node.level > 1:
                        base = base[: -(node.level - 1)]
                    origin = ".".join(base) + (f".{node.module}" if node.module else "")
                else:
                    origin = node.module or ""
                targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin for alias in node.names]
            for target in targets:
                if target in modules and target not in ("fhirrug", name):
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module."""
    return [sorted(c) for c in components(sorted(graph), lambda module: sorted(graph[module])) if len(c) > 1]


def _layer(module: str) -> int:
    parts = module.split(".")
    for rank, (_, members) in enumerate(LAYERS):
        if ".".join(parts[1:3]) in members:  # a module placed on its own (release.tarsafe)
            return rank
    for rank, (_, members) in enumerate(LAYERS):
        if parts[1] in members:
            return rank
    raise AssertionError(f"{module}: not in any layer of tests/test_import_graph.py (add it to LAYERS)")


def test_the_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    """The check above can fail: a made-up circle, also one through a lazy import, is found."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph = import_graph()
    graph["fhirrug.model.types"].add("fhirrug.engine.plan")
    assert any("fhirrug.model.types" in c and "fhirrug.engine.plan" in c for c in cycles(graph))


def test_lazy_imports_are_edges():
    graph = import_graph()
    # rules/responses.py imports the engine inside its check function.
    assert "fhirrug.engine" in graph["fhirrug.rules.responses"]


def test_imports_point_down_the_layers():
    upward = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
        for module, targets in import_graph().items()
        if module != "fhirrug"
        for target in targets
        if _layer(target) > _layer(module)
    ]
    assert upward == []
