"""The Sphinx source folder of the site, written into a temporary folder on every build.

- ``index.md``: the landing page (:func:`vit_tutorial.site.landing_page`), with the
  hidden tables of contents that make the sidebar: the lessons in course order with their
  measured minutes, the notation page, the teachers' page;
- ``notation.md`` and ``teachers.md``: sections of the README (``pages.py``);
- ``notebooks/``: every lesson of :data:`vit_tutorial.lessons.LESSONS`, exercises edition, as
  committed (executed, never run again here — strict nbval checks their outputs); the
  extension adds the solutions edition's answers to the pages, not to these files, so
  "Download .ipynb" gives the exercises;
- ``images/``: the repository's pictures; ``_static/pipeline/``: the pipeline pictures that
  pages show as ``<picture>`` (the narrow drawing on a phone);
- ``_static/``: the course's stylesheet and search script (``vit_tutorial/site/static/``),
  MathJax 3 (from the ``django-static-mathjax`` package) and the local Colab badge;
- ``conf.py``: Sphinx's settings, :func:`conf`.
"""

from __future__ import annotations

import importlib.util
import json
import pprint
import shutil
import struct
from pathlib import Path

from vit_tutorial.course import BRANCH, REPOSITORY, lesson_minutes
from vit_tutorial.ipynb import cell_source, read_notebook
from vit_tutorial.lessons import LESSONS
from vit_tutorial.site.notation import with_math
from vit_tutorial.site.pages import (
    PIPELINE_ALT,
    landing_page,
    lesson_entry,
    notation_page,
    teachers_page,
)

__all__ = ["DEFAULT_OUTPUT", "MATHJAX_DIR", "BADGE_FILE", "PIPELINE_DIR", "STATIC", "SCORER",
           "NARROW_MEDIA", "site_url", "conf", "picture_html", "png_size", "write_sources"]

DEFAULT_OUTPUT = Path("build") / "site"
MATHJAX_DIR = "_static/mathjax"  # tex-chtml-full.js and its fonts
MATHJAX_SCRIPT = "tex-chtml-full.js"  # every TeX extension built in: nothing loaded later
MATHJAX_FONTS = "output/chtml/fonts/woff-v2"
BADGE_FILE = "_course/colab-badge.svg"  # the local picture of the "Open in Colab" badge
PIPELINE_DIR = "_static/pipeline"  # images/pipeline*.png, for <picture> elements
STATIC = Path(__file__).resolve().parent / "static"  # the course's CSS and JavaScript
SCORER = "_course/search-scorer.js"  # html_search_scorer: Sphinx inlines it
NARROW_MEDIA = "(max-width: 640px)"  # where a page shows the narrow pipeline picture

# A flat "Open in Colab" badge drawn for the site, so that a page makes no outside request.
BADGE_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20" role="img"
     aria-label="Open in Colab">
<title>Open in Colab</title>
<clipPath id="r"><rect width="117" height="20" rx="3"/></clipPath>
<g clip-path="url(#r)">
<rect width="117" height="20" fill="#555"/>
<rect x="70" width="47" height="20" fill="#b35900"/>
<circle cx="11" cy="10" r="5" fill="none" stroke="#f9ab00" stroke-width="2.5"/>
<circle cx="18" cy="10" r="5" fill="none" stroke="#f9ab00" stroke-width="2.5"/>
</g>
<g fill="#fff" font-family="Verdana,DejaVu Sans,Liberation Sans,sans-serif" font-size="11">
<text x="27" y="14">Open in</text>
<text x="75" y="14">Colab</text>
</g>
</svg>
"""

# The link under every page to report a problem with it (sphinx-book-theme's article footer).
ISSUE_TEMPLATE = """\
<p class="vit-issue">Something unclear or wrong on this page?
<a href="https://github.com/{{ repository }}/issues/new?title={{ ('On the page ' + pagename)
|urlencode }}">Open an issue on GitHub</a>.</p>
"""


def site_url(repository: str = REPOSITORY) -> str:
    """Where GitHub Pages serves the site of ``repository`` ("owner/name")."""
    owner, name = repository.split("/")
    if name.lower() == f"{owner.lower()}.github.io":  # a user or organisation site
        return f"https://{name.lower()}/"
    return f"https://{owner.lower()}.github.io/{name}/"


def _mathjax_es5() -> Path:
    """The folder of MathJax 3's browser build inside the ``django-static-mathjax`` package."""
    spec = importlib.util.find_spec("mathjax")
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "static" / "mathjax" / "es5"
        if (folder / MATHJAX_SCRIPT).is_file():
            return folder
    raise SystemExit("MathJax is not installed: the site serves its own copy, from the "
                     "django-static-mathjax package; run .venv/bin/pip install -r "
                     "requirements-dev.txt")


