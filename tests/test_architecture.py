"""The package's import rules (README, "For contributors"), read from the source with ``ast``.

Floors, from the bottom: helpers -> lesson modules (in lesson order) -> the model -> the
after-the-paper lesson -> faces (lesson 11's modules sit on the lesson floor, below the
model, which reads NaFlex batches with them). A module imports only from floors below it (or,
among the lessons, from earlier lessons); faces import each other only along the edges listed in
``FACE_EDGES``. No module imports a name starting with ``_`` from another module, there is
no import cycle, and only ``explorers/base.py`` imports ``ipywidgets``. Imports inside
functions count the same as those at the top of a module.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vit_tutorial"

HELPERS = ("_checks", "grid", "files", "checkpoints", "figures", "data", "lesson_time",
           "threads")
LESSONS = ("patches", "patch_embedding", "class_token", "positional_embedding", "similarity",
           "interpolation", "interpolation_figures", "encoder", "attention_maps",
           "native_resolution", "native_resolution_figures")
MODEL = ("model", "weights")
AFTER = ("after_the_paper",)
FLOORS = (HELPERS, LESSONS, MODEL, AFTER)  # everything else is a face
FACE_EDGES = {  # face -> the faces it may import (inside a sub-package, modules import
    "experiments": {"train", "native_experiment"},  # each other freely, but never in a cycle)
    "native_experiment": {"train"},
    "course_model": {"train"},
    "course_setups": {"train", "course_model"},
    "editions": {"classroom", "course"},
    "classroom": {"course", "exercises"},  # the banner, the lessons, the exercises' points
    "course": {"exercises"},  # the lesson card states the exercises' points
    "site": {"course"},
    "widgets": {"explorers"},
}
WIDGETS_ONLY_IN = "explorers.base"


def modules() -> dict[str, Path]:
    """``"explorers.patches"`` -> its file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"
        found[name] = path
    return found


def imports(path: Path) -> list[tuple[str, tuple[str, ...], int]]:
    """``(module, names, line)`` for every import in a file, in functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, tuple(a.name for a in node.names), node.lineno))
    return found


def package_edges(name: str, path: Path) -> list[tuple[str, tuple[str, ...], int]]:
    """Imports of our own modules: ``(target module, names, line)``."""
    edges = []
    for module, names, line in imports(path):
        if module == "vit_tutorial":  # from vit_tutorial import explorers, ...
            edges += [(n, (), line) for n in names]
        elif module.startswith("vit_tutorial."):
            edges.append((module.removeprefix("vit_tutorial."), names, line))
    return edges


def floor_of(name: str) -> tuple[int, int]:
    top = name.split(".")[0]
    for number, floor in enumerate(FLOORS):
        if top in floor:
            return number, floor.index(top)
    return len(FLOORS), 0  # a face


def allowed(source: str, target: str) -> bool:
    if source == "__init__":
        return False  # the package's __init__ imports nothing: `import vit_tutorial` is light
    (floor_s, index_s), (floor_t, index_t) = floor_of(source), floor_of(target)
    if floor_t < floor_s:
        return True
    if floor_t == floor_s and floor_s < len(FLOORS):
        return index_t < index_s or (floor_s, target) == (0, "_checks")  # earlier lesson
    if floor_s == floor_t == len(FLOORS):
        return target.split(".")[0] in FACE_EDGES.get(source.split(".")[0], set())
    return False


def violations(graph: dict[str, list[tuple[str, tuple[str, ...], int]]]) -> list[str]:
    """Every broken rule in an import graph (module -> its package imports)."""
    found = []
    for source, edges in graph.items():
        for target, names, line in edges:
            same_package = "." in source + target and (
                source.split(".")[0] == target.split(".")[0])  # within one sub-package
            if not same_package and not allowed(source, target):
                found.append(f"{source}:{line} imports {target}, which its floor may not")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                found.append(f"{source}:{line} imports private {private} from {target}")
    return found + cycles(graph)


def cycles(graph) -> list[str]:
    found, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for target, _, _ in graph.get(node, []):
            target = target if target in graph else target.split(".")[0]
            if state.get(target) == "open":
                found.append("import cycle: " + " -> ".join([*trail, node, target]))
            elif target in graph and target not in state:
                visit(target, [*trail, node])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [])
    return found


def graph_of_the_package() -> dict:
    return {name: package_edges(name, path) for name, path in modules().items()}


def test_every_module_sits_on_a_floor_or_is_a_face():
    names = set(modules())
    for floor in FLOORS:
        assert set(floor) <= names, f"listed but missing: {set(floor) - names}"


def test_the_package_keeps_its_import_rules():
    assert violations(graph_of_the_package()) == []


@pytest.mark.parametrize("source, target, message", [
    ("patches", "model", "imports model, which its floor may not"),  # a lesson reaching up
    ("patches", "similarity", "imports similarity, which its floor may not"),  # a later lesson
    ("encoder", "train", "imports train, which its floor may not"),  # a lesson and a face
    ("explorers.patches", "train", "imports train, which its floor may not"),  # face sideways
    ("benchmark", "explorers.common", "imports explorers.common, which its floor may not"),
    ("native_resolution.batching", "model", "imports model, which its floor may not"),
    ("native_resolution", "after_the_paper", "imports after_the_paper, which its floor may not"),
])
def test_a_planted_back_edge_is_caught(source, target, message):
    graph = graph_of_the_package()
    graph[source] = [*graph[source], (target, (), 1)]
    assert any(message in v for v in violations(graph)), violations(graph)


def test_a_planted_private_import_and_cycle_are_caught():
    graph = graph_of_the_package()
    graph["model"] = [*graph["model"], ("encoder", ("_hidden",), 1)]
    assert any("imports private ['_hidden']" in v for v in violations(graph))
    graph = {"a": [("b", (), 1)], "b": [("a", (), 2)]}
    assert any("import cycle" in v for v in cycles(graph))


def test_only_the_widget_base_imports_ipywidgets():
    users = sorted(name for name, path in modules().items()
                   for module, _, _ in imports(path) if module.split(".")[0] == "ipywidgets")
    assert users == [WIDGETS_ONLY_IN]


def test_no_module_is_longer_than_400_lines_without_saying_why():
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 400:
            docstring = ast.get_docstring(ast.parse(text)) or ""
            assert "Why one module" in docstring, f"{name}: {text.count(chr(10))} lines"
