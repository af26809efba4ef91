"""ViT, step by step: the Vision Transformer, one idea per lesson, one lesson per module.

Every lesson is declared once, in :data:`vit_tutorial.lessons.LESSONS`: its notebook
(``notebooks/NN_<name>.ipynb``), its module (``vit_tutorial/<module>.py``, tested by
``tests/test_<module>.py``), its figures (``<module>_figures.py``), its checkers
(``exercises/<module>.py``), its explorer (``explorers/<module>.py``), its public names and
its floor. The README's tables and import block are generated from it.

Below the lessons sit small helpers (``checks``, ``ipynb``, ``grid``, ``files``, ...); above
them the faces (``train``, ``exercises``, ``explorers``, ``course``, ``site``, ...).
CONTRIBUTING.md ("Floors") says what may import what; ``tests/test_architecture.py`` checks
it. ``import vit_tutorial`` itself imports nothing.
"""

__version__ = "0.2.0"
