"""The Sphinx extension that makes the lesson pages: what MyST-NB renders, plus the course's
parts (``extensions = [..., "vit_tutorial.site"]`` in the written ``conf.py``).

When a page is read (``doctree-read``, before Sphinx collects its pictures):

- the remote "Open in Colab" badge becomes the site's own picture of it;
- every formula gets a :class:`math_text` node beside it: the formula as plain text
  (:func:`vit_tutorial.site.notation.to_text`), which the search index holds instead of TeX
  and the page never shows;
- under each exercise, a folded :class:`solution` (``<details>``, "Show a solution") holds
  the solutions edition's answer and what its checker says — read from ``solutions/`` by
  cell id, so the notebook files stay the exercises edition;
- the pipeline picture (the cell ``vit_tutorial: pipeline``) becomes a :class:`picture`:
  the narrow drawing ``images/pipeline_NN_narrow.png`` on a phone;
- every other figure gets its pixel size, so that Sphinx links it to the full-size file,
  and a wide one (several panels) a class: on a phone it keeps half its size and scrolls;
- a short table cell keeps to one line (a wide table scrolls in its box instead).

Before links are resolved, a MyST link to a repository file that is not on the site (a test
file, a folder) is pointed at GitHub. The search excerpts are written at the end
(:mod:`vit_tutorial.site.search`).
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from docutils import nodes

from vit_tutorial.course import BRANCH, COLAB_BADGE, REPOSITORY
from vit_tutorial.ipynb import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    HIDDEN_TESTS,
    cell_source,
    read_notebook,
)
from vit_tutorial.lessons import LESSONS
from vit_tutorial.site.nodes import math_text, picture, solution
from vit_tutorial.site.notation import to_text
from vit_tutorial.site.search import TEXTS_FILE, write_texts
from vit_tutorial.site.sources import BADGE_FILE, NARROW_MEDIA, PIPELINE_DIR, png_size

__all__ = ["math_text", "solution", "picture", "solution_code", "setup"]

SHORT_CELL = 20  # characters: a table cell this short is not wrapped
WIDE_FIGURE = 1000  # pixels: a figure this wide (several panels) scrolls on a phone
_SOLUTION_MARKERS = (BEGIN_SOLUTION, END_SOLUTION)


def solution_code(source: str) -> str:
    """A solution cell's source as a learner should see it: without nbgrader's markers (and
    without any hidden tests)."""
    kept, hidden = [], False
    for line in source.split("\n"):
        if HIDDEN_TESTS[0] in line:
            hidden = True
        elif HIDDEN_TESTS[1] in line:
            hidden = False
        elif not hidden and not any(marker in line for marker in _SOLUTION_MARKERS):
            kept.append(line)
    return "\n".join(kept).strip("\n")


def _stream_text(cell: dict) -> str:
    return "".join(cell_source({"source": out.get("text", "")}) for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream").strip("\n")


def _local_badges(doctree) -> None:
    """Show the site's own badge picture where a page has the remote Colab badge."""
    for image in doctree.findall(nodes.image):
        if image["uri"] == COLAB_BADGE:
            image["uri"] = f"/{BADGE_FILE}"  # "/..." = from the source folder's root
            image["classes"].append("colab-badge")


def _readable_math(doctree) -> None:
    """Beside each formula, its plain text for the search index; the TeX is not indexed."""
    for node in list(doctree.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block)))):
        if any(isinstance(parent, nodes.title) for parent in _ancestors(node)):
            continue  # a title's words are its own, and its TeX is short
        node["classes"].append("no-search")
        node.parent.insert(node.parent.index(node) + 1, math_text("", to_text(node.astext())))


def _table_cells(doctree) -> None:
    """Short table cells (a number with its range, a shape) keep to one line, so a wide
    table scrolls in its box rather than break every number over three lines."""
    for entry in doctree.findall(nodes.entry):
        if len(entry.astext()) <= SHORT_CELL:
            entry["classes"].append("vit-nowrap")


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


def _cells(doctree):
    return [node for node in doctree.findall(nodes.container)
            if node.get("nb_element") == "cell_code"]


def _add_solutions(doctree, exercises: dict, solutions: dict, docname: str, warn) -> None:
    """Under each exercise cell, its answer from the solutions edition (same cell id)."""
    answers = {cell.get("id"): cell for cell in solutions["cells"]}
    for container in _cells(doctree):
        cell = exercises["cells"][container["cell_index"]]
        if "exercise" not in cell.get("metadata", {}).get("tags", []):
            continue
        answer = answers.get(cell.get("id"))
        if answer is None:
            warn(f"{docname}: exercise cell {cell.get('id')!r} is not in the solutions "
                 f"edition; run `python -m vit_tutorial.editions --write`")
            continue
        if not any(marker in cell_source(answer) for marker in _SOLUTION_MARKERS):
            continue  # an exercise cell without an answer of its own (e.g. its checker)
        folded = solution(classes=["vit-solution", "no-search"])
        code = solution_code(cell_source(answer))  # rawsource = text: Sphinx highlights it
        folded += nodes.literal_block(code, code, language="ipython3",
                                      classes=["vit-solution-code"])
        said = _stream_text(answer)
        if said:
            folded += nodes.paragraph(text="What the checker says to it:",
                                      classes=["vit-solution-says"])
            folded += nodes.literal_block(said, said, language="none")
        container.parent.insert(container.parent.index(container) + 1, folded)


