"""The layers flow one way (README, ../shared/design/LAYERS.md): an import graph over procure/ read with
ast, every import counted wherever it stands (module level or inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "procure"

# Each module's layer: a module may import only modules of a lower layer, or of its own layer when
# the pair is not a circle. Lower numbers know nothing of higher ones.
LAYERS = {
    0: ["errors", "fmt", "paths", "files", "items", "version", "program"],
    1: ["data"],
    2: ["workbook", "sheet_xml"],
    3: ["validate", "scenario", "scenario_sheets", "starter"],
    4: ["instance", "risks"],  # risks: parsed at 3, but its masks are arrays over the instance
    5: ["stochastic", "variables", "families", "formulation", "extensive"],
    6: ["result", "pulp_model", "solve", "sweep"],
    7: ["outcome", "facts", "figures", "analysis", "budgets"],
    8: ["explain", "relaxation", "stochastic_report", "report"],
    9: ["plan"],
    10: ["pipeline", "stress", "stress_report", "cluster", "batch", "diff", "committed"],
    11: ["cli", "console", "__main__", "__init__"],
}
LAYER_OF = {module: layer for layer, modules in LAYERS.items() for module in modules}


def _imports(path: Path) -> set[str]:
    """The procure modules ``path`` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module == "procure":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("procure."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("procure.")}
    return found


def _graph() -> dict[str, set[str]]:
    return {path.stem: _imports(path) & set(LAYER_OF) for path in sorted(PACKAGE.glob("*.py"))}


def test_every_module_has_a_layer():
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    assert modules - set(LAYER_OF) == set(), "add the new module to LAYERS (and to LAYERS.md's table)"


@pytest.mark.parametrize("module", sorted(LAYER_OF))
def test_no_import_runs_back_up(module):
    if not (PACKAGE / f"{module}.py").exists():
        pytest.skip(f"{module}.py is not in this tree")
    upward = sorted(m for m in _graph()[module] if LAYER_OF[m] > LAYER_OF[module])
    assert upward == [], f"{module} (layer {LAYER_OF[module]}) imports a higher layer: {upward}"


def test_no_import_circle():
    graph = _graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (circle := visit(nxt)):
                return circle
        state[node] = 2
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (circle := visit(module)):
            pytest.fail(f"import circle: {' -> '.join(circle)}")


def test_the_graph_is_read_from_function_bodies_too(tmp_path):
    # the checker must see an import hidden in a function body (a fake module, read as the test reads)
    module = tmp_path / "fake.py"
    module.write_text("def f():\n    from procure.cli import main\n    import procure.report\n")
    assert _imports(module) == {"cli", "report"}


def test_the_readme_lists_the_layers_this_test_keeps():
    # README.md's layout table: "| 3 | `validate`, `scenario`, ... |", the same modules on the same layers
    import re

    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| layer | modules |"):]
    listed = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("| "):
            break
        layer, modules = line.split("|")[1:3]
        for module in re.findall(r"`([a-z_]+)`", modules):
            listed[module] = int(layer)
    assert listed == {m: layer for m, layer in LAYER_OF.items() if (PACKAGE / f"{m}.py").exists()}
