"""The course's pipeline pictures: up to date with their code, one per lesson, readable."""

import io
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from vit_tutorial import diagram, lessons

ROOT = Path(__file__).resolve().parents[1]


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def test_committed_pictures_are_up_to_date():
    """Each PNG in images/ carries the fingerprint of the code that drew it."""
    stale = diagram.out_of_date(ROOT)
    assert stale == [], f"{stale}: run `python -m vit_tutorial.diagram --write`"


def test_a_changed_source_makes_every_picture_out_of_date(tmp_path, monkeypatch):
    """Plant a change in (a copy of) diagram.py: the committed pictures no longer match."""
    shutil.copytree(ROOT / "images", tmp_path / "images")
    assert diagram.out_of_date(tmp_path) == []
    changed = tmp_path / "diagram.py"
    changed.write_text(Path(diagram.__file__).read_text(encoding="utf-8").replace(
        "FONT = 10.5", "FONT = 11.0"), encoding="utf-8")
    monkeypatch.setattr(diagram, "__file__", str(changed))
    stale = diagram.out_of_date(tmp_path)
    assert len(stale) == 2 * (len(diagram.STEPS) + 1)  # wide and narrow
    assert "images/pipeline.png" in stale and "images/pipeline_narrow.png" in stale


def test_fingerprint_depends_on_the_highlight_layout_and_the_step_table(monkeypatch):
    prints = {diagram.fingerprint(key, layout) for key in [None, *diagram.HIGHLIGHTS]
              for layout in diagram.LAYOUTS}
    assert len(prints) == 2 * (len(diagram.HIGHLIGHTS) + 1)
    before = diagram.fingerprint("patches")
    monkeypatch.setitem(diagram.STEPS, 1, "embedding")
    assert diagram.fingerprint("patches") != before


def test_every_lesson_has_a_picture():
    numbers = {int(lesson.name.split("_")[0]) for lesson in lessons.LESSONS}
    assert numbers <= set(diagram.STEPS), "a lesson of lessons.LESSONS is missing from STEPS"
    assert set(diagram.STEPS.values()) <= set(diagram.HIGHLIGHTS)
    for number in [None, *diagram.STEPS]:
        for layout in diagram.LAYOUTS:
            assert (ROOT / "images" / diagram.picture_name(number, layout)).is_file()
    assert diagram.picture_name(3, "narrow") == "pipeline_03_narrow.png"
    assert diagram.picture_name() == "pipeline.png"


def test_the_picture_shows_the_papers_symbols_and_vit_b16_shapes():
    fig = diagram.draw_pipeline()
    shown = "\n".join(texts(fig))
    for shape in ("224 × 224 × 3", "16 × 16 × 3", "196 × 768", "768 × 768", "197 × 768",
                  "L = 12", "D = 768", r"\mathbf{E}_{pos}", r"\mathbf{x}_{class}",
                  r"\mathrm{LN}(\mathbf{z}_L^0)", "MLP\nhead", "MSA"):
        assert shape in shown, shape
    assert tuple(round(v) for v in fig.get_size_inches() * fig.dpi) == (1760, 980)


@pytest.mark.parametrize("lesson", sorted(diagram.STEPS))
def test_each_lesson_picture_names_its_lesson(lesson):
    fig = diagram.draw_pipeline(diagram.STEPS[lesson])
    assert any(text.startswith(f"Lesson {lesson:02d}") for text in texts(fig))


def test_notes_mark_what_a_step_adds():
    assert any("what it learns" in t for t in texts(diagram.draw_pipeline("similarity")))
    after = "\n".join(texts(diagram.draw_pipeline("after_the_paper")))
    assert "register tokens" in after and "RoPE" in after and "FlexiViT" in after
    native = "\n".join(texts(diagram.draw_pipeline("native_resolution")))
    assert "token budget" in native and "packed" in native


def test_bad_highlights_name_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown highlight 'cls'.*'class_token'"):
        diagram.draw_pipeline("cls")
    with pytest.raises(TypeError, match=r"highlight must be a step name.*got 3"):
        diagram.pipeline_png(3)
    with pytest.raises(TypeError, match="fig must be a matplotlib.figure.Figure"):
        diagram.draw_pipeline(fig="figure")
    with pytest.raises(ValueError, match=r"lesson must be one of the lesson numbers \[1, 2"):
        diagram.show_pipeline(99)
    with pytest.raises(TypeError, match="lesson must be a lesson number"):
        diagram.show_pipeline("3")
    with pytest.raises(ValueError, match=r"layout must be one of \('wide', 'narrow'\)"):
        diagram.draw_pipeline(layout="tall")


