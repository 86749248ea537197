"""User administration pages (placeholder until the full pages land)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("user", __name__, url_prefix="/admin/users")


@bp.route("/")
def index() -> str:
    """List users."""
    return "users"