def png_size(path: Path) -> tuple[int, int]:
    """A PNG's width and height in pixels, from its header."""
    with open(path, "rb") as file:
        head = file.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path} is not a PNG file")
    return struct.unpack(">II", head[16:24])


def picture_html(root: Path, wide: str, narrow: str, alt: str, prefix: str = "") -> str:
    """A ``<picture>``: ``narrow`` on small screens, ``wide`` elsewhere (files in
    ``images/``, served from ``PIPELINE_DIR``; both drawn at twice their CSS size)."""
    (w, h), (nw, nh) = (png_size(root / "images" / name) for name in (wide, narrow))
    alt = alt.replace("&", "&amp;").replace('"', "&quot;")
    return (f'<picture class="vit-pipeline"><source media="{NARROW_MEDIA}" '
            f'srcset="{prefix}{PIPELINE_DIR}/{narrow}" width="{nw // 2}" height="{nh // 2}">'
            f'<img src="{prefix}{PIPELINE_DIR}/{wide}" alt="{alt}" width="{w // 2}" '
            f'height="{h // 2}"></picture>')


def _toctree(caption: str, entries: list[str]) -> str:
    return "\n".join(["", "```{toctree}", ":hidden:", f":caption: {caption}", "",
                      *entries, "```", ""])


def conf(root: Path, title: str) -> dict:
    """Sphinx's settings, written into the source folder as its ``conf.py``."""
    return {
        "project": title,
        "html_title": title,
        "author": "the course's authors",
        "copyright": "the course's authors (MIT licence)",
        "extensions": ["myst_nb", "sphinx_design", "sphinx_copybutton", "vit_tutorial.site"],
        "vit_site_root": str(root),
        "language": "en",
        "exclude_patterns": ["_build", "_static", "_course", "_templates", ".venv",
                             "**.ipynb_checkpoints"],
        "templates_path": ["_templates"],
        "myst_enable_extensions": ["dollarmath", "amsmath", "colon_fence"],
        "myst_heading_anchors": 3,  # the README's #section links
        "nb_execution_mode": "off",  # the lessons are committed executed
        # An explorer's output holds a widget view (no saved state: nothing to show on a
        # static page) and its still picture; show the picture.
        "nb_mime_priority_overrides": [
            ["html", "application/vnd.jupyter.widget-view+json", None],
            ["html", "application/vnd.jupyter.widget-state+json", None]],
        "mathjax_path": f"{MATHJAX_DIR.removeprefix('_static/')}/{MATHJAX_SCRIPT}",
        "html_theme": "sphinx_book_theme",
        "html_static_path": ["_static"],
        "html_css_files": ["course.css"],
        "html_baseurl": site_url(),
        "html_sourcelink_suffix": "",  # "Download .ipynb" gives the notebook itself
        "html_use_index": False,  # no index entries: no empty genindex page
        # Excerpts come from the course's own text of each page (static/search.js), which
        # works from disk too, instead of fetching every page's HTML.
        "html_show_search_summary": False,
        "html_context": {"default_mode": "auto"},  # light or dark, as the reader's system
        # The copy button on code cells and solutions, not on outputs.
        "copybutton_selector": ".cell_input div.highlight pre, .vit-solution-code pre, "
                               "div.highlight-bash pre",
        "html_theme_options": {
            "repository_url": f"https://github.com/{REPOSITORY}",
            "repository_branch": BRANCH,
            "path_to_docs": "",  # notebooks/NAME.ipynb on the site is notebooks/ in the repo
            "use_repository_button": True,
            "use_issues_button": True,
            "use_download_button": True,
            "launch_buttons": {"colab_url": "https://colab.research.google.com"},
            "home_page_in_toc": True,
            "show_toc_level": 2,
            "navigation_with_keys": False,
            # One search box (the sidebar's): no second one in a header bar.
            "navbar_persistent": [],
            "article_footer_items": ["vit-issue.html"],
        },
    }


