"""Response body of full-text search."""
from __future__ import annotations

from flask import url_for
from pydantic import Field

from incidents.api.schemas import Representation
from incidents.search.service import Hit


class SearchHit(Representation):
    """One match, best first."""

    kind: str = Field(description="incident, timeline, rationale, secas_comment, comment, report, decision, action "
                                  "or publication (a SEC Party finds publications only).")
    label: str = Field(description="What matched, e.g. 'Review Report, version 2'.")
    reference: str = Field(description="The incident's, action's or published report's reference.")
    title: str
    url: str = Field(description="The page that shows it.")
    snippet_html: str = Field(description="The matching passage, HTML-escaped, the matched words in <mark>.")
    rank: float = Field(description="Relevance from the database's engine; higher is better.")


class SearchResults(Representation):
    """The best matches for a query that the caller may open."""

    query: str
    items: list[SearchHit]


def present_hit(hit: Hit) -> SearchHit:
    """Build the representation of one hit."""
    return SearchHit(kind=hit.kind, label=hit.label, reference=hit.reference, title=hit.title,
                     url=url_for(hit.endpoint, **hit.values), snippet_html=str(hit.snippet), rank=hit.rank)
