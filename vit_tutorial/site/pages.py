"""The site's own pages, written as MyST Markdown: the landing page, the notation page and
the teachers' page.

The landing page is made from the lesson registry (:data:`vit_tutorial.lessons.LESSONS`) and
the measured minutes (:func:`vit_tutorial.course.lesson_minutes`), so a new lesson or a new
measurement shows without an edit here. The notation page and the teachers' page are
sections of the README (``NOTATION_HEADING``, ``TEACHERS_HEADING``), with the paper's symbols
turned into math.
"""

from __future__ import annotations

from vit_tutorial.course import REPOSITORY, colab_url, github_url
from vit_tutorial.lesson_time import Minutes
from vit_tutorial.lessons import LESSONS, Lesson
from vit_tutorial.site.notation import to_tex, with_math

__all__ = ["TEACHERS_HEADING", "NOTATION_HEADING", "RUN_HEADING", "TEACHERS_NOTE",
           "PIPELINE_ALT", "readme_section", "split_readme", "landing_page", "notation_page",
           "teachers_page", "lesson_entry"]

# README sections the site shows: the first "## " heading that starts so.
TEACHERS_HEADING = "## For teachers"
NOTATION_HEADING = "## The paper's notation"
RUN_HEADING = "## Run it on your machine"

TEACHERS_NOTE = (
    "The lessons on this site are the **exercises edition** (`notebooks/`), the one learners "
    "open from the site, GitHub and Colab: every exercise waits for an answer and its checker "
    "says \"not implemented yet\". Under each exercise, a folded **Show a solution** holds the "
    "answer from the **solutions edition** (`solutions/`), and each lesson's first line links "
    "to that edition on GitHub.")

PIPELINE_ALT = (
    "The Vision Transformer's pipeline, ViT-B/16: a 224 × 224 × 3 photo is cut into 196 "
    "patches of 16 × 16 × 3, each flattened to 768 values (196 × 768), mapped by the linear "
    "map E to 196 patch embeddings; the class token is prepended (197 × 768), position "
    "embeddings are added, and the Transformer encoder's 12 pre-norm blocks lead to y, the "
    "class token's final state, and the MLP head that gives the class.")


def _in_code(lines: list[str]) -> list[bool]:
    """For each Markdown line: is it part of a fenced code block (fences included)?"""
    flags, fence = [], None
    for line in lines:
        stripped = line.lstrip()
        if fence:
            flags.append(True)
            fence = None if stripped.startswith(fence) else fence
        else:
            flags.append(stripped.startswith(("```", "~~~")))
            fence = stripped[:3] if flags[-1] else None
    return flags


def readme_section(text: str, heading: str) -> tuple[int, int]:
    """Where the README section starting with ``heading`` ("## …") is: (first line, end).

    Raises:
        SystemExit: the README has no such section (the site is made from it).
    """
    lines = text.splitlines()
    code = _in_code(lines)
    headings = [i for i, line in enumerate(lines) if line.startswith("## ") and not code[i]]
    start = next((i for i in headings if lines[i].startswith(heading)), None)
    if start is None:
        raise SystemExit(f"README.md has no section starting with {heading!r}: the site "
                         f"makes a page from it (vit_tutorial/site/pages.py)")
    return start, next((i for i in headings if i > start), len(lines))


def _page(lines: list[str]) -> list[str]:
    """A README section as a page of its own: its headings one level up, the paper's
    symbols in tables and prose as math; code blocks stay as they are."""
    code = _in_code(lines)
    page = []
    for line, in_code in zip(lines, code):
        if in_code:
            page.append(line)
        elif line.startswith("##"):
            page.append(line[1:])
        else:
            page.append(with_math(line))
    return page


def split_readme(text: str) -> tuple[str, str]:
    """The README as (the rest, the teachers' page): the section under
    ``TEACHERS_HEADING`` becomes a page with :data:`TEACHERS_NOTE` under its title, and a
    link to that page stays behind."""
    lines = text.splitlines()
    start, end = readme_section(text, TEACHERS_HEADING)
    teachers = _page(lines[start:end])
    teachers[1:1] = ["", TEACHERS_NOTE]
    title = lines[start][3:].strip()
    rest = lines[:start] + [lines[start], "", f"See [{title}](teachers.md).", ""] + lines[end:]
    return "\n".join(rest) + "\n", "\n".join(teachers) + "\n"


def teachers_page(readme: str) -> str:
    return split_readme(readme)[1]


