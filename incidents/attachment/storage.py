"""Where attachment bytes are kept: one small interface, the database by default, S3-compatible storage as an option.

``ATTACHMENT_STORAGE`` chooses: ``database`` (default: a backup of the database holds every file, and every web
host sees them) or ``s3`` (an S3-compatible bucket, set by ``ATTACHMENT_S3``; needs the ``s3`` extra, boto3).
An attachment records which storage holds it, so changing the setting leaves older files readable.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

from flask import current_app

from incidents.attachment.models import Attachment, AttachmentContent
from incidents.errors import ConflictError, ServiceError
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
            raise ConflictError(f"The stored copy of {attachment.filename} is missing from the database, so the file "
                                "cannot be downloaded. Ask an administrator to restore it from a backup.")
        return bytes(content.data)

    def delete(self, attachment: Attachment) -> None:
        """Remove the bytes with the attachment (the row cascades)."""
        content = db.session.get(AttachmentContent, attachment.id)
        if content is not None:
            db.session.delete(content)


class StorageUnavailable(ServiceError):
    """The attachment store could not be reached or refused the request; nothing was changed."""

    status = 503
    title = "Attachment storage unavailable"


# What each operation says happened when the store fails: nothing changed, in the reader's terms.
_OUTCOME = {"put": "nothing was stored", "get": "the file cannot be downloaded now",
            "delete": "nothing was deleted"}


class S3Storage:
    """Bytes in an S3-compatible bucket, one object per attachment, keyed by its id and SHA-256.

    Every failure of the store (no such bucket, refused credentials, an endpoint that does not answer) becomes a
    ``StorageUnavailable`` that names the setting to check, and says that nothing was changed: the upload's row is
    only flushed, so the request's rollback leaves neither row nor object; a deletion keeps both.
    """

    name = "s3"

    def __init__(self, settings: dict[str, Any]) -> None:
        try:
            import boto3  # an optional extra: pip install 'incidents[s3]'
            from botocore.config import Config
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError("ATTACHMENT_STORAGE is 's3' but boto3 is not installed: "
                               "pip install 'incidents[s3]'.") from exc
        if not settings.get("bucket"):
            raise RuntimeError("ATTACHMENT_STORAGE is 's3': set ATTACHMENT_S3 with at least a 'bucket'.")
        self.bucket = str(settings["bucket"])
        self.prefix = str(settings.get("prefix", "attachments/"))
        self.endpoint = str(settings.get("endpoint_url") or "the S3 service")
        # Bounded waits: an endpoint that does not answer is reported in seconds, not after minutes of retries.
        config = Config(connect_timeout=float(settings.get("connect_timeout", 5)),
                        read_timeout=float(settings.get("read_timeout", 30)),
                        retries={"mode": "standard", "total_max_attempts": int(settings.get("max_attempts", 3))},
                        s3={"addressing_style": str(settings.get("addressing_style", "auto"))})
        self.client = boto3.client(
            "s3", endpoint_url=settings.get("endpoint_url"), region_name=settings.get("region"),
            aws_access_key_id=settings.get("access_key_id"), aws_secret_access_key=settings.get("secret_access_key"),
            config=config)

    def _key(self, attachment: Attachment) -> str:
        return f"{self.prefix}{attachment.id}-{attachment.sha256}"

    def put(self, attachment: Attachment, data: bytes) -> None:
        """Upload the object; the attachment row notes its key."""
        attachment.storage_key = self._key(attachment)
        with self._failures("put", attachment):
            self.client.put_object(Bucket=self.bucket, Key=attachment.storage_key, Body=data,
                                   ContentType="application/octet-stream")

    def get(self, attachment: Attachment) -> bytes:
        """Download the object."""
        with self._failures("get", attachment):
            answer = self.client.get_object(Bucket=self.bucket, Key=attachment.storage_key or self._key(attachment))
            return bytes(answer["Body"].read())

    def delete(self, attachment: Attachment) -> None:
        """Delete the object."""
        with self._failures("delete", attachment):
            self.client.delete_object(Bucket=self.bucket, Key=attachment.storage_key or self._key(attachment))

    @contextlib.contextmanager
    def _failures(self, operation: str, attachment: Attachment) -> Iterator[None]:
        """Turn the store's errors into one that says what went wrong, what to check, and that nothing changed."""
        from botocore.exceptions import BotoCoreError, ClientError

        outcome = _OUTCOME[operation]
        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            current_app.logger.error("Attachment storage %s of %s failed: %s", operation, attachment.id, exc)
            if code == "NoSuchBucket":
                raise StorageUnavailable(
                    f"The attachment store has no bucket named '{self.bucket}', so {outcome}. An administrator "
                    "must create the bucket or correct 'bucket' in ATTACHMENT_S3.") from None
            if code in ("NoSuchKey", "404"):
                raise ConflictError(
                    f"The stored copy of {attachment.filename} is missing from the attachment store, so {outcome}. "
                    "Ask an administrator to restore it from a backup.") from None
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
                raise StorageUnavailable(
                    f"The attachment store refused the credentials in ATTACHMENT_S3 ({code}), so {outcome}. An "
                    "administrator must correct 'access_key_id' and 'secret_access_key'.") from None
            raise StorageUnavailable(
                f"The attachment store answered with an error ({code or 'unknown'}), so {outcome}. "
                "Try again shortly; if it persists, ask an administrator.") from None
        except BotoCoreError as exc:
            current_app.logger.error("Attachment storage %s of %s failed: %s", operation, attachment.id, exc)
            raise StorageUnavailable(
                f"The attachment store at {self.endpoint} is not answering, so {outcome}. Try again shortly; if it "
                "persists, an administrator must check 'endpoint_url' in ATTACHMENT_S3.") from None


def configured() -> Storage:
    """Return the storage new attachments go to (``ATTACHMENT_STORAGE``)."""
    return by_name(str(current_app.config["ATTACHMENT_STORAGE"]))


def by_name(name: str) -> Storage:
    """Return the storage called ``name`` (an attachment's ``storage``)."""
    if name == "database":
        return DatabaseStorage()
    if name == "s3":
        # One client per app and settings (boto3 builds a client in tens of milliseconds; it is safe across threads).
        settings = dict(current_app.config.get("ATTACHMENT_S3") or {})
        key = repr(sorted(settings.items()))
        held = current_app.extensions.get("attachment_s3")
        if held is None or held[0] != key:
            held = (key, S3Storage(settings))
            current_app.extensions["attachment_s3"] = held
        return held[1]
    raise RuntimeError(f"ATTACHMENT_STORAGE must be 'database' or 's3'; it is {name!r}.")
