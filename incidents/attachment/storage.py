"""Where attachment bytes are kept: one small interface, the database by default, S3-compatible storage as an option.

``ATTACHMENT_STORAGE`` chooses: ``database`` (default: a backup of the database holds every file, and every web
host sees them) or ``s3`` (an S3-compatible bucket, set by ``ATTACHMENT_S3``; needs the ``s3`` extra, boto3).
An attachment records which storage holds it, so changing the setting leaves older files readable.
"""
from __future__ import annotations

from typing import Any, Protocol

from flask import current_app

from incidents.attachment.models import Attachment, AttachmentContent
from incidents.extensions import db


class Storage(Protocol):
    """Keeps, reads and removes the bytes of attachments."""

    name: str

    def put(self, attachment: Attachment, data: bytes) -> None:
        """Keep the attachment's bytes (the attachment row is flushed and has its id)."""

    def get(self, attachment: Attachment) -> bytes:
        """Return the attachment's bytes."""

    def delete(self, attachment: Attachment) -> None:
        """Remove the attachment's bytes."""


class DatabaseStorage:
    """Bytes in the attachment_content table, written in the same transaction as the attachment."""

    name = "database"

    def put(self, attachment: Attachment, data: bytes) -> None:
        """Keep the bytes in a row of their own, beside the attachment."""
        attachment.content = AttachmentContent(attachment_id=attachment.id, data=data)

    def get(self, attachment: Attachment) -> bytes:
        """Read the bytes back."""
        content = db.session.get(AttachmentContent, attachment.id)
        if content is None:
            raise LookupError(f"The content of attachment {attachment.id} is missing.")
        return bytes(content.data)

    def delete(self, attachment: Attachment) -> None:
        """Remove the bytes with the attachment (the row cascades)."""
        content = db.session.get(AttachmentContent, attachment.id)
        if content is not None:
            db.session.delete(content)


class S3Storage:
    """Bytes in an S3-compatible bucket, one object per attachment, keyed by its id and SHA-256."""

    name = "s3"

    def __init__(self, settings: dict[str, Any]) -> None:
        try:
            import boto3  # an optional extra: pip install 'incidents[s3]'
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError("ATTACHMENT_STORAGE is 's3' but boto3 is not installed: "
                               "pip install 'incidents[s3]'.") from exc
        if not settings.get("bucket"):
            raise RuntimeError("ATTACHMENT_STORAGE is 's3': set ATTACHMENT_S3 with at least a 'bucket'.")
        self.bucket = str(settings["bucket"])
        self.prefix = str(settings.get("prefix", "attachments/"))
        self.client = boto3.client(
            "s3", endpoint_url=settings.get("endpoint_url"), region_name=settings.get("region"),
            aws_access_key_id=settings.get("access_key_id"), aws_secret_access_key=settings.get("secret_access_key"))

    def _key(self, attachment: Attachment) -> str:
        return f"{self.prefix}{attachment.id}-{attachment.sha256}"

    def put(self, attachment: Attachment, data: bytes) -> None:
        """Upload the object; the attachment row notes its key."""
        attachment.storage_key = self._key(attachment)
        self.client.put_object(Bucket=self.bucket, Key=attachment.storage_key, Body=data,
                               ContentType="application/octet-stream")

    def get(self, attachment: Attachment) -> bytes:
        """Download the object."""
        answer = self.client.get_object(Bucket=self.bucket, Key=attachment.storage_key or self._key(attachment))
        return bytes(answer["Body"].read())

    def delete(self, attachment: Attachment) -> None:
        """Delete the object."""
        self.client.delete_object(Bucket=self.bucket, Key=attachment.storage_key or self._key(attachment))


def configured() -> Storage:
    """Return the storage new attachments go to (``ATTACHMENT_STORAGE``)."""
    return by_name(str(current_app.config["ATTACHMENT_STORAGE"]))


def by_name(name: str) -> Storage:
    """Return the storage called ``name`` (an attachment's ``storage``)."""
    if name == "database":
        return DatabaseStorage()
    if name == "s3":
        return S3Storage(dict(current_app.config.get("ATTACHMENT_S3") or {}))
    raise RuntimeError(f"ATTACHMENT_STORAGE must be 'database' or 's3'; it is {name!r}.")
