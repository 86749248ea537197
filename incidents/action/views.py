"""Actions register pages (placeholder until the full pages land)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("action", __name__, url_prefix="/actions")
