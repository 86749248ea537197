"""Meeting pages (placeholder until the full pages land)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("meeting", __name__, url_prefix="/meetings")
