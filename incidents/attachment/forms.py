"""Forms for attachments: the upload (a plain file input; a small script adds drag and drop) and deletion."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField


class UploadForm(FlaskForm):
    """Upload one file as evidence on the thing named by ``target`` ('incident', 'report_version:2' ...)."""

    target = HiddenField()
    file = FileField("File")


class DeleteForm(FlaskForm):
    """Delete one attachment (the form carries only its CSRF token)."""
