"""The course's table of contents, its two editions, and its one GitHub address.

The lessons are written once, with their solutions, in ``solutions/`` (the teacher's
edition, the source); ``python -m vit_tutorial.editions --write`` makes the learner's
edition in ``notebooks/`` from it (the exercises without their answers). Everything that
links to the repository or describes a lesson — the README's lesson table, each notebook's
badge line, its lesson card with the measured minutes, its Colab setup cell and its
pipeline picture — is generated here from ``REPOSITORY``, ``BRANCH`` and ``LESSONS``::

    python -m vit_tutorial.course --write

Without ``--write`` the command only checks (the test suite runs that check).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from vit_tutorial.exercises import CHECKERS
from vit_tutorial.files import atomic_write, interruptible
from vit_tutorial.lesson_time import Minutes, measure

__all__ = ["REPOSITORY", "BRANCH", "EDITIONS", "SOURCE", "LESSONS", "Lesson", "Minutes",
           "colab_url", "badge_markdown", "classroom_banner", "exercise_points",
           "setup_cell_source", "pipeline_cell_source",
           "measure", "lesson_card", "lesson_table", "find_root", "out_of_date", "write",
           "sync_notebook", "lesson_minutes", "notebook_text", "github_url"]

REPOSITORY = "vit-step-by-step/vit-tutorial"  # GitHub "owner/name": the one place it lives
BRANCH = "main"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"

#: Folder -> edition. ``solutions`` is the source; ``notebooks`` is made from it.
EDITIONS = {"notebooks": "exercises", "solutions": "solutions"}
SOURCE = "solutions"


@dataclass(frozen=True)
class Lesson:
    """One lesson: a notebook (in both editions) and the package module(s) it builds."""

    name: str  # notebook file name without .ipynb
    title: str
    modules: tuple[str, ...]  # its module(s) in vit_tutorial/, named like the lesson
    learn: str  # what you learn, one line for the README
    assumes: str  # what a reader should know first
    outcome: str  # what a reader can do after it

    @property
    def number(self) -> int:
        return int(self.name[:2])


_PYTORCH = "a little PyTorch (tensors, shapes, `reshape`)"
LESSONS = (
    Lesson("01_patches", "Patches", ("patches",),
           "cut a photo into N = HW/P² flattened patches, x ∈ ℝ^{H×W×C} → x_p ∈ ℝ^{N×(P²·C)}",
           _PYTORCH, "compute N, cut an image into (C, P, P)-ordered patch vectors and put it "
                     "back together"),
    Lesson("02_patch_embeddings", "Patch embeddings", ("patch_embedding",),
           "Eq. 1's projection x_p E as flatten + Linear and as Conv2d — the same function; "
           "what the paper's *hybrid* model really is",
           f"lesson 01, {_PYTORCH} and `nn.Linear`",
           "write x_p E as flatten + Linear and as Conv2d, prove they are equal, and say what "
           "the hybrid model is"),
    Lesson("03_class_token", "The class token", ("class_token",),
           "prepend the learnable x_class: (196, 768) → (197, 768); expand vs repeat; "
           "its gradient and initialisation", "lessons 01–02",
           "prepend x_class at position 0, broadcast it with `expand`, and show that it "
           "learns"),
    Lesson("04_positional_embeddings", "Position embeddings", ("positional_embedding",),
           "why E_pos exists (shuffle the patches: without it nothing changes); learned 1-D vs "
           "2-D sine–cosine; Table 8's ablation measured in miniature", "lessons 01–03",
           "show that without E_pos the encoder ignores patch order, add learned or "
           "sine–cosine E_pos, and read Table 8"),
    Lesson("05_position_similarity", "What the position embeddings learn", ("similarity",),
           "Figure 7 (centre) reproduced on a ViT trained on real digits: neighbouring "
           "patches get similar embeddings, shown as a picture and a score", "lesson 04",
           "compute and read Figure 7's position-similarity tiles and a locality score"),
    Lesson("06_interpolation", "Interpolating position embeddings", ("interpolation",),
           "Sec. 3.2: resize E_pos for a new resolution (7×7 → 14×14, 197 → 577 tokens); why "
           "torchvision, timm and the original code disagree; the measured payoff",
           "lessons 04–05", "resize E_pos to a new grid with the class token kept aside, and "
                            "explain why the libraries' numbers differ"),
    Lesson("07_encoder", "The Transformer encoder", ("encoder",),
           "Eq. 2–3 by hand: LayerNorm, multi-head self-attention, the GELU MLP, pre-norm "
           "residual blocks stacked into the encoder, and why ViT puts the LayerNorm first",
           "lessons 01–04, and matrix products",
           "write a pre-norm encoder block from its parts, stack blocks into an Encoder, and "
           "read its attention weights"),
    Lesson("08_model", "The whole Vision Transformer", ("model", "weights"),
           "the lessons assembled (Eq. 1–4); Table 1's sizes counted; our ViT-B/16 loads "
           "torchvision's and timm's weights and gives their logits, at 224 and 384",
           "lessons 01–07", "assemble a ViT from its parts, count its parameters, and load "
                            "torchvision's or timm's weights into it"),
    Lesson("09_attention_maps", "What a trained ViT learns", ("attention_maps",),
           "Figure 7's three panels and Figure 6 on the course model: its training loop "
           "(placed digits, masked patch prediction), the filters of E, position similarity, "
           "mean attention distance per head, attention rollout — with numbers over seeds",
           "lessons 05 and 07–08",
           "read a trained ViT's filters, position embeddings and attention heads, compute "
           "mean attention distance and attention rollout, and say what they show over "
           "seeds"),
    Lesson("10_after_the_paper", "After the paper", ("after_the_paper",),
           "what became of patches and position embeddings since 2021: FlexiViT's PI-resize "
           "(other patch sizes), 2-D RoPE (no E_pos to resize) and register tokens — built "
           "by hand, matched to timm, measured on digits",
           "lessons 01–08",
           "resize patch-embedding filters so that tokens stay the same, rotate queries and "
           "keys by 2-D RoPE, add register tokens, and read what each one measures"),
    Lesson("11_native_resolution", "Any shape, any size", ("native_resolution",),
           "NaViT's Patch n' Pack and SigLIP 2's NaFlex: each image keeps its aspect ratio "
           "under a token budget, gets E_pos for its own grid, and is batched by padding with "
           "a mask or by packing — built by hand, matched to timm's NaFlexVit, measured on "
           "digits",
           "lessons 01–08, and lesson 06's resize of E_pos",
           "cut any image into patches with coordinates under a token budget, give each image "
           "its own (or a factorized) E_pos, pad or pack sequences with the right attention "
           "mask, and load timm's NaFlexVit"),
)

# --- the generated cells -------------------------------------------------------------------


def colab_url(lesson: str, edition: str = "notebooks") -> str:
    """The address that opens a lesson's notebook, in ``edition``'s folder, in Colab."""
    _check_edition(edition)
    return (f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/"
            f"{edition}/{lesson}.ipynb")


def github_url(lesson: str, edition: str = "notebooks") -> str:
    _check_edition(edition)
    return f"https://github.com/{REPOSITORY}/blob/{BRANCH}/{edition}/{lesson}.ipynb"


def _check_edition(edition: str) -> None:
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {', '.join(map(repr, EDITIONS))}, got "
                         f"{edition!r}")


def badge_markdown(lesson: str, edition: str = "notebooks") -> str:
    """The first cell: the "Open in Colab" badge, and a link to the other edition."""
    badge = f"[![Open In Colab]({COLAB_BADGE})]({colab_url(lesson, edition)})"
    if edition == "notebooks":
        return (f"{badge} · Stuck, or done? The same lesson with the answers: "
                f"[solutions edition]({github_url(lesson, 'solutions')})")
    return (f"{badge} · **Solutions edition** (for teachers, and for checking your work): "
            f"every exercise is answered. Try them first in the "
            f"[exercises edition]({github_url(lesson, 'notebooks')})")


def classroom_banner(lesson: str) -> str:
    """The first cell of what a class receives (``classroom student``, nbgrader's release):
    no link to either edition, since the exercises edition links to the solutions."""
    found = next((x for x in LESSONS if x.name == lesson), None)
    title = f"lesson {found.number:02d} of " if found else "a lesson of "
    return (f"**Classroom edition** — {title}*ViT, step by step*. Every exercise waits for "
            f"your answer where a cell says `# YOUR CODE HERE`; run it, and its checker says "
            f"what is right and what is not. Your teacher has the answers.")


def exercise_points(lesson: str) -> dict[str, int]:
    """Each exercise's checker and its points in a graded class, in lesson order, as declared
    once in :data:`vit_tutorial.exercises.CHECKERS` (a ``ValueError`` if they are not)."""
    points = CHECKERS.get(lesson, (None, None))[1]
    if not isinstance(points, dict) or not all(
            isinstance(p, int) and p > 0 for p in points.values()):
        raise ValueError(f"vit_tutorial.exercises.CHECKERS[{lesson!r}] must map each checker "
                         f"of the lesson to its points (a positive int), as in (module, "
                         f"{{'check_x_answers': 1, 'check_x': 3}}); got {points!r}")
    return dict(points)


def setup_cell_source() -> str:
    """The first code cell of every lesson: install the package on Colab, nothing locally."""
    return (
        "# Setup. On Colab this installs the course's package; torch, torchvision, matplotlib\n"
        "# and ipywidgets are already there and are not upgraded. Locally it does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "vit-tutorial @ git+https://github.com/{REPOSITORY}@{BRANCH}"'
    )


def pipeline_cell_source(lesson: Lesson) -> str:
    """The second code cell: the course's pipeline picture, this lesson's step highlighted."""
    return ("# Where this lesson sits in the pipeline (ViT-B/16, the paper's Figure 1)\n"
            "from vit_tutorial.diagram import show_pipeline\n"
            "\n"
            f"show_pipeline({lesson.number})")


def lesson_card(lesson: Lesson, minutes: Minutes) -> str:
    """The lesson card under the title: time, what it assumes, what you can do after it, and
    what its exercises are worth in a graded class (:func:`exercise_points`)."""
    optional = (f", plus {minutes.optional} optional (*Going deeper*)"
                if minutes.optional else "")
    points = exercise_points(lesson.name)
    return (f"> **About {minutes.total} minutes** ({minutes.main} reading and running, "
            f"{minutes.exercises} exercises{optional}). "
            f"**You need:** {lesson.assumes}. "
            f"**After it you can** {lesson.outcome}. "
            f"**Exercises:** {len(points)}, worth {sum(points.values())} points in a graded "
            f"class.")


def lesson_table(minutes: dict[str, Minutes]) -> str:
    """The README's table of lessons, as Markdown."""
    rows = ["| # | lesson | what you learn | open | minutes |",
            "|---|---|---|---|---|"]
    for lesson in LESSONS:
        m = minutes.get(lesson.name)
        time = "?" if m is None else f"{m.total}" + (f" (+{m.optional})" if m.optional else "")
        rows.append(
            f"| {lesson.number:02d} | [{lesson.title}](notebooks/{lesson.name}.ipynb) | "
            f"{lesson.learn} | [![Open In Colab]({COLAB_BADGE})]({colab_url(lesson.name)}) · "
            f"[solutions](solutions/{lesson.name}.ipynb) | {time} |")
    return "\n".join(rows)


# --- keeping the files in step ----------------------------------------------------------------

TABLE_START, TABLE_END = "<!-- lessons:start -->", "<!-- lessons:end -->"
GENERATED = ("badge", "card", "setup", "pipeline")  # cell metadata "vit_tutorial": one of these


GOALS_START, GOALS_END = "<!-- goals:start -->", "<!-- goals:end -->"


def goals_table() -> str:
    """The README's table of what each lesson assumes and what it teaches, as Markdown."""
    rows = ["| lesson | you need | after it you can |", "|---|---|---|"]
    rows += [f"| {lesson.number:02d} | {lesson.assumes} | {lesson.outcome} |"
             for lesson in LESSONS]
    return "\n".join(rows)


def _replace_between(text: str, start: str, end: str, content: str) -> str:
    head, sep, rest = text.partition(start)
    _, sep2, tail = rest.partition(end)
    if not sep or not sep2:
        raise ValueError(f"README.md must contain {start} and {end} around a generated table")
    return f"{head}{start}\n{content}\n{end}{tail}"


def _sync_readme(text: str, minutes: dict[str, Minutes]) -> str:
    text = _replace_between(text, TABLE_START, TABLE_END, lesson_table(minutes))
    return _replace_between(text, GOALS_START, GOALS_END, goals_table())


def _cell(kind: str, cell_type: str, source: str) -> dict:
    cell = {"cell_type": cell_type, "id": f"vit-{kind}", "metadata": {"vit_tutorial": kind},
            "source": source}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _generated(lesson: Lesson, edition: str, minutes: Minutes) -> dict[str, dict]:
    return {"badge": _cell("badge", "markdown", badge_markdown(lesson.name, edition)),
            "card": _cell("card", "markdown", lesson_card(lesson, minutes)),
            "setup": _cell("setup", "code", setup_cell_source()),
            "pipeline": _cell("pipeline", "code", pipeline_cell_source(lesson))}


def sync_notebook(nb: dict, lesson: Lesson, edition: str, minutes: Minutes) -> dict:
    """The badge, title, card, setup and pipeline cells at the top, in that order; a
    generated cell keeps its outputs when its source is unchanged."""
    wanted = _generated(lesson, edition, minutes)
    cells = nb["cells"]
    old = {c["metadata"]["vit_tutorial"]: c for c in cells if "vit_tutorial" in c["metadata"]}
    rest = [c for c in cells if "vit_tutorial" not in c["metadata"]]
    if not rest or rest[0]["cell_type"] != "markdown" or not _source(rest[0]).startswith("# "):
        raise ValueError(f"{edition}/{lesson.name}: the first hand-written cell must be the "
                         f"Markdown title cell ('# {lesson.number:02d} · {lesson.title}')")
    top = []
    for kind in GENERATED:
        cell = wanted[kind]
        previous = old.get(kind)
        if previous is not None and _source(previous) == _source(cell):
            cell = previous  # unchanged: keep its outputs and execution count
        top.append(cell)
        if kind == "badge":
            top.append(rest[0])  # the title comes right under the badge line
    nb["cells"] = top + rest[1:]
    return nb


def notebook_text(nb: dict) -> str:
    """A notebook as nbformat writes it (sorted keys, one-space indent, UTF-8 kept)."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _read_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def lesson_minutes(root: Path) -> dict[str, Minutes]:
    """Each lesson's measured minutes, from its source notebook (the solutions edition)."""
    minutes = {}
    for lesson in LESSONS:
        path = root / SOURCE / f"{lesson.name}.ipynb"
        if path.exists():
            minutes[lesson.name] = measure(_read_notebook(path))
    return minutes


def _sources(nb: dict) -> list[tuple[str, str]]:
    return [(c["cell_type"], _source(c)) for c in nb["cells"]]


def out_of_date(root: Path) -> list[str]:
    """Files under ``root`` whose generated parts disagree with ``REPOSITORY``/``LESSONS``."""
    root = Path(root)
    stale = []
    minutes = lesson_minutes(root)
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if _sync_readme(text, minutes) != text:
        stale.append("README.md")
    for edition in EDITIONS:
        names = sorted(p.stem for p in (root / edition).glob("*.ipynb"))
        if names != sorted(lesson.name for lesson in LESSONS):
            stale.append(f"{edition}/ holds {names}, LESSONS lists "
                         f"{[x.name for x in LESSONS]}")
        for lesson in LESSONS:
            path = root / edition / f"{lesson.name}.ipynb"
            if lesson.name not in minutes or not path.exists():
                continue
            nb = _read_notebook(path)
            before = _sources(nb)
            if _sources(sync_notebook(nb, lesson, edition, minutes[lesson.name])) != before:
                stale.append(str(path.relative_to(root)))
    return stale


def write(root: Path) -> None:
    """Regenerate the README table and the notebooks' generated cells in place."""
    root = Path(root)
    minutes = lesson_minutes(root)
    readme = root / "README.md"
    atomic_write(readme, _sync_readme(readme.read_text(encoding="utf-8"), minutes), force=True)
    for edition in EDITIONS:
        for lesson in LESSONS:
            path = root / edition / f"{lesson.name}.ipynb"
            if path.exists() and lesson.name in minutes:
                nb = sync_notebook(_read_notebook(path), lesson, edition, minutes[lesson.name])
                atomic_write(path, notebook_text(nb), force=True)


def find_root(root: Path | None = None) -> Path:
    """The repository: ``root`` if given, else the checkout this package was installed from
    (editable install), else the current folder — whichever holds the lessons."""
    candidates = [Path(root)] if root is not None else [Path(__file__).resolve().parents[1],
                                                       Path.cwd()]
    for candidate in candidates:
        if (candidate / "README.md").is_file() and (candidate / SOURCE).is_dir():
            return candidate
    where = " or ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no course repository at {where} (a README.md and a {SOURCE}/ "
                            f"folder); run this from a clone of the course, or pass --root")


@interruptible
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vit_tutorial.course",
        description="Check (or, with --write, regenerate) the README's lesson table and the "
                    "notebooks' badge, card, setup and pipeline cells from REPOSITORY and "
                    "LESSONS.")
    parser.add_argument("--root", type=Path, default=None,
                        help="the repository root (default: the checkout of this package)")
    parser.add_argument("--write", action="store_true", help="rewrite the files in place")
    args = parser.parse_args(argv)
    try:
        root = find_root(args.root)
    except FileNotFoundError as error:
        parser.error(str(error))
    if args.write:
        write(root)
    stale = out_of_date(root)
    for item in stale:
        print(f"out of date: {item}", file=sys.stderr)
    if stale:
        print("run `python -m vit_tutorial.course --write` to regenerate", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
