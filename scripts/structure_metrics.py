"""Measure the package's structure: modules, lines, long functions, imports that point up.

    python scripts/structure_metrics.py            # one summary table (Markdown)
    python scripts/structure_metrics.py --details  # also every long function and upward import

Static (nothing is imported): the import graph counts every import, at module level and
inside functions, relative ones resolved. "Up" is by the layer table of
docs/ARCHITECTURE.md (section "Layer table"): an import from a module of a lower layer
(larger number) to a module of a higher layer (smaller number). A function is "long" above
``MAX_FUNCTION_LINES`` lines; argparse builders (functions that call ``add_argument``/
``add_parser``/``config_flag`` and nothing else of note) are counted apart. tests/test_layout.py
uses the same functions.
"""
from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "radseg"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
MAX_FUNCTION_LINES = 80
_PARSER_CALLS = ("add_argument", "add_parser", "config_flag", "add_argument_group",
                 "add_mutually_exclusive_group", "set_defaults", "add_subparsers")


def modules() -> Dict[str, Path]:
    """``{dotted module name: file}`` for every module of the radseg package."""
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def imported_names(name: str, path: Path) -> List[Tuple[str, int]]:
    """``(absolute imported name, line)`` of every import in module ``name``: ``import X`` -> ``X``;
    ``from X import y`` -> ``X.y`` (a submodule ``y``, or a name ``y`` in ``X``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = name.split(".")
                base = parts if path.name == "__init__.py" else parts[:-1]
                base = base[:len(base) - (node.level - 1)]
                full = ".".join(base + ([node.module] if node.module else []))
            else:
                full = node.module or ""
            out += [(f"{full}.{a.name}", node.lineno) for a in node.names]
    return out


def _resolve(dotted: str, known) -> Optional[str]:
    parts = dotted.split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return None


def import_edges(mods: Optional[Dict[str, Path]] = None) -> List[Tuple[str, str, int]]:
    """``(importer, imported radseg module, line)`` for every import between radseg's modules."""
    mods = modules() if mods is None else mods
    edges = []
    tops = {n.split(".")[0] for n in mods}
    for name, path in mods.items():
        for imp, line in imported_names(name, path):
            if imp.split(".")[0] in tops:
                target = _resolve(imp, mods)
                if target and target != name:
                    edges.append((name, target, line))
    return edges


def import_graph(mods: Optional[Dict[str, Path]] = None) -> Dict[str, Set[str]]:
    mods = modules() if mods is None else mods
    graph: Dict[str, Set[str]] = {n: set() for n in mods}
    for a, b, _ in import_edges(mods):
        graph[a].add(b)
    return graph


# -- the layer table ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Layers:
    """The layer table of docs/ARCHITECTURE.md: ``patterns`` ``[(pattern, layer number, layer name)]``
    (a pattern is a dotted module or package; the longest matching pattern wins) and the known
    upward imports ``exceptions`` ``{(importer, imported)}`` the doc lists."""
    patterns: List[Tuple[str, int, str]]
    exceptions: Set[Tuple[str, str]]

    def layer_of(self, module: str) -> Optional[Tuple[int, str]]:
        best = None
        for pattern, number, name in self.patterns:
            # the top-level package's pattern (`radseg`) names its __init__ only
            if module == pattern or ("." in pattern and module.startswith(pattern + ".")):
                if best is None or len(pattern) > len(best[0]):
                    best = (pattern, number, name)
        return None if best is None else (best[1], best[2])


def parse_layers(text: Optional[str] = None) -> Layers:
    """Read the "Layer table" of docs/ARCHITECTURE.md: rows ``| n | name | `pattern`, ... |`` and the
    "Known upward imports" list (lines ``- `importer` -> `imported`: why``)."""
    text = ARCHITECTURE.read_text(encoding="utf-8") if text is None else text
    section = text.split("## Layer table", 1)[1].split("\n## ", 1)[0]
    patterns = []
    for line in section.splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|\s*([^|]+?)\s*\|([^|]+)\|", line)
        if m:
            for pat in re.findall(r"`([\w.]+)`", m.group(3)):
                patterns.append((pat, int(m.group(1)), m.group(2)))
    exceptions = set(re.findall(r"^- `([\w.]+)` -> `([\w.]+)`", section, flags=re.M))
    return Layers(patterns, exceptions)


def upward_imports(layers: Optional[Layers] = None, mods=None,
                   include_known: bool = False) -> List[Tuple[str, str, int]]:
    """Imports from a lower layer to a higher one (larger layer number to smaller)."""
    layers = parse_layers() if layers is None else layers
    out, seen = [], set()
    for a, b, line in import_edges(mods):
        if (a, b) in seen:
            continue
        seen.add((a, b))
        la, lb = layers.layer_of(a), layers.layer_of(b)
        if la and lb and lb[0] < la[0] and (include_known or (a, b) not in layers.exceptions):
            out.append((a, b, line))
    return out


def unplaced_modules(layers: Optional[Layers] = None, mods=None) -> List[str]:
    layers = parse_layers() if layers is None else layers
    return [m for m in (modules() if mods is None else mods) if layers.layer_of(m) is None]


# -- functions ------------------------------------------------------------------------------------

def _is_parser_builder(fn: ast.AST) -> bool:
    """A function whose calls are mostly argparse's (``add_argument`` and friends)."""
    calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call)]
    names = [c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", "") for c in calls]
    parser_calls = sum(1 for n in names if n in _PARSER_CALLS)
    return parser_calls >= 5 and parser_calls * 3 >= len([n for n in names if n not in ("dict", "str")])


def long_functions(limit: int = MAX_FUNCTION_LINES, mods=None) -> List[Tuple[str, str, int, bool]]:
    """``(module, function, lines, is_parser_builder)`` of every function above ``limit`` lines."""
    out = []
    for name, path in (modules() if mods is None else mods).items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > limit:
                    out.append((name, node.name, n, _is_parser_builder(node)))
    return sorted(out)


def summary() -> Dict[str, int]:
    mods = modules()
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in mods.values())
    longs = long_functions(mods=mods)
    try:
        up = len(upward_imports(mods=mods, include_known=True))
    except (IndexError, FileNotFoundError):  # a doc without the layer table
        up = -1
    return {"modules": len(mods), "lines": lines,
            "functions over 80 lines (argparse builders excluded)": sum(1 for x in longs if not x[3]),
            "argparse builders over 80 lines": sum(1 for x in longs if x[3]),
            "imports that point up (known exceptions included)": up,
            "modules the layer table does not place": len(unplaced_modules(mods=mods)) if up >= 0 else -1}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--details", action="store_true", help="list every long function and upward import")
    args = ap.parse_args(argv)
    print("| metric | value |\n|---|---|")
    for k, v in summary().items():
        print(f"| {k} | {v} |")
    if args.details:
        print("\nlong functions:")
        for mod, fn, n, parser in long_functions():
            print(f"  {mod}.{fn}: {n} lines" + (" (argparse builder)" if parser else ""))
        try:
            print("\nupward imports:")
            for a, b, line in upward_imports(include_known=True):
                print(f"  {a}:{line} -> {b}")
            print("\nmodules the layer table does not place: " + ", ".join(unplaced_modules()))
        except (IndexError, FileNotFoundError):
            print("  (docs/ARCHITECTURE.md has no layer table)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
