"""Response bodies of attachments (the upload itself is multipart/form-data, described in the OpenAPI document)."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field

from incidents.api.schemas import Representation
from incidents.attachment.models import Attachment as AttachmentRow


class Attachment(Representation):
    """A file kept with the record, and what it hangs on."""

    id: int
    filename: str = Field(description="The file's name as kept (no folders or control characters).")
    media_type: str = Field(description="The type found from the file's content.")
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="SHA-256 of the file, hex: kept, and in the audit trail after deletion.")
    target: str = Field(description="What it hangs on: incident, timeline_entry:<id>, exclusion_proposal:<round> "
                                    "or report_version:<number>.")
    is_frozen: bool = Field(description="True when it is fixed with a submitted version or an answered proposal.")
    uploaded_at: datetime
    uploaded_by: str
    download_url: str


class AttachmentList(Representation):
    """The incident's attachments, oldest first."""

    items: list[Attachment]


def present_attachment(row: AttachmentRow, *, target: str, is_frozen: bool, download_url: str) -> Attachment:
    """Represent an attachment."""
    return Attachment(id=row.id, filename=row.filename, media_type=row.media_type, size=row.size, sha256=row.sha256,
                      target=target, is_frozen=is_frozen, uploaded_at=row.uploaded_at,
                      uploaded_by=row.uploaded_by_name, download_url=download_url)