def _site_notebook(path: Path) -> str:
    """A lesson as the site shows it: as committed, but its card's symbols (``x_class``,
    written plain by :func:`vit_tutorial.course.lesson_card`) as math."""
    nb = read_notebook(path)
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("vit_tutorial") == "card":
            cell["source"] = with_math(cell_source(cell))
    return json.dumps(nb, ensure_ascii=False, indent=1)


def _copy_pictures(root: Path, source: Path) -> None:
    if (root / "images").is_dir():
        shutil.copytree(root / "images", source / "images")
        (source / PIPELINE_DIR).mkdir(parents=True)
        for picture in (root / "images").glob("pipeline*.png"):
            shutil.copyfile(picture, source / PIPELINE_DIR / picture.name)


def _copy_mathjax(source: Path) -> None:
    es5 = _mathjax_es5()
    mathjax = source / MATHJAX_DIR
    mathjax.mkdir(parents=True)
    shutil.copyfile(es5 / MATHJAX_SCRIPT, mathjax / MATHJAX_SCRIPT)
    shutil.copytree(es5 / MATHJAX_FONTS, mathjax / MATHJAX_FONTS)
    licence = es5.parent / "LICENSE"
    if licence.is_file():
        shutil.copyfile(licence, mathjax / "LICENSE")


def write_sources(root: Path, source: Path) -> None:
    """Write the Sphinx source folder for the repository at ``root`` into ``source``."""
    root, source = Path(root).resolve(), Path(source)
    readme_path = root / "README.md"
    if not readme_path.is_file():
        raise SystemExit(f"no README.md in {root}: run this from the repository's root "
                         f"(or pass --root)")
    readme = readme_path.read_text(encoding="utf-8")
    title = next((line[2:].strip() for line in readme.splitlines() if line.startswith("# ")),
                 REPOSITORY)
    minutes = lesson_minutes(root)
    (source / "notebooks").mkdir(parents=True)
    for lesson in LESSONS:
        notebook = root / "notebooks" / f"{lesson.name}.ipynb"
        if not notebook.is_file():
            raise SystemExit(f"lesson {lesson.name} is listed in vit_tutorial/course.py "
                             f"(the lesson registry) but {notebook} does not exist")
        (source / "notebooks" / notebook.name).write_text(_site_notebook(notebook),
                                                          encoding="utf-8")
    _copy_pictures(root, source)
    toctrees = (_toctree("Lessons", [lesson_entry(lesson, minutes.get(lesson.name))
                                     for lesson in LESSONS])
                + _toctree("Reference", ["notation"]) + _toctree("For teachers", ["teachers"]))
    picture = picture_html(root, "pipeline.png", "pipeline_narrow.png", PIPELINE_ALT)
    (source / "index.md").write_text(
        landing_page(title, readme, minutes, picture, toctrees), encoding="utf-8")
    (source / "notation.md").write_text(notation_page(readme), encoding="utf-8")
    (source / "teachers.md").write_text(teachers_page(readme), encoding="utf-8")
    _copy_mathjax(source)
    for item in STATIC.iterdir():
        if item.name == Path(SCORER).name:
            (source / SCORER).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item, source / SCORER)
        elif item.is_file():
            shutil.copyfile(item, source / "_static" / item.name)
    (source / BADGE_FILE).parent.mkdir(parents=True, exist_ok=True)
    (source / BADGE_FILE).write_text(BADGE_SVG, encoding="utf-8")
    (source / "_templates").mkdir()
    (source / "_templates" / "vit-issue.html").write_text(
        ISSUE_TEMPLATE.replace("{{ repository }}", REPOSITORY), encoding="utf-8")
    settings = conf(root, title)
    # Titles first (static/search-scorer.js); Sphinx opens it from the working folder.
    settings["html_search_scorer"] = str((source / SCORER).resolve())
    lines = ["# Written by `python -m vit_tutorial.site`; rebuilt on every run.", ""]
    lines += [f"{key} = {pprint.pformat(value, width=92, sort_dicts=False)}"
              for key, value in settings.items()]
    (source / "conf.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