def test_draws_into_a_given_figure_without_touching_pyplot():
    before = plt.get_fignums()
    fig = Figure()
    assert diagram.draw_pipeline("encoder", fig=fig) is fig
    diagram.pipeline_png("position")
    assert plt.get_fignums() == before
    source = Path(diagram.__file__).read_text(encoding="utf-8")
    assert "import matplotlib.pyplot" not in source and "import pyplot" not in source


def test_png_metadata_holds_the_fingerprint_and_no_version_or_date():
    with Image.open(io.BytesIO(diagram.pipeline_png("class_token"))) as image:
        assert image.size == (1760, 980)
        assert image.convert("RGBA").getpixel((0, 0))[3] == 0  # transparent corner
        assert min(image.convert("RGBA").getpixel((880, 490))) >= 250  # the white panel
        assert set(image.text) == {"Fingerprint", "Title"}
        assert image.text["Fingerprint"] == diagram.fingerprint("class_token")
        assert image.text["Title"] == "Lesson 03: prepend the class token"


def test_show_pipeline_draws_from_code():
    from IPython.display import Image as IPythonImage

    shown = diagram.show_pipeline(3)
    assert isinstance(shown, IPythonImage)
    assert shown.data == diagram.pipeline_png("class_token")
    assert shown.width == 880  # retina: 1760 px drawn, shown at GitHub's README width


def test_command_checks_writes_and_removes_stale_pictures(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(diagram, "STEPS", {1: "patches", 2: "embedding"})
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "pipeline_09.png").write_bytes(b"old")
    assert diagram.main(["--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "images/pipeline_01.png" in err and "pipeline_09.png (not in STEPS)" in err
    assert diagram.main(["--write", "--root", str(tmp_path)]) == 0
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == [
        "pipeline.png", "pipeline_01.png", "pipeline_01_narrow.png", "pipeline_02.png",
        "pipeline_02_narrow.png", "pipeline_narrow.png"]


def test_command_finds_the_repository_from_the_package_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert diagram.main([]) == 0


def _stage_texts(fig: Figure) -> list[str]:
    """The texts a reader sees in a figure (the narrow layout hides other segments' texts)."""
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


@pytest.mark.parametrize("highlight", [None, *diagram.HIGHLIGHTS])
def test_the_narrow_picture_shows_every_stage_once_for_a_phone(highlight):
    """The same drawing cut into segments stacked for a phone: each label as often as in the
    wide one (once, mostly), the notes too, about 4 inches wide (drawn at 200 dpi, shown at
    half that: a column of 360-390 CSS px shows its text at the wide picture's size)."""
    wide = diagram.draw_pipeline(highlight)
    narrow = diagram.draw_pipeline(highlight, layout="narrow")
    shown = _stage_texts(narrow)
    for text in _stage_texts(wide):
        if text in ("…", "⊕", "LN") or text.startswith(("Lesson", "ViT-B/16")):
            continue  # repeated by design, or the title (wrapped in the narrow one)
        flat = " ".join(text.split())
        count = sum(" ".join(t.split()) == flat for t in _stage_texts(wide))
        assert sum(" ".join(t.split()) == flat for t in shown) == count, (highlight, text)
    width, height = narrow.get_size_inches()
    assert 3.6 <= width <= 4.2 and height > 2 * width
    assert len(narrow.axes) == 1 + len(diagram.SEGMENTS)


@pytest.mark.parametrize("highlight", ["after_the_paper", "interpolation", None])
def test_every_text_of_the_narrow_picture_lies_inside_it(highlight):
    """Notes are wrapped and kept inside the narrow width; the title is wrapped."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = diagram.draw_pipeline(highlight, layout="narrow")
    renderer = FigureCanvasAgg(fig).get_renderer()
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text():
            box = text.get_window_extent(renderer)
            assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1, text.get_text()
            assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1, text.get_text()
