"""Render user-written Markdown safely: no raw HTML, then an allow-list sanitiser; and keep it small enough to draw.

A PDF takes time per box it lays out: a Review Report of five sections each
holding thousands of list items, or one 150-row by 60-column table, took
WeasyPrint half a minute or more. So stored Markdown has limits (``Limits``,
from configuration), checked when it is saved (``check``): its characters,
its parts (paragraphs, headings, list items, table cells, emphasis, links...), each
table's rows and columns, and how deep lists and quotes nest. ``make bench``
times the PDF of a report at every limit at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# Raw HTML is off in the parser; nh3 then keeps only these tags and attributes,
# so no script, style, iframe or event handler can survive either step.
ALLOWED_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h3", "h4", "h5",
                "h6", "hr", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


# Tokens that open one box of the drawn document each (a table row's cells are counted by the cell), blocks and
# the formatting within them (emphasis, code, links and line breaks each cost as much to lay out as a list item).
_PARTS = {"paragraph_open", "heading_open", "list_item_open", "th_open", "td_open", "fence", "code_block", "hr"}
_INLINE_PARTS = {"em_open", "strong_open", "code_inline", "link_open", "hardbreak", "image"}
PARTS_TEXT = "paragraphs, headings, list items, table cells, code, emphasis, links and line breaks"
_NESTING = {"bullet_list_open": 1, "ordered_list_open": 1, "blockquote_open": 1,
            "bullet_list_close": -1, "ordered_list_close": -1, "blockquote_close": -1}


@dataclass(frozen=True)
class Limits:
    """The most a stored Markdown text may hold."""

    characters: int
    parts: int
    table_rows: int
    table_columns: int
    nesting: int

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        """Read the limits from the app's configuration."""
        return cls(characters=int(config["MAX_TEXT_LENGTH"]), parts=int(config["MARKDOWN_MAX_PARTS"]),
                   table_rows=int(config["MARKDOWN_MAX_TABLE_ROWS"]),
                   table_columns=int(config["MARKDOWN_MAX_TABLE_COLUMNS"]),
                   nesting=int(config["MARKDOWN_MAX_NESTING"]))

    def describe(self) -> str:
        """State the limits for people (the form and the API schema say them)."""
        return (f"Markdown of at most {self.characters} characters and {self.parts} parts ({PARTS_TEXT}); "
                f"tables of at most {self.table_rows} rows under the header and {self.table_columns} columns; "
                f"lists and quotes nested at most {self.nesting} deep.")


def check_sections(sections: dict[str, str], labels: list[tuple[str, str]],
                   limits: Limits) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Return the named sections as stored (plain line ends, trimmed) and what to fix in each, by ``sections.key``."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    for key, label in labels:
        value = sections.get(key, "").replace("\r\n", "\n").strip()
        if "\x00" in value:
            errors[f"sections.{key}"] = [f"{label} contains a null character; remove it."]
        elif problems := check(value, limits):
            # Refused here, not when drawn: a PDF of it would keep every reader waiting (parties included).
            errors[f"sections.{key}"] = [f"{label} {problem}" for problem in problems]
        clean[key] = value
    return clean, errors


def check(text: str, limits: Limits) -> list[str]:
    """Return what in ``text`` goes past ``limits``: one message a limit, naming it, to follow the field's name."""
    if len(text) > limits.characters:
        return [f"has {len(text)} characters; the limit is {limits.characters} characters. Shorten it."]
    parts = depth = deepest = rows = longest = cells = widest = 0
    for token in _parser().parse(text):
        kind = token.type
        if kind in _PARTS and not token.hidden:  # a tight list item's paragraph is no box of its own
            parts += 1
        elif kind == "inline":
            parts += sum(1 for child in token.children or () if child.type in _INLINE_PARTS)
        depth += _NESTING.get(kind, 0)
        deepest = max(deepest, depth)
        if kind == "tbody_open":
            rows = 0
        elif kind == "tr_open":
            cells = 0
        elif kind == "td_open":  # body cells: the header row's are th
            cells += 1
            widest = max(widest, cells)
            if cells == 1:  # a new body row
                rows += 1
                longest = max(longest, rows)
        elif kind == "th_open":
            cells += 1
            widest = max(widest, cells)
    problems = []
    if parts > limits.parts:
        problems.append(f"has {parts} parts ({PARTS_TEXT}); the limit is {limits.parts} parts. Shorten it.")
    if longest > limits.table_rows:
        problems.append(f"has a table of {longest} rows under its header; the limit is {limits.table_rows} rows.")
    if widest > limits.table_columns:
        problems.append(f"has a table of {widest} columns; the limit is {limits.table_columns} columns.")
    if deepest > limits.nesting:
        problems.append(f"nests lists or quotes {deepest} deep; the limit is {limits.nesting} levels.")
    return problems


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
