r"""The course's lesson registry: every lesson declared once, and everything else reads it.

A :class:`Lesson` says what the lesson is called and teaches (its card and the README's
tables), where its code lives (its module, its figures module, its exercises' checkers and
their points, its explorer), where that code sits among the package's floors, which step of
the pipeline picture it lights, and which results and checkpoints it loads. The faces that
build on a lesson — the generated cells and README tables (:mod:`vit_tutorial.course`), the
two editions (:mod:`vit_tutorial.editions`), the pipeline pictures (:mod:`vit_tutorial.diagram`),
the checkers (:mod:`vit_tutorial.exercises`), the explorers (:mod:`vit_tutorial.explorers`),
the website, the classroom commands — and the tests (``tests/test_architecture.py``,
``tests/test_lessons.py``) all read :data:`LESSONS`; CONTRIBUTING.md's "Adding a lesson"
lists the files a new entry asks for.

The file names follow from the entry: lesson ``NN_name`` is ``solutions/NN_name.ipynb`` (the
source) and ``notebooks/NN_name.ipynb``; its module ``m`` is ``vit_tutorial/m.py`` (or the
package ``vit_tutorial/m/``), tested by ``tests/test_m.py``; its figures ``m_figures.py``, its
checkers ``exercises/m.py`` (``tests/test_m_exercises.py``), its explorer ``explorers/m.py``
(``tests/test_m_explorer.py``).

This module imports nothing from the package, so that every floor may read it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SOURCE", "EXERCISES", "EDITIONS", "FLOORS", "STAGES", "Highlight", "Lesson",
           "LESSONS", "lesson_named"]

#: The folder of the source edition (solutions), and of the one made from it (exercises).
SOURCE, EXERCISES = "solutions", "notebooks"
#: Folder -> edition. ``solutions`` is the source; ``notebooks`` is made from it.
EDITIONS = {EXERCISES: "exercises", SOURCE: "solutions"}

#: Where a lesson's modules sit among the package's floors (CONTRIBUTING.md, "Floors"): on
#: the lesson floor (below the model, which composes them), with the model, or above it.
FLOORS = ("lessons", "model", "after the model")

#: The stages of the pipeline picture, in the order the data flows through them.
STAGES = ("image", "patches", "flatten", "projection", "embeddings", "class_token",
          "position", "encoder", "output", "head")


@dataclass(frozen=True)
class Highlight:
    """A lesson's step in the pipeline picture: stages in colour, a caption, and notes.

    Attributes:
        name: the step's key (``diagram.HIGHLIGHTS``), e.g. ``"class_token"``.
        caption: the picture's title for it.
        stages: the :data:`STAGES` drawn in colour.
        notes: ``(stage, text)`` callouts; ``$...$`` is matplotlib's math, ``\n`` a break.
        part: ``"E_pos"`` or ``"MSA"``: only that part of its stage in colour.
    """

    name: str
    caption: str
    stages: tuple[str, ...]
    notes: tuple[tuple[str, str], ...] = ()
    part: str | None = None


@dataclass(frozen=True)
class Lesson:
    """One lesson, declared once (see the module's docstring for the files it names)."""

    name: str  # "NN_name": the notebook in both editions
    title: str
    learn: str  # what you learn, one line for the README's table
    assumes: str  # what a reader should know first
    outcome: str  # what a reader can do after it
    module: str  # its module (or package) in vit_tutorial/: names its tests, checkers, explorer
    step: Highlight  # what it lights in the pipeline picture
    exercises: tuple[tuple[str, int], ...]  # (checker, points in a graded class), in order
    api: tuple[tuple[str, tuple[str, ...]], ...]  # (module, names): the README's import block
    floor: str = "lessons"  # one of FLOORS
    modules: tuple[str, ...] = ()  # all its modules in import order, if more than ``module``
    figures: bool = False  # draws its figures with ``<module>_figures.py``
    explorer: bool = False  # has ``explorers/<module>.py``
    results: tuple[str, ...] = ()  # files of vit_tutorial/results/ it loads (without .json)
    checkpoints: tuple[str, ...] = ()  # files of vit_tutorial/checkpoints/ (without .pt)

    @property
    def number(self) -> int:
        return int(self.name[:2])

    @property
    def points(self) -> dict[str, int]:
        """Each checker and its points, in the order the exercises appear."""
        return dict(self.exercises)

    @property
    def figures_module(self) -> str | None:
        return f"{self.module}_figures" if self.figures else None

    @property
    def floor_modules(self) -> tuple[str, ...]:
        """Its modules in import order, its figures module last."""
        figures = (self.figures_module,) if self.figures else ()
        return (*(self.modules or (self.module,)), *figures)


def _answers(exercise: str) -> str:
    return f"check_{exercise}_answers"


_PYTORCH = "a little PyTorch (tensors, shapes, `reshape`)"
_POSITION = "position"
LESSONS = (
    Lesson(
        "01_patches", "Patches",
        "cut a photo into N = HW/P² flattened patches, x ∈ ℝ^{H×W×C} → x_p ∈ ℝ^{N×(P²·C)}",
        _PYTORCH,
        "compute N, cut an image into (C, P, P)-ordered patch vectors and put it back "
        "together",
        module="patches",
        step=Highlight("patches", "cut the image into patches", ("image", "patches", "flatten")),
        exercises=((_answers("num_patches"), 1), ("check_image_to_patches", 3)),
        api=(("patches", ("image_to_patches", "patches_to_image", "num_patches")),),
        figures=True, explorer=True),
    Lesson(
        "02_patch_embeddings", "Patch embeddings",
        "Eq. 1's projection x_p E as flatten + Linear and as Conv2d — the same function; what "
        "the paper's *hybrid* model really is",
        f"lesson 01, {_PYTORCH} and `nn.Linear`",
        "write x_p E as flatten + Linear and as Conv2d, prove they are equal, and say what the "
        "hybrid model is",
        module="patch_embedding",
        step=Highlight("embedding", "patch embeddings: the linear projection E",
                       ("flatten", "projection", "embeddings")),
        exercises=((_answers("patch_embedding"), 1), ("check_linear_from_conv", 3)),
        api=(("patch_embedding", ("PatchEmbedding", "LinearPatchEmbedding")),),
        figures=True, explorer=True),
    Lesson(
        "03_class_token", "The class token",
        "prepend the learnable x_class: (196, 768) → (197, 768); expand vs repeat; its gradient "
        "and initialisation",
        "lessons 01–02",
        "prepend x_class at position 0, broadcast it with `expand`, and show that it learns",
        module="class_token",
        step=Highlight("class_token", "prepend the class token", ("class_token",)),
        exercises=((_answers("class_token"), 1), ("check_prepend_class_token", 2)),
        api=(("class_token", ("ClassToken", "prepend_class_token")),),
        figures=True),
    Lesson(
        "04_positional_embeddings", "Position embeddings",
        "why E_pos exists (shuffle the patches: without it nothing changes); learned 1-D vs "
        "2-D sine–cosine; Table 8's ablation measured in miniature",
        "lessons 01–03",
        "show that without E_pos the encoder ignores patch order, add learned or sine–cosine "
        "E_pos, and read Table 8",
        module="positional_embedding",
        step=Highlight(_POSITION, "add the position embeddings", (_POSITION,)),
        exercises=((_answers("pos_embed"), 1), ("check_shuffle_patches", 2),
                   ("check_permutation_invariance", 2)),
        api=(("positional_embedding", ("PositionalEmbedding", "sincos_2d_pos_embed")),),
        figures=True, results=("ablation",), checkpoints=("tiny_vit_digits",)),
    Lesson(
        "05_position_similarity", "What the position embeddings learn",
        "Figure 7 (centre) reproduced on a ViT trained on real digits: neighbouring patches "
        "get similar embeddings, shown as a picture and a score",
        "lesson 04",
        "compute and read Figure 7's position-similarity tiles and a locality score",
        module="similarity",
        step=Highlight("similarity", "what the position embeddings learn", (_POSITION,), (
            (_POSITION, "what it learns: near patches,\nsimilar E$_{pos}$ (Fig. 7)"),),
            "E_pos"),
        exercises=((_answers("similarity"), 1), ("check_position_similarity", 2),
                   ("check_locality_score", 3)),
        api=(("similarity", ("position_similarity", "locality_score")),),
        figures=True, explorer=True, checkpoints=("tiny_vit_digits",)),
    Lesson(
        "06_interpolation", "Interpolating position embeddings",
        "Sec. 3.2: resize E_pos for a new resolution (7×7 → 14×14, 197 → 577 tokens); why "
        "torchvision, timm and the original code disagree; the measured payoff",
        "lessons 04–05",
        "resize E_pos to a new grid with the class token kept aside, and explain why the "
        "libraries' numbers differ",
        module="interpolation",
        step=Highlight("interpolation", "position embeddings at a new resolution",
                       (_POSITION,), (
            (_POSITION, "at 384 × 384: 577 tokens,\nE$_{pos}$ resized 14×14 → 24×24"),),
            "E_pos"),
        exercises=((_answers("interpolation"), 1), ("check_resize_pos_embed", 3)),
        api=(("interpolation", ("resize_pos_embed",)),),
        figures=True, explorer=True, results=("resolution",),
        checkpoints=("tiny_vit_digits",)),
    Lesson(
        "07_encoder", "The Transformer encoder",
        "Eq. 2–3 by hand: LayerNorm, multi-head self-attention, the GELU MLP, pre-norm residual "
        "blocks stacked into the encoder, and why ViT puts the LayerNorm first",
        "lessons 01–04, and matrix products",
        "write a pre-norm encoder block from its parts, stack blocks into an Encoder, and read "
        "its attention weights",
        module="encoder",
        step=Highlight("encoder", "the pre-norm encoder block (Eq. 2–3)", ("encoder",)),
        exercises=((_answers("encoder"), 1), ("check_encoder_block", 3)),
        api=(("encoder", ("EncoderBlock", "Encoder")),)),
    Lesson(
        "08_model", "The whole Vision Transformer",
        "the lessons assembled (Eq. 1–4); Table 1's sizes counted; our ViT-B/16 loads "
        "torchvision's and timm's weights and gives their logits, at 224 and 384",
        "lessons 01–07",
        "assemble a ViT from its parts, count its parameters, and load torchvision's or timm's "
        "weights into it",
        module="model",
        step=Highlight("model", "the whole Vision Transformer", STAGES),
        exercises=((_answers("vit"), 1), ("check_vit_forward", 4)),
        api=(("model", ("VisionTransformer", "ViTConfig", "vit_b_16", "load_tiny_vit")),
             ("weights", ("from_torchvision", "from_timm"))),
        floor="model", modules=("vision_transformer", "model", "weights"),
        checkpoints=("tiny_vit_digits",)),
    Lesson(
        "09_attention_maps", "What a trained ViT learns",
        "Figure 7's three panels and Figure 6 on the course model: its training loop (placed "
        "digits, masked patch prediction), the filters of E, position similarity, mean "
        "attention distance per head, attention rollout — with numbers over seeds",
        "lessons 05 and 07–08",
        "read a trained ViT's filters, position embeddings and attention heads, compute mean "
        "attention distance and attention rollout, and say what they show over seeds",
        module="attention_maps",
        step=Highlight("attention", "what a trained ViT learns",
                       ("projection", _POSITION, "encoder"), (
            ("projection", "Fig. 7 left: the filters of E"),
            (_POSITION, "Fig. 7 centre:\nE$_{pos}$ similarity"),
            ("encoder", "Fig. 7 right, Fig. 6: where\neach head looks"),), "MSA"),
        exercises=((_answers("attention_map"), 1), ("check_mean_attention_distance", 4)),
        api=(("attention_maps", ("mean_attention_distance", "attention_rollout")),),
        figures=True, results=("course_model", "course_model_training", "course_setups"),
        checkpoints=("tiny_vit_digits", "course_model_digits")),
    Lesson(
        "10_after_the_paper", "After the paper",
        "what became of patches and position embeddings since 2021: FlexiViT's PI-resize "
        "(other patch sizes), 2-D RoPE (no E_pos to resize) and register tokens — built by "
        "hand, matched to timm, measured on digits",
        "lessons 01–08",
        "resize patch-embedding filters so that tokens stay the same, rotate queries and keys "
        "by 2-D RoPE, add register tokens, and read what each one measures",
        module="after_the_paper",
        step=Highlight("after_the_paper", "what changed since the paper",
                       ("projection", "class_token", "encoder"), (
            ("projection", "FlexiViT: E resized for any patch size"),
            ("class_token", "+ register tokens"),
            ("encoder", "2-D RoPE: q, k rotated in every\nMSA, instead of adding E$_{pos}$"),),
            "MSA"),
        exercises=((_answers("after_the_paper"), 1), ("check_pi_resize", 4)),
        api=(("after_the_paper", ("resample_patch_embed", "RoPEEncoderBlock")),),
        floor="after the model", figures=True, results=("flexivit", "rope", "registers"),
        checkpoints=("tiny_vit_digits",)),
    Lesson(
        "11_native_resolution", "Any shape, any size",
        "NaViT's Patch n' Pack and SigLIP 2's NaFlex: each image keeps its aspect ratio under a "
        "token budget, gets E_pos for its own grid, and is batched by padding with a mask or by "
        "packing — built by hand, matched to timm's NaFlexVit, measured on digits",
        "lessons 01–08, and lesson 06's resize of E_pos",
        "cut any image into patches with coordinates under a token budget, give each image its "
        "own (or a factorized) E_pos, pad or pack sequences with the right attention mask, and "
        "load timm's NaFlexVit",
        # On the lesson floor although it comes after lesson 10: the model reads NaFlex
        # batches with it (per-image E_pos, masks).
        module="native_resolution",
        step=Highlight("native_resolution", "any shape, any size",
                       ("image", "patches", "flatten", _POSITION), (
            ("flatten", "N per image: aspect kept, within a token budget"),
            (_POSITION, "E$_{pos}$ resized per image;\npadding masked, or images packed"),)),
        exercises=((_answers("native_resolution"), 1), ("check_factorized_pos_embed", 3),
                   ("check_attention_mask", 3)),
        api=(("native_resolution", ("patchify", "fit_to_budget", "naflex_batch")),),
        figures=True, results=("native",)),
)


def lesson_named(name: str) -> Lesson:
    """The lesson whose notebook is ``name`` (e.g. ``"03_class_token"``).

    Raises:
        ValueError: no lesson has that name; the message lists them.
    """
    for lesson in LESSONS:
        if lesson.name == name:
            return lesson
    raise ValueError(f"no lesson named {name!r}; the lessons are "
                     f"{', '.join(lesson.name for lesson in LESSONS)}")