def notation_page(readme: str) -> str:
    """The README's notation section as a page: the paper's column as math."""
    lines = readme.splitlines()
    start, end = readme_section(readme, NOTATION_HEADING)
    page = _page(lines[start:end])
    for i, line in enumerate(lines[start:end]):
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2 and cells[1].strip() not in ("paper", ""):
            if not set(cells[1]) <= set("-: "):  # not the header's rule
                page[i] = "|".join([cells[0], f" ${to_tex(cells[1])}$ ",
                                    *(with_math(cell) for cell in cells[2:])])
    return "\n".join(page) + "\n"


def _run_command(readme: str) -> str:
    """The README's one command that sets everything up and opens the lessons."""
    start, end = readme_section(readme, RUN_HEADING)
    for line in readme.splitlines()[start:end]:
        if "jupyter lab" in line and line.startswith("python"):
            return line.strip()
    raise SystemExit(f"README.md's section {RUN_HEADING[3:]!r} has no command that opens "
                     f"JupyterLab (`python3 -m venv … jupyter lab …`); the landing page shows it")


def lesson_entry(lesson: Lesson, minutes: Minutes | None) -> str:
    """A lesson in the sidebar: its number, title and measured minutes."""
    time = f" · {minutes.total} min" if minutes else ""
    return f"{lesson.number:02d} · {lesson.title}{time} <notebooks/{lesson.name}>"


def _time(minutes: Minutes | None) -> str:
    if minutes is None:
        return "time not measured yet"
    optional = f" (+{minutes.optional} optional)" if minutes.optional else ""
    return f"about {minutes.total} min{optional}"


def _card(lesson: Lesson, minutes: Minutes | None) -> str:
    colab, notebook = colab_url(lesson.name), github_url(lesson.name)
    return "\n".join([
        f"::::{{grid-item-card}} [{lesson.number:02d} · {lesson.title}]"
        f"(notebooks/{lesson.name}.ipynb)",
        ":class-card: vit-lesson-card",
        "",
        with_math(lesson.learn[:1].upper() + lesson.learn[1:]) + ".",
        "",
        f"**You need:** {with_math(lesson.assumes)}.",
        "",
        ":::{card-footer}",
        f"{_time(minutes).capitalize()} · [Open in Colab]({colab}) · "
        f"[Notebook on GitHub]({notebook})",
        ":::",
        "::::",
        ""])


def landing_page(title: str, readme: str, minutes: dict[str, Minutes], pipeline_html: str,
                 toctrees: str) -> str:
    """The front page, for learners: what the course is, the picture, where to start, a
    card per lesson, and a word for teachers."""
    first = LESSONS[0]
    start_time = _time(minutes.get(first.name))
    repository = f"https://github.com/{REPOSITORY}"
    cards = "".join(_card(lesson, minutes.get(lesson.name)) for lesson in LESSONS)
    return f"""\
# {title}

An open course that rebuilds the **Vision Transformer** (Dosovitskiy et al., *An Image is
Worth 16x16 Words*, ICLR 2021) in PyTorch, one idea at a time — starting with the question
most tutorials rush past: **how does an image become the sequence of tokens a Transformer
reads?** It is for anyone who knows a little PyTorch. {len(LESSONS)} lessons, each a Jupyter
notebook that builds its idea step by step, checks every step, and ends with exercises whose
checkers say in words what is wrong.

```{{rst-class}} vit-start-here
```
**Start here:** [{first.number:02d} · {first.title}](notebooks/{first.name}.ipynb) —
{start_time}; you need {with_math(first.assumes)}.

{pipeline_html}

Each page shows a lesson with everything it prints and draws. Its exercises wait for your
answer, and under each one a folded **Show a solution** holds an answer. To run a lesson,
open it in Colab (in your browser, nothing to install) or on your own machine:

```bash
{_run_command(readme)}
```

## Lessons

:::::{{grid}} 1 1 2 2
:gutter: 3

{cards}:::::

The minutes are measured from each notebook by one rule for all (reading, running, figures
and exercises); the part in brackets is an optional *Going deeper* section that no later
lesson needs. The symbols: [the paper's notation, and ours](notation.md).

## For teachers

Every lesson comes in two editions made from one source: the **exercises edition** that this
site, GitHub and Colab open, and the **solutions edition** with every exercise answered. One
command makes a ready nbgrader course from it, with points per exercise and autograding:
[how to run a graded class](teachers.md).
The course's code, its tests and how to contribute: [the repository on GitHub]({repository}).
{toctrees}"""
