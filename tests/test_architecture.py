"""The package's import rules (CONTRIBUTING.md, "Floors"), read from the source with ``ast``.

Every module has a floor, named here or in the lesson registry: from the bottom, the
helpers (``HELPERS``, each may import the ones before it) -> the lesson modules, in lesson
order, each lesson's figures module right after it -> the model -> the after-the-paper
lesson -> the faces (``FACES``). The lesson modules and where they sit come from
:data:`vit_tutorial.lessons.LESSONS` (lesson 11 sits on the lesson floor, below the model,
which reads NaFlex batches with it). A module that no floor names fails the test: a new
module is placed on purpose, never by default.

A module imports only from floors below it (or, on the helper and lesson floors, from
modules before it); faces import each other only along ``FACE_EDGES``. A lesson's concept
module imports no figures module and no matplotlib (its drawing lives in its figures
module). No module imports a name starting with ``_`` from another module, there is no
import cycle, and only ``explorers/base.py`` imports ``ipywidgets``. Imports inside
functions count the same as those at the top of a module.
"""

import ast
from pathlib import Path

import pytest

from vit_tutorial.lessons import FLOORS as LESSON_FLOORS
from vit_tutorial.lessons import LESSONS

PACKAGE = Path(__file__).resolve().parents[1] / "vit_tutorial"

HELPERS = ("lessons", "names", "ipynb", "checks", "grid", "files", "checkpoints", "figures",
           "data", "lesson_time", "threads")  # in order: each may import those before it
FACES = ("train", "experiments", "native_experiment", "course_model", "course_setups",
         "exercises",
         "explorers", "widgets", "classroom", "course", "editions", "site", "diagram",
         "benchmark")
FACE_EDGES = {  # face -> the faces it may import (inside a sub-package, modules import
    "experiments": {"train", "native_experiment"},  # each other freely, but never in a cycle)
    "native_experiment": {"train"},
    "course_model": {"train"},
    "course_setups": {"train", "course_model"},
    "editions": {"classroom", "course"},
    "classroom": {"course"},  # the banner, the generated cells, the points table
    "course": {"diagram"},  # the pipeline picture's alt text
    "site": {"course", "diagram"},
    "widgets": {"explorers"},
}
WIDGETS_ONLY_IN = "explorers.base"


def lesson_floor(floor: str) -> tuple[str, ...]:
    """The registry's modules on one of its floors, in lesson order (figures after each)."""
    return tuple(module for lesson in LESSONS if lesson.floor == floor
                 for module in lesson.floor_modules)


FLOORS = (HELPERS, *(lesson_floor(floor) for floor in LESSON_FLOORS), FACES)
CONCEPTS = {module for lesson in LESSONS for module in lesson.modules or (lesson.module,)}
FIGURES = {lesson.figures_module for lesson in LESSONS if lesson.figures}


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


def floor_of(name: str) -> tuple[int, int] | None:
    """``(floor, place on it)`` of a module, or ``None`` for one no floor names."""
    top = name.split(".")[0]
    for number, floor in enumerate(FLOORS):
        if top in floor:
            return number, floor.index(top)
    return None


def allowed(source: str, target: str) -> bool:
    if source == "__init__":
        return False  # the package's __init__ imports nothing: `import vit_tutorial` is light
    (floor_s, index_s), (floor_t, index_t) = floor_of(source), floor_of(target)
    if floor_t < floor_s:
        return True
    if floor_s == floor_t == len(FLOORS) - 1:  # two faces
        return target.split(".")[0] in FACE_EDGES.get(source.split(".")[0], set())
    return floor_s == floor_t and index_t < index_s  # an earlier helper or lesson


def violations(graph: dict[str, list[tuple[str, tuple[str, ...], int]]]) -> list[str]:
    """Every broken rule in an import graph (module -> its package imports)."""
    found = [f"{name} sits on no floor: name it in HELPERS or FACES (tests/"
             f"test_architecture.py), or in a lesson of vit_tutorial/lessons.py"
             for name in graph if name != "__init__" and floor_of(name) is None]
    for source, edges in graph.items():
        for target, names, line in edges:
            same_package = "." in source + target and (
                source.split(".")[0] == target.split(".")[0])  # within one sub-package
            if floor_of(source) is None or floor_of(target) is None:
                continue  # said above
            if not same_package and not allowed(source, target):
                found.append(f"{source}:{line} imports {target}, which its floor may not")
            if source.split(".")[0] in CONCEPTS and target in FIGURES:
                found.append(f"{source}:{line} imports the figures module {target}: a "
                             f"lesson's concept module draws nothing")
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


