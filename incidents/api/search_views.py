"""JSON API v1, full-text search: the same function and the same visibility as the search page."""
from __future__ import annotations

from flask import Response

from incidents.api import auth, openapi, protocol
from incidents.api import search_schemas as schemas
from incidents.search import service as search_service


def search() -> Response:
    """Search the record (or, for a SEC Party, the published reports); best first."""
    args = protocol.query_args(openapi.SEARCH_QUERY, numeric=("limit",))
    results = search_service.search(args.get("q", ""), viewer=auth.current_user(), limit=args.get("limit"))
    return protocol.respond(schemas.SearchResults(
        query=results.query, items=[schemas.present_hit(hit) for hit in results.hits]))
