"""The search page: one box, the best matches the person may open, matched words highlighted."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from incidents.errors import ValidationError
from incidents.search import service as search_service

bp = Blueprint("search", __name__)

Html = str | tuple[str, int]


@bp.route("/search")
@login_required
def index() -> Html:
    """Show the search box and, when a query was sent, what it found."""
    q = request.args.get("q")
    if q is None:
        return render_template("search/search.html", q="", results=None, errors={},
                               published_only=_published_only())
    try:
        results = search_service.search(q, viewer=current_user, limit=request.args.get("limit"))
    except ValidationError as exc:
        return render_template("search/search.html", q=q, results=None, errors=exc.errors,
                               published_only=_published_only()), 400
    return render_template("search/search.html", q=results.query, results=results, errors={},
                           published_only=_published_only())


def _published_only() -> bool:
    return search_service.visible_kinds(current_user) == ["publication"]
