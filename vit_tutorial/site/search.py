"""The text of every page, for the search page's excerpts (``_static/search-texts.js``).

Sphinx's search finds pages from its index and, to show an excerpt, fetches each page's
HTML and cuts text from its main block: with this theme that block starts with the buttons
and the page's table of contents, its formulas are raw TeX, and a page opened from disk may
not fetch another at all. So the site turns Sphinx's excerpts off
(``html_show_search_summary = False``) and writes, once per build, what a reader would call
each page's text: titles, prose, tables, formulas as plain text
(:func:`vit_tutorial.site.notation.to_text`), code and printed outputs, each block with the
section it belongs to — but not what is folded away (the solutions) or never shown.
``static/search.js`` picks the excerpt from it, and ``static/search-scorer.js`` ranks the
results (Sphinx's ``html_search_scorer``): a page whose title holds the query first.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes

from vit_tutorial.site.nodes import math_text
from vit_tutorial.site.notation import to_text

__all__ = ["TEXTS_FILE", "PROSE", "CODE", "OUTPUT", "page_text", "write_texts"]

TEXTS_FILE = "search-texts.js"  # in _static/; sets window.VIT_SEARCH_TEXTS
PROSE, CODE, OUTPUT = "p", "c", "o"  # the kinds of block, in the order excerpts prefer them
_SKIPPED = (nodes.comment, nodes.raw, nodes.image, nodes.system_message, nodes.target,
            nodes.substitution_definition)


def _inline_text(node) -> str:
    """A block's text as read: formulas as plain text, hidden parts left out."""
    if isinstance(node, nodes.Text):
        return node.astext()
    if isinstance(node, (nodes.math, nodes.math_block)):  # not indexed as TeX; read as text
        return to_text(node.astext())
    if isinstance(node, _SKIPPED) or "no-search" in node.get("classes", []):
        return ""
    if isinstance(node, math_text):
        return ""  # the formula beside it says it already
    return "".join(_inline_text(child) for child in node.children)


def _kind(node) -> str:
    if not isinstance(node, nodes.literal_block):
        return PROSE
    for parent in _parents(node):
        if "cell_output" in parent.get("classes", []):
            return OUTPUT
    return CODE


def _parents(node):
    while node.parent is not None:
        node = node.parent
        yield node


def page_text(doctree) -> dict:
    """A page's text: its title, its sections (id -> [title, parent id]) and its blocks
    ([section id, kind, text] in page order)."""
    from sphinx import addnodes

    sections: dict[str, list[str]] = {}
    blocks: list[list[str]] = []
    title = ""

    def walk(node, section: str) -> None:
        nonlocal title
        if isinstance(node, (*_SKIPPED, addnodes.toctree)) or (
                isinstance(node, nodes.Element) and "no-search" in node["classes"]
                and not isinstance(node, nodes.math_block)):
            return
        if isinstance(node, nodes.section):
            name = node["ids"][0] if node["ids"] else section
            heading = " ".join(_inline_text(node[0]).split()) if node.children else ""
            if not title:
                title, name = heading, ""
            elif name != section:
                sections[name] = [heading, section]
            for child in node.children[1:]:
                walk(child, name)
            return
        if isinstance(node, (nodes.TextElement, nodes.math_block)) and not isinstance(
                node, nodes.Inline):
            text = _inline_text(node)
            text = text if isinstance(node, nodes.literal_block) else " ".join(text.split())
            if text.strip():
                blocks.append([section, _kind(node), text.strip("\n")])
            return
        for child in node.children:
            walk(child, section)

    walk(doctree, "")
    return {"title": title, "sections": sections, "blocks": blocks}


def write_texts(app, exception) -> None:
    """``build-finished``: write every page's text into ``_static/search-texts.js``."""
    if exception is not None or app.builder.format != "html":
        return
    texts = {docname: page_text(app.env.get_doctree(docname))
             for docname in sorted(app.env.found_docs)}
    script = ("// Written by `python -m vit_tutorial.site`: each page's text, for search "
              "excerpts.\nwindow.VIT_SEARCH_TEXTS = "
              + json.dumps(texts, ensure_ascii=False, separators=(",", ":")) + ";\n")
    (Path(app.outdir) / "_static" / TEXTS_FILE).write_text(script, encoding="utf-8")
