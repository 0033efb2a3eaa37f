"""The package layout stays as docs/ARCHITECTURE.md draws it (static checks, nothing imported).

* no import cycle among radseg's modules (every import counts: module level, inside
  functions, relative ones resolved);
* no import points up: every module has a layer in the table of docs/ARCHITECTURE.md
  (section "Layer table", parsed from the doc by scripts/structure_metrics.py), and no
  module imports one of a higher layer, except the known upward imports the doc lists;
* the core (radseg/core/, radseg/models/, config.py, predictor.py, preprocess.py) never
  imports mmseg, mmengine or mmcv;
* no module above MAX_LINES lines unless its docstring says why in a line starting "Size:".
"""
import ast
import importlib.util
import sys
from pathlib import Path
from typing import Dict, List, Set

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "radseg"
MAX_LINES = 450
CORE = ("radseg.core", "radseg.models", "radseg.config", "radseg.predictor", "radseg.preprocess")
MM = ("mmseg", "mmengine", "mmcv")


def _modules() -> Dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _package(name: str, path: Path) -> List[str]:
    """The package a relative import in module ``name`` starts from."""
    parts = name.split(".")
    return parts if path.name == "__init__.py" else parts[:-1]


def _resolve(dotted: str):
    """The radseg module ``dotted`` names (or the longest module prefix of it: a name in it)."""
    parts = dotted.split(".")
    while parts:
        if ".".join(parts) in MODULES:
            return ".".join(parts)
        parts.pop()
    return None


def imported_names(name: str, path: Path) -> List[str]:
    """Every absolute name module ``name`` imports, relative imports resolved: ``import X`` ->
    ``X``; ``from X import y`` -> ``X.y`` (a submodule ``y``, or a name ``y`` in ``X``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package(name, path)
                base = base[:len(base) - (node.level - 1)]
                full = ".".join(base + ([node.module] if node.module else []))
            else:
                full = node.module or ""
            out += [f"{full}.{a.name}" for a in node.names]
    return out


def import_graph() -> Dict[str, Set[str]]:
    graph = {}
    for name, path in MODULES.items():
        deps = set()
        for imp in imported_names(name, path):
            if imp == "radseg" or imp.startswith("radseg."):
                target = _resolve(imp)
                if target and target != name:
                    deps.add(target)
        graph[name] = deps
    return graph


def find_cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_the_checker_sees_a_cycle_and_function_level_imports():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    # radseg.sweep.cli imports the data package inside a function, relative to radseg.sweep
    graph = import_graph()
    assert "radseg.data.benchmarks" in graph["radseg.sweep.cli"]
    # `from . import versions` inside a function of radseg.models.radio: the submodule, not the package
    assert "radseg.models.versions" in graph["radseg.models.radio"]
    assert "radseg.models" not in graph["radseg.models.radio"]


def test_no_import_cycle():
    cycles = find_cycles(import_graph())
    graph = import_graph()
    detail = [f"{c}: {({m: sorted(graph[m] & set(c)) for m in c})}" for c in cycles]
    assert not cycles, "import cycles among radseg's modules:\n" + "\n".join(detail)


def _is_core(name: str) -> bool:
    return any(name == c or name.startswith(c + ".") for c in CORE)


def test_the_core_never_imports_mm_packages():
    bad = []
    for name, path in MODULES.items():
        if not _is_core(name):
            continue
        for imp in imported_names(name, path):
            if imp.split(".")[0] in MM:
                bad.append(f"{path.relative_to(ROOT)} imports {imp}")
    assert any(_is_core(n) for n in MODULES) and not bad, "\n".join(bad)


def _size_reason(path: Path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return next((ln.strip() for ln in doc.splitlines() if ln.strip().startswith("Size:")), None)


def test_long_modules_say_why():
    long = []
    for path in sorted(PKG.rglob("*.py")):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES and not _size_reason(path):
            long.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert not long, (f"modules above {MAX_LINES} lines without a 'Size:' line in their docstring "
                      f"(split them, or say why they are one piece):\n" + "\n".join(long))


# -- direction: the layer table of docs/ARCHITECTURE.md ---------------------------------------------

def _structure():
    spec = importlib.util.spec_from_file_location("structure_metrics", ROOT / "scripts" / "structure_metrics.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass looks itself up there
    spec.loader.exec_module(mod)
    return mod


STRUCTURE = _structure()


def test_the_layer_checker_reads_the_table_and_sees_an_upward_import_inside_a_function(tmp_path):
    doc = ("## Layer table\n\n| layer | name | modules |\n|---|---|---|\n"
           "| 1 | top | `pkg.cli` |\n| 2 | bottom | `pkg`, `pkg.core` |\n\n"
           "- `pkg.core.b` -> `pkg.cli`: known\n\n## Next\n")
    layers = STRUCTURE.parse_layers(doc)
    assert layers.layer_of("pkg.core.a") == (2, "bottom") and layers.layer_of("pkg.cli") == (1, "top")
    assert layers.layer_of("pkg.other") is None  # the package's own pattern names its __init__ only
    (tmp_path / "a.py").write_text("def f():\n    from ..cli import main\n")
    (tmp_path / "b.py").write_text("from .. import cli\n")
    (tmp_path / "cli.py").write_text("from .core import a\n")
    mods = {"pkg.core.a": tmp_path / "a.py", "pkg.core.b": tmp_path / "b.py", "pkg.cli": tmp_path / "cli.py",
            "pkg.core": tmp_path / "cli.py"}
    up = STRUCTURE.upward_imports(layers, mods)
    assert [(a, b) for a, b, _ in up] == [("pkg.core.a", "pkg.cli")]  # b's is listed as known
    assert len(STRUCTURE.upward_imports(layers, mods, include_known=True)) == 2


def test_every_module_has_a_layer():
    unplaced = STRUCTURE.unplaced_modules()
    assert not unplaced, ("modules that no pattern of docs/ARCHITECTURE.md's layer table places (add them to "
                          "their layer's row):\n" + "\n".join(unplaced))


def test_no_import_points_up():
    up = STRUCTURE.upward_imports()
    layers = STRUCTURE.parse_layers()
    detail = [f"{a} (layer {layers.layer_of(a)[0]}, line {line}) imports {b} (layer {layers.layer_of(b)[0]})"
              for a, b, line in up]
    assert not up, "imports that point up (docs/ARCHITECTURE.md, Layer table):\n" + "\n".join(detail)


def test_the_known_upward_imports_are_still_there():
    """A listed exception that no longer exists is removed from the doc (the list stays true)."""
    real = {(a, b) for a, b, _ in STRUCTURE.upward_imports(include_known=True)}
    stale = sorted(STRUCTURE.parse_layers().exceptions - real)
    assert not stale, f"docs/ARCHITECTURE.md lists upward imports that no longer exist: {stale}"


def test_no_function_above_80_lines_except_argparse_builders():
    """Every module of radseg/, radseg/bench/ included since its plan -> measure -> compare split."""
    long = [f"{m}.{fn}: {n} lines" for m, fn, n, parser in STRUCTURE.long_functions() if not parser]
    assert not long, ("functions above 80 lines (split them into steps):\n" + "\n".join(long))