def _pipeline_picture(doctree, srcdir: Path, docname: str, number: int, warn) -> None:
    """The pipeline cell's picture, with its narrow drawing for small screens."""
    for container in _cells(doctree):
        if container.get("cell_metadata", {}).get("vit_tutorial") != "pipeline":
            continue
        narrow = f"pipeline_{number:02d}_narrow.png"
        path = srcdir / PIPELINE_DIR / narrow
        if not path.is_file():
            warn(f"{docname}: no images/{narrow} for the phone-sized pipeline picture; run "
                 f"`python -m vit_tutorial.diagram --write`")
            return
        for image in list(container.findall(nodes.image)):
            width, height = png_size(path)
            wrapper = picture(classes=["vit-pipeline"], media=NARROW_MEDIA,
                              srcset=posixpath.relpath(f"{PIPELINE_DIR}/{narrow}",
                                                       posixpath.dirname(docname)),
                              width=width // 2, height=height // 2)
            image["classes"].append("no-scaled-link")  # <img> stays <picture>'s child
            image.replace_self(wrapper)
            wrapper += image


def _figure_sizes(doctree, srcdir: Path) -> None:
    """Each output figure's pixel size, so Sphinx links it to its full-size file."""
    for container in _cells(doctree):
        for image in container.findall(nodes.image):
            if "width" in image or isinstance(image.parent, picture):
                continue
            # Sphinx reads "/x" from the source folder: MyST-NB's files are "/../jupyter_execute/…"
            path = (srcdir / image["uri"].lstrip("/")).resolve()
            if path.suffix == ".png" and path.is_file():
                width, height = png_size(path)
                image["width"], image["height"] = str(width), str(height)
                if width > WIDE_FIGURE:
                    image["classes"].append("vit-wide-figure")


def _on_doctree_read(app, doctree) -> None:
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    docname = app.env.docname
    _local_badges(doctree)
    _readable_math(doctree)
    _table_cells(doctree)
    lesson = next((x for x in LESSONS if f"notebooks/{x.name}" == docname), None)
    if lesson is None:
        return
    srcdir, root = Path(app.srcdir), Path(app.config.vit_site_root)
    exercises = read_notebook(srcdir / f"{docname}.ipynb")
    solutions_path = root / "solutions" / f"{lesson.name}.ipynb"
    if not solutions_path.is_file():
        logger.warning(f"{docname}: no {solutions_path}; its solutions are not shown")
    else:
        solutions = read_notebook(solutions_path)
        _add_solutions(doctree, exercises, solutions, docname, logger.warning)
    _pipeline_picture(doctree, srcdir, docname, lesson.number, logger.warning)
    _figure_sizes(doctree, srcdir)


def _repository_link(root: Path, xref, docname: str):
    """A link to GitHub for a MyST link to a repository file that is not on the site
    (``tests/…``, ``.ci/run``, a folder), or None to let MyST resolve (or report) it."""
    if xref.get("reftype") != "myst" or xref.get("refdomain"):
        return None
    path, _, anchor = xref["reftarget"].partition("#")
    if not path or "://" in path or path.startswith("/"):
        return None
    repo_path = posixpath.normpath(posixpath.join(posixpath.dirname(docname), path))
    if repo_path.startswith("..") or not (root / repo_path).exists():
        return None
    kind = "tree" if (root / repo_path).is_dir() else "blob"
    url = f"https://github.com/{REPOSITORY}/{kind}/{BRANCH}/{repo_path}"
    link = nodes.reference("", "", refuri=url + (f"#{anchor}" if anchor else ""))
    link += xref.children
    return link


# ----- how the course's nodes look in HTML


def _skip(self, node) -> None:
    raise nodes.SkipNode


def _visit_solution(self, node) -> None:
    self.body.append(self.starttag(node, "details", CLASS="vit-solution"))
    self.body.append('<summary>Show a solution</summary>\n')


def _depart_solution(self, node) -> None:
    self.body.append("</details>\n")


def _visit_picture(self, node) -> None:
    self.body.append(f'<picture class="vit-pipeline"><source media="{self.attval(node["media"])}"'
                     f' srcset="{self.attval(node["srcset"])}" width="{node["width"]}"'
                     f' height="{node["height"]}">')


def _depart_picture(self, node) -> None:
    self.body.append("</picture>")


def _on_page_context(app, pagename, templatename, context, doctree) -> None:
    """The search page gets the course's excerpts and the script that shows them."""
    if pagename == "search":
        app.add_js_file(TEXTS_FILE)
        app.add_js_file("search.js")


def setup(app) -> dict:
    """Sphinx extension: the course's pages (see the module's docstring)."""
    from sphinx.transforms.post_transforms import SphinxPostTransform

    html = {"html": (_skip, None)}
    app.add_node(math_text, **html)
    app.add_node(solution, html=(_visit_solution, _depart_solution))
    app.add_node(picture, html=(_visit_picture, _depart_picture))

    class RepositoryLinks(SphinxPostTransform):
        default_priority = 8  # before MyST's resolver (9) reports the link as missing

        def run(self, **kwargs) -> None:
            from sphinx import addnodes

            root = Path(self.config.vit_site_root)
            for xref in list(self.document.findall(addnodes.pending_xref)):
                link = _repository_link(root, xref, xref.get("refdoc", self.env.docname))
                if link is not None:
                    xref.replace_self(link)

    app.add_config_value("vit_site_root", "", "env")
    # Before Sphinx's image collector (priority 500) reads the pictures a page needs.
    app.connect("doctree-read", _on_doctree_read, priority=400)
    app.connect("html-page-context", _on_page_context)
    app.connect("build-finished", write_texts)
    app.add_post_transform(RepositoryLinks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