def test_every_floor_name_is_a_module_and_no_name_is_on_two_floors():
    names = {name.split(".")[0] for name in modules()}
    listed = [name for floor in FLOORS for name in floor]
    assert set(listed) <= names, f"listed but missing: {set(listed) - names}"
    assert len(listed) == len(set(listed)), f"on two floors: {listed}"


def test_the_package_keeps_its_import_rules():
    assert violations(graph_of_the_package()) == []


def test_a_planted_module_no_floor_names_is_caught():
    graph = graph_of_the_package()
    graph["stray"] = [("checks", (), 1)]  # vit_tutorial/stray.py, placed nowhere
    graph["explorers.stray"] = []  # inside a face's sub-package: that face's floor
    assert [v for v in violations(graph) if "no floor" in v] == [
        "stray sits on no floor: name it in HELPERS or FACES (tests/test_architecture.py), "
        "or in a lesson of vit_tutorial/lessons.py"]


@pytest.mark.parametrize("source, target, message", [
    ("patches", "model", "imports model, which its floor may not"),  # a lesson reaching up
    ("patches", "similarity", "imports similarity, which its floor may not"),  # a later lesson
    ("encoder", "train", "imports train, which its floor may not"),  # a lesson and a face
    ("explorers.patches", "train", "imports train, which its floor may not"),  # face sideways
    ("benchmark", "explorers.common", "imports explorers.common, which its floor may not"),
    ("native_resolution.batching", "model", "imports model, which its floor may not"),
    ("native_resolution", "after_the_paper", "imports after_the_paper, which its floor may not"),
    ("checks", "files", "imports files, which its floor may not"),  # a later helper
    ("lessons", "course", "imports course, which its floor may not"),  # the registry reads none
    ("similarity", "similarity_figures", "imports the figures module similarity_figures"),
    ("similarity", "patches_figures", "imports the figures module patches_figures"),
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


def test_no_concept_module_draws():
    """A lesson's concept module holds the idea alone: matplotlib is its figures module's."""
    drawing = sorted(name for name, path in modules().items()
                     if name.split(".")[0] in CONCEPTS
                     for module, _, _ in imports(path) if module.split(".")[0] == "matplotlib")
    assert drawing == []


def test_no_module_is_longer_than_400_lines_without_saying_why():
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 400:
            docstring = ast.get_docstring(ast.parse(text)) or ""
            assert "Why one module" in docstring, f"{name}: {text.count(chr(10))} lines"


MAX_FUNCTION_LINES = 60  # CONTRIBUTING.md, "Sizes": a function's body below its docstring


def function_lengths(tree: ast.AST) -> list[tuple[str, int, int]]:
    """``(name, line, body lines below the docstring)`` for every function in a module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            has_docstring = (isinstance(body[0], ast.Expr) and isinstance(body[0].value,
                             ast.Constant) and isinstance(body[0].value.value, str))
            start = body[1].lineno if has_docstring and len(body) > 1 else body[0].lineno
            found.append((node.name, node.lineno, node.end_lineno - start + 1))
    return found


def test_no_function_is_longer_than_the_contributors_guide_allows():
    long = [f"{name}:{line} {function} has {length} lines"
            for name, path in modules().items()
            for function, line, length in function_lengths(ast.parse(path.read_text("utf-8")))
            if length > MAX_FUNCTION_LINES]
    assert long == [], f"split these (at most {MAX_FUNCTION_LINES} lines below the docstring)"


def test_a_planted_long_function_is_caught():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    tree = ast.parse(f'def long():\n    """Doc."""\n{body}\n')
    assert function_lengths(tree) == [("long", 1, MAX_FUNCTION_LINES + 1)]


def test_the_contributors_guide_names_every_floor_and_the_readme_links_it():
    root = PACKAGE.parent
    guide = (root / "CONTRIBUTING.md").read_text(encoding="utf-8")
    floors = guide[guide.index("## Floors"):guide.index("## Names")]
    missing = [name for floor in FLOORS for name in floor  # figures: "<module>_figures"
               if name not in FIGURES and f"`{name}" not in floors]
    assert missing == [], f"CONTRIBUTING.md's Floors don't name {missing}"
    assert "[CONTRIBUTING.md](CONTRIBUTING.md)" in (root / "README.md").read_text("utf-8")
