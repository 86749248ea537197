"""Render user-written Markdown safely: no raw HTML, then an allow-list sanitiser."""
from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from markupsafe import Markup

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# Raw HTML is off in the parser; nh3 then keeps only these tags and attributes,
# so no script, style, iframe or event handler can survive either step.
ALLOWED_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h3", "h4", "h5",
                "h6", "hr", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


@cache
def _parser() -> MarkdownIt:
    """Build the CommonMark parser once, on first use (importing it would slow every command's start)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render(text: str | None) -> Markup:
    """Turn Markdown into sanitised HTML."""
    import nh3  # imported here, as the parser is

    if not text:
        return Markup("")
    html = _parser().render(text)
    # Headings written as '#' become h3 and below, under the report's own section headings.
    for level in (2, 1):
        html = html.replace(f"<h{level}>", f"<h{level + 2}>").replace(f"</h{level}>", f"</h{level + 2}>")
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
    return Markup(clean)
