"""Forms for the Review Report pages: the editor and the submit button.

As on the review pages, forms only turn posted text into the values the report
service takes; the service holds the rules and its messages land on the fields.
"""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, SelectField, TextAreaField

from incidents.report import service as report_service
from incidents.report.models import Classification, ReportDraft, ReportVersion
from incidents.review.forms import CLASSIFICATION_NOTES, ServiceErrors, choice

_SECTION_LABELS = dict(report_service.SECTIONS)  # the sections' names live with the report service


class ReportForm(ServiceErrors, FlaskForm):
    """The report's narrative sections (Markdown) and its classification."""

    summary = TextAreaField(_SECTION_LABELS["summary"])
    root_cause = TextAreaField(_SECTION_LABELS["root_cause"])
    impact = TextAreaField(_SECTION_LABELS["impact"])
    lessons_learned = TextAreaField(_SECTION_LABELS["lessons_learned"])
    actions = TextAreaField(_SECTION_LABELS["actions"])
    classification = SelectField("Classification", validate_choice=False, choices=[
        (level.value, f"{level.value}: {CLASSIFICATION_NOTES[level]}") for level in Classification])
    etag = HiddenField()
    # The working draft the editor opened (its revision, or "none"): autosave and saving check it.
    draft = HiddenField()

    def field_for(self, key: str) -> Field | None:
        """Map ``sections.summary`` to the summary field."""
        return super().field_for(key.removeprefix("sections."))

    def sections(self) -> dict[str, str]:
        """Return the narrative sections as the report service takes them."""
        return {key: getattr(self, key).data or "" for key in report_service.SECTION_KEYS}

    def level(self) -> Classification | None:
        """Return the chosen classification: AMBER when none is chosen, None when it is not one."""
        return choice(Classification, self.classification.data or Classification.AMBER.value)

    def section_fields(self) -> list[Field]:
        """Return the section fields in report order."""
        return [getattr(self, key) for key in report_service.SECTION_KEYS]


class SubmitReportForm(FlaskForm):
    """Submit the last saved version; ``etag`` is the version the person saw."""

    etag = HiddenField()


def report_initial(version: ReportVersion | None, etag: str, draft: ReportDraft | None = None) -> dict[str, Any]:
    """Return the editor's starting values: the working draft if there is one, else the latest version."""
    data: dict[str, Any] = {"etag": etag, "classification": Classification.AMBER.value,
                            "draft": report_service.draft_token(draft)}
    source = draft if draft is not None else version
    if source is not None:
        data.update(source.sections)
        data["classification"] = source.classification.value
    return data
