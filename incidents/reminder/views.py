"""Reminder pages: outbox and calendar feed (placeholder until the full pages land)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reminder", __name__)
