"""The lesson registry, and every file it promises: CONTRIBUTING.md's "Adding a lesson".

Each test is one step of that checklist, and fails — naming the file — when a lesson skips
it: the registry entry itself, the notebook in both editions, the module and its tests, the
figures module and its tests, the exercises and their tests, the explorer and its tests,
the results and checkpoints it loads, and the public names the README lists. (The
generated parts — cards, README tables, the pipeline cell and its alt text, the pictures in
``images/``, the exercises edition — are checked by ``test_course.py``, ``test_diagram.py``
and ``test_editions.py``; the import floors by ``test_architecture.py``; the checkers by
``test_checkers.py``.)
"""

import ast
import importlib
import re
from pathlib import Path

import pytest

from vit_tutorial.ipynb import cell_source, read_notebook
from vit_tutorial.lessons import EDITIONS, FLOORS, LESSONS, SOURCE, STAGES, lesson_named

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vit_tutorial"
TESTS = ROOT / "tests"
BY_NAME = {"ids": lambda lesson: lesson.name}

# The lesson API that the course's earlier versions published (the README's import block):
# a contract, so these names stay where they are.
CONTRACT = {
    "patches": ("image_to_patches", "patches_to_image", "num_patches"),
    "patch_embedding": ("PatchEmbedding", "LinearPatchEmbedding"),
    "class_token": ("ClassToken", "prepend_class_token"),
    "positional_embedding": ("PositionalEmbedding", "sincos_2d_pos_embed"),
    "similarity": ("position_similarity", "locality_score"),
    "interpolation": ("resize_pos_embed",),
    "encoder": ("EncoderBlock", "Encoder"),
    "model": ("VisionTransformer", "ViTConfig", "vit_b_16", "load_tiny_vit"),
    "weights": ("from_torchvision", "from_timm"),
    "attention_maps": ("mean_attention_distance", "attention_rollout"),
    "after_the_paper": ("resample_patch_embed", "RoPEEncoderBlock"),
    "native_resolution": ("patchify", "fit_to_budget", "naflex_batch"),
}


def _module_file(module: str) -> Path | None:
    for path in (PACKAGE / f"{module}.py", PACKAGE / module / "__init__.py"):
        if path.exists():
            return path
    return None


def _source(lesson) -> str:
    """The lesson's solutions edition: every cell's source, joined."""
    nb = read_notebook(ROOT / SOURCE / f"{lesson.name}.ipynb")
    return "\n".join(cell_source(cell) for cell in nb["cells"])


# --- 1. the registry entry -----------------------------------------------------------------

def test_lessons_are_numbered_in_order_and_named_once():
    assert [lesson.number for lesson in LESSONS] == list(range(1, len(LESSONS) + 1))
    for lesson in LESSONS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", lesson.name), lesson.name
        assert re.fullmatch(r"[a-z][a-z0-9_]*", lesson.module), lesson.module
        assert lesson_named(lesson.name) is lesson
    for attribute in ("name", "module", "title"):
        values = [getattr(lesson, attribute) for lesson in LESSONS]
        assert len(set(values)) == len(values), f"two lessons share a {attribute}"
    with pytest.raises(ValueError, match="no lesson named '99_x'"):
        lesson_named("99_x")


@pytest.mark.parametrize("lesson", LESSONS, **BY_NAME)
def test_the_entry_says_what_a_card_needs(lesson):
    for text in (lesson.title, lesson.learn, lesson.assumes, lesson.outcome):
        assert text.strip() and not text.endswith("."), f"{lesson.name}: {text!r}"
    assert lesson.floor in FLOORS, f"{lesson.name}: floor {lesson.floor!r}, not one of {FLOORS}"
    assert not lesson.modules or lesson.module in lesson.modules, lesson.name


@pytest.mark.parametrize("lesson", LESSONS, **BY_NAME)
def test_its_step_lights_stages_of_the_picture(lesson):
    step = lesson.step
    assert step.caption and set(step.stages) <= set(STAGES), step
    assert all(stage in step.stages for stage, _ in step.notes), "a note on a grey stage"
    assert step.part in (None, "E_pos", "MSA"), step.part
    names = [other.step.name for other in LESSONS]
    assert names.count(step.name) == 1, f"two lessons light the step {step.name!r}"


@pytest.mark.parametrize("lesson", LESSONS, **BY_NAME)
def test_its_exercises_are_checkers_with_points(lesson):
    """1 point for a "check your understanding" exercise, 2-4 for an "implement it" one."""
    assert lesson.exercises, f"{lesson.name} has no exercises"
    for checker, points in lesson.exercises:
        assert checker.startswith("check_"), checker
        expected = {1} if checker.endswith("_answers") else {2, 3, 4}
        assert isinstance(points, int) and points in expected, f"{checker}: {points!r}"
    everyone = [checker for other in LESSONS for checker, _ in other.exercises]
    assert len(everyone) == len(set(everyone)), "two exercises share a checker"


# --- 2. the notebook, in both editions -----------------------------------------------------

def test_each_edition_holds_exactly_the_registry_lessons():
    for edition in EDITIONS:
        names = sorted(p.stem for p in (ROOT / edition).glob("*.ipynb"))
        assert names == [lesson.name for lesson in LESSONS], edition


