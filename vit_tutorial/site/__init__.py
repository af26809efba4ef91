r"""The course as a website: a book of the executed lessons, built offline with Sphinx.

::

    python -m vit_tutorial.site                    # -> build/site/index.html
    python -m vit_tutorial.site --output OTHER/DIR

The command writes a Sphinx source folder in a temporary directory and runs
``sphinx-build -W -n`` over it, so any warning — a broken link, a missing figure, an unknown
cross-reference — fails the build. Nothing is fetched while building or reading: MyST-NB
renders the notebooks with their stored outputs, MathJax 3 is served from the site itself,
and every page's parts are on the site.

One module per job (a sub-package, like ``exercises/`` and ``explorers/``):

- ``build``: the command, :func:`build` and :func:`pages_of`;
- ``sources``: the Sphinx source folder and its ``conf.py``;
- ``pages``: the landing page (from :data:`vit_tutorial.lessons.LESSONS` and the measured
  minutes), the notation page and the teachers' page (sections of the README);
- ``notation``: the paper's symbols, plain text to TeX and back;
- ``extension``: the Sphinx extension (folded solutions, the phone-sized pipeline picture,
  formulas as text for search, local badges, links to files off the site);
- ``nodes``: the document nodes the extension adds (folded solution, picture, formula text);
- ``search``: each page's text, for the search excerpts;
- ``static/``: the site's stylesheet and search scripts.

The site is published at :func:`site_url`, derived from
:data:`vit_tutorial.course.REPOSITORY`.
"""

from __future__ import annotations

from vit_tutorial.site.build import build, main, pages_of
from vit_tutorial.site.pages import TEACHERS_HEADING, TEACHERS_NOTE, split_readme
from vit_tutorial.site.sources import DEFAULT_OUTPUT, site_url, write_sources

__all__ = ["DEFAULT_OUTPUT", "TEACHERS_HEADING", "TEACHERS_NOTE", "site_url", "split_readme",
           "write_sources", "build", "pages_of", "setup", "main"]


def setup(app) -> dict:
    """Sphinx extension entry point (``vit_tutorial.site`` in ``extensions``)."""
    from vit_tutorial.site.extension import setup as setup_extension

    return setup_extension(app)
