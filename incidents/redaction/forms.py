"""Forms for withheld passages: mark one (passage and reason) and stop withholding one."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField


class MarkForm(FlaskForm):
    """A passage of the version waiting for the group to withhold from SEC Parties, and the reason they read."""

    passage = TextAreaField("Passage to withhold", description="Copy it exactly as the report has it; it is "
                            "withheld wherever it appears in the version.")
    reason = StringField("Reason parties will read", description='Shown to SEC Parties as "[withheld: reason]", '
                         "for example: commercially confidential supplier name.")


class RemoveForm(FlaskForm):
    """Stop withholding one passage (the form carries only its CSRF token)."""
