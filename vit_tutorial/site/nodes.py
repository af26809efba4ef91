"""The site's own document nodes: what the extension adds to a page (:mod:`.extension`),
and the search texts read (:mod:`.search`)."""

from docutils import nodes

__all__ = ["math_text", "solution", "picture"]


class math_text(nodes.Inline, nodes.TextElement):  # noqa: N801 - docutils' node names
    """A formula as plain text: indexed for search, never shown."""


class solution(nodes.General, nodes.Element):  # noqa: N801
    """A folded solution under an exercise (``<details>``)."""


class picture(nodes.General, nodes.Element):  # noqa: N801
    """An image with a narrow version for small screens (``<picture>``)."""
