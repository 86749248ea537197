"""The upload form of an ITSM export; the import service holds every rule."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField

from incidents.review.forms import ServiceErrors


class ImportForm(ServiceErrors, FlaskForm):
    """A CSV or JSON export, an optional mapping of its column names, and whether to try it first."""

    required = ("file",)

    file = FileField("Export (CSV or JSON)", description="Up to 2 MB here; larger files through the command line.")
    mapping = FileField("Column mapping (optional, JSON)",
                        description="For another export's column names, e.g. {\"Number\": \"reference\"}.")
    dry_run = BooleanField("Dry run: show what would happen, change nothing", default=True)