# --- 3. the module(s), and a test file for each --------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, **BY_NAME)
def test_its_modules_exist_each_with_its_tests(lesson):
    for module in lesson.floor_modules:
        assert _module_file(module), f"vit_tutorial/{module}.py (or {module}/) is missing"
        assert (TESTS / f"test_{module}.py").exists(), f"tests/test_{module}.py is missing"
    assert re.search(rf"from vit_tutorial\.{lesson.module}\b", _source(lesson)), (
        f"{lesson.name} never imports its module vit_tutorial.{lesson.module}")


# --- 4. the figures, apart from the concept ------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, **BY_NAME)
def test_its_drawing_lives_in_its_figures_module(lesson):
    """A lesson that draws has ``<module>_figures.py`` (and the tests checked above); its
    concept modules define no ``plot_*`` function."""
    figures = PACKAGE / f"{lesson.module}_figures.py"
    assert figures.exists() == lesson.figures, (
        f"{figures.name} {'is missing' if lesson.figures else 'exists'}; the registry says "
        f"figures={lesson.figures}")
    for module in lesson.modules or (lesson.module,):
        path = _module_file(module)
        files = sorted(path.parent.glob("*.py")) if path.name == "__init__.py" else [path]
        for file in files:
            plots = [node.name for node in ast.walk(ast.parse(file.read_text(encoding="utf-8")))
                     if isinstance(node, ast.FunctionDef) and node.name.startswith("plot_")]
            assert not plots, f"{file.name} draws ({plots}): move it to {figures.name}"


# --- 5. the exercises and their tests ------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, **BY_NAME)
def test_its_exercises_module_and_tests_exist_and_its_notebook_calls_each_checker(lesson):
    assert (PACKAGE / "exercises" / f"{lesson.module}.py").exists(), (
        f"vit_tutorial/exercises/{lesson.module}.py is missing")
    assert (TESTS / f"test_{lesson.module}_exercises.py").exists(), (
        f"tests/test_{lesson.module}_exercises.py is missing")
    source = _source(lesson)
    for checker in lesson.points:
        assert re.search(rf"^{checker}\(", source, re.M), f"{lesson.name} never calls {checker}"


# --- 6. the explorer, if it has one --------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, **BY_NAME)
def test_its_explorer_and_tests_exist_exactly_when_declared(lesson):
    for path in (PACKAGE / "explorers" / f"{lesson.module}.py",
                 TESTS / f"test_{lesson.module}_explorer.py"):
        assert path.exists() == lesson.explorer, (
            f"{path.relative_to(ROOT)} {'is missing' if lesson.explorer else 'exists'}; the "
            f"registry says explorer={lesson.explorer}")
    if lesson.explorer:
        assert f"vit_tutorial.explorers.{lesson.module}" in _source(lesson)


# --- 7. the results and checkpoints it ships -----------------------------------------------

@pytest.mark.parametrize("kind, suffix", [("results", ".json"), ("checkpoints", ".pt")])
def test_every_shipped_file_belongs_to_a_lesson_that_loads_it(kind, suffix):
    shipped = sorted(p.stem for p in (PACKAGE / kind).glob(f"*{suffix}"))
    claimed = sorted({name for lesson in LESSONS for name in getattr(lesson, kind)})
    assert shipped == claimed, f"vit_tutorial/{kind}/ holds {shipped}, the lessons {claimed}"
    if kind == "results":
        for lesson in LESSONS:
            source = _source(lesson)
            for name in lesson.results:
                assert re.search(rf"\b{name}\b", source), f"{lesson.name} never loads {name}"


# --- 8. the public names -------------------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, **BY_NAME)
def test_its_public_names_import_from_where_the_readme_says(lesson):
    assert lesson.api, f"{lesson.name} lists no public names for the README"
    for module, names in lesson.api:
        assert module in lesson.floor_modules, f"{module} is not a module of {lesson.name}"
        imported = importlib.import_module(f"vit_tutorial.{module}")
        for name in names:
            assert name in imported.__all__, f"vit_tutorial.{module}.{name}"


def test_the_published_lesson_api_is_unchanged():
    published = {module: names for lesson in LESSONS for module, names in lesson.api}
    assert published == CONTRACT


# --- 9. the checklist itself -----------------------------------------------------------------

def test_each_step_of_adding_a_lesson_names_tests_that_exist():
    """CONTRIBUTING.md's "Adding a lesson": every step names the test that enforces it, and
    every test it names exists (a renamed test would leave a step unguarded)."""
    guide = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    checklist = guide[guide.index("## Adding a lesson"):]
    steps = re.split(r"\n\d+\. ", checklist)[1:]
    assert len(steps) >= 10, "the checklist lost steps"
    for number, step in enumerate(steps, 1):
        named = re.findall(r"`(tests/test_\w+\.py)?::(test_\w+)`", step)
        assert named or "nbval" in step, f"step {number} names no test"
        module = None
        for path, test in named:
            module = path or module  # "::test_x" means the file named just before
            source = (ROOT / module).read_text(encoding="utf-8")
            assert re.search(rf"^def {test}\(", source, re.M), f"{module}::{test} is gone"
