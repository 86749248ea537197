"""Incident pages (placeholder until the full pages land)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("incident", __name__, url_prefix="/incidents")


@bp.route("/")
def index() -> str:
    """List incidents."""
    return "incidents"


@bp.route("/new")
def create() -> str:
    """Log an incident."""
    return "new"
