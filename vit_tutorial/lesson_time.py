"""How long a lesson takes a reader: prose, code, figures and exercises, from its notebook.

The numbers are a model, stated here so anyone can check or change it. The reader is careful
and knows a little PyTorch.

- Prose: :data:`WORDS_PER_MINUTE` = 140 words a minute. Carver's reading "gears" (R. P.
  Carver, *Reading Rate: A Review of Research and Theory*, Academic Press, 1990) put ordinary
  reading for understanding ("rauding") near 300 words a minute, reading to learn near 200
  and reading to memorise near 138; studying technical prose with formulas, to use it in the
  next cell, sits near the slowest gear.
- A code cell: :data:`SECONDS_PER_CODE_CELL` to run it and read what it printed, plus
  :data:`SECONDS_PER_CODE_LINE` per line; a figure: :data:`SECONDS_PER_FIGURE` to study it.
- An exercise: the minutes of :data:`MINUTES_PER_EXERCISE`, writing the answer included: 6 to
  "check your understanding", 15 to "implement it".

Only the prose rate comes from a study; the code, figure and exercise times are the course's
own estimates for such a reader, to be corrected when learners' times are measured.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from vit_tutorial.ipynb import cell_source

__all__ = ["WORDS_PER_MINUTE", "SECONDS_PER_CODE_CELL", "SECONDS_PER_CODE_LINE",
           "SECONDS_PER_FIGURE", "MINUTES_PER_EXERCISE", "OPTIONAL_HEADING",
           "EXERCISES_HEADING", "Minutes", "measure"]

WORDS_PER_MINUTE = 140  # studying technical prose with formulas: Carver's memorizing gear
SECONDS_PER_CODE_CELL = 45  # run it, read what it printed
SECONDS_PER_CODE_LINE = 3  # read one line of code
SECONDS_PER_FIGURE = 60  # study a figure
MINUTES_PER_EXERCISE = {"answers": 6, "implement": 15}  # check your understanding / implement it
OPTIONAL_HEADING = "## Going deeper"
EXERCISES_HEADING = "## Exercises"


@dataclass(frozen=True)
class Minutes:
    """A lesson's measured time, in minutes: the main line, its exercises, the optional
    part."""

    main: int
    exercises: int
    optional: int

    @property
    def total(self) -> int:
        """The lesson without its optional part, rounded up to 5 minutes."""
        return 5 * math.ceil((self.main + self.exercises) / 5)


def _seconds(cells: list[dict], code_lines: bool = True) -> float:
    seconds = 0.0
    for cell in cells:
        text = cell_source(cell)
        if cell.get("cell_type") == "markdown":
            seconds += 60 * len(text.split()) / WORDS_PER_MINUTE
        elif cell.get("cell_type") == "code" and text.strip():
            lines = [line for line in text.splitlines() if line.strip()] if code_lines else []
            figures = sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
            seconds += (SECONDS_PER_CODE_CELL + SECONDS_PER_CODE_LINE * len(lines)
                        + SECONDS_PER_FIGURE * figures)
    return seconds


def _exercise_minutes(cells: list[dict]) -> int:
    calls = re.findall(r"\bcheck_\w+?(_answers)?\(", "\n".join(
        cell_source(c) for c in cells if c.get("cell_type") == "code"))
    return sum(MINUTES_PER_EXERCISE["answers" if kind else "implement"] for kind in calls)


def measure(nb: dict) -> Minutes:
    """A lesson's reading-and-doing time, in minutes, from its notebook.

    Prose at :data:`WORDS_PER_MINUTE`; each code cell :data:`SECONDS_PER_CODE_CELL` to run
    and look at, plus :data:`SECONDS_PER_CODE_LINE` per line and
    :data:`SECONDS_PER_FIGURE` per figure; each exercise the minutes of
    :data:`MINUTES_PER_EXERCISE` (a checker named ``check_..._answers`` is "check your
    understanding", any other checker "implement it"), which include writing the answer, so
    the solutions' lines don't count. The generated cells (badge, card, setup, pipeline)
    don't count. Cells from the ``## Exercises`` heading on are exercises, cells from
    ``## Going deeper`` on are optional.
    """
    cells = [c for c in nb["cells"] if "vit_tutorial" not in c.get("metadata", {})]
    parts: dict[str, list[dict]] = {"main": [], "exercises": [], "optional": []}
    part = "main"
    for cell in cells:
        heading = cell_source(cell).lstrip() if cell.get("cell_type") == "markdown" else ""
        if heading.startswith(EXERCISES_HEADING):
            part = "exercises"
        elif heading.startswith(OPTIONAL_HEADING):
            part = "optional"
        parts[part].append(cell)
    exercises = (_seconds(parts["exercises"], code_lines=False) / 60
                 + _exercise_minutes(parts["exercises"]))
    return Minutes(round(_seconds(parts["main"]) / 60), round(exercises),
                   round(_seconds(parts["optional"]) / 60))
