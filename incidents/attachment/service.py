"""Attachments: upload (type found from the content, size limited, SHA-256 kept), list, read and delete.

Who may see an attachment is who may see its incident (``incident_service.get_incident`` asks
``permissions``); who may add or delete one is who may change the thing it hangs on (``permissions`` for the
incident and its timeline, ``review.workflow`` for the exclusion proposal and the report). An attachment of a
submitted report version is frozen with it, and one of a proposal round SECAS has answered with that round.
Every upload and deletion writes an audit entry naming the file's SHA-256, which stays in the trail after the
file is gone.
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from werkzeug.utils import secure_filename

from incidents import permissions
from incidents.attachment import content, storage
from incidents.attachment.models import Attachment, Target
from incidents.audit import service as audit_service
from incidents.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.incident.models import Incident, TimelineEntry
from incidents.report.models import ReportVersion
from incidents.review import workflow
from incidents.review.models import ExclusionProposal, Review
from incidents.timeutil import utcnow
from incidents.user.models import User

MAX_FILENAME = 200
TARGET_LABELS = {
    Target.INCIDENT: "the incident",
    Target.TIMELINE_ENTRY: "a timeline entry",
    Target.EXCLUSION_PROPOSAL: "an exclusion proposal",
    Target.REPORT_VERSION: "a report version",
}
CHOOSE_TARGET = ("Choose what the file is evidence for: incident, timeline_entry:<id>, exclusion_proposal:<round> "
                 "or report_version:<number>.")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")


@dataclass(frozen=True)
class Limits:
    """The upload limits in force (configuration)."""

    max_bytes: int
    kinds: list[str]

    @property
    def max_label(self) -> str:
        """Say the size limit in people's terms ('20 MB')."""
        return size_label(self.max_bytes)

    @property
    def endings(self) -> str:
        """List the accepted file-name endings."""
        return ", ".join(e for name in self.kinds if name in content.KINDS for e in content.KINDS[name].endings)

    @property
    def accept(self) -> str:
        """Return the file input's ``accept`` attribute (a hint to the browser; the server checks the content)."""
        return ",".join(e for name in self.kinds if name in content.KINDS for e in content.KINDS[name].endings)


@dataclass
class Holder:
    """A thing attachments hang on, as the pages and the API name it."""

    target: Target
    key: int | None  # the entry's id, the proposal's round, the version's number (None for the incident)
    label: str
    item: Any
    attachments: list[Attachment] = field(default_factory=list)
    refusal: workflow.Refusal | None = None  # why the viewer may not add to it now (None: they may)

    @property
    def field_value(self) -> str:
        """Return the form's value naming this holder ('incident', 'report_version:2')."""
        return self.target.value if self.key is None else f"{self.target.value}:{self.key}"


def size_label(size: int) -> str:
    """Say a size in bytes as people read it (decimal units, as the limit is set)."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB".replace(".0 MB", " MB")
    if size >= 1000:
        return f"{size / 1000:.1f} kB".replace(".0 kB", " kB")
    return f"{size} bytes"


def limits() -> Limits:
    """Return the configured size limit and accepted kinds."""
    return Limits(max_bytes=int(current_app.config["ATTACHMENT_MAX_BYTES"]),
                  kinds=list(current_app.config["ATTACHMENT_TYPES"]))


def clean_filename(name: str) -> str:
    """Return the file name as kept and shown: no folders, control characters or surrounding space, bounded."""
    name = unicodedata.normalize("NFC", name or "")
    # Format characters too: a right-to-left override would show "exe.txt" as "txt.exe".
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    name = _UNSAFE.sub(" ", name.replace("\\", "/").rsplit("/", 1)[-1]).strip().lstrip(".")
    if len(name) > MAX_FILENAME:
        stem, end = os.path.splitext(name)
        name = stem[:MAX_FILENAME - len(end[:20])] + end[:20]
    return name


def download_name(attachment: Attachment) -> str:
    """Return a name safe to send in Content-Disposition (ASCII letters, digits, dots, dashes and underscores)."""
    safe = secure_filename(attachment.filename)
    end = content.ending(attachment.filename)
    if not safe or content.ending(safe) != end:
        safe = f"attachment-{attachment.id}{end}"
    return safe


# --- Where an attachment hangs ------------------------------------------------------------------

def _review(incident: Incident) -> Review | None:
    return db.session.scalar(sa.select(Review).where(Review.incident_id == incident.id))


def _role_refusal(target: Target, user: Any) -> str | None:
    if target in (Target.INCIDENT, Target.TIMELINE_ENTRY):
        return None if permissions.can_edit_incidents(user) else "Only the DCC adds evidence to the incident record."
    step = workflow.Step.PROPOSE if target == Target.EXCLUSION_PROPOSAL else workflow.Step.WRITE_REPORT
    refused = workflow.role_refusal(step, user)
    return refused.message if refused is not None else None


def _frozen_refusal(target: Target, item: Any) -> str | None:
    if isinstance(item, ExclusionProposal) and item.reviews:
        return (f"SECAS has answered proposal round {item.round}; its evidence is fixed with it. "
                "Attach new evidence to the next round.")
    if isinstance(item, ReportVersion) and item.is_frozen:
        return (f"Version {item.number} of the report was submitted and is frozen with its attachments; "
                "save a new draft version to attach more.")
    return None


def require_attacher(user: Any) -> None:
    """Raise PermissionDenied unless the user's role may add attachments to at least one kind of thing."""
    if all(_role_refusal(target, user) is not None for target in Target):
        raise PermissionDenied("Only the DCC adds and deletes evidence; you may read and download it.")


def refusal(*, user: Any, target: Target, item: Any) -> workflow.Refusal | None:
    """Return why the user may not add or delete attachments on this thing now (None: they may)."""
    role = _role_refusal(target, user)
    if role is not None:
        return workflow.Refusal(role, is_forbidden=True)
    frozen = _frozen_refusal(target, item)
    return workflow.Refusal(frozen, is_forbidden=False) if frozen is not None else None


def parse_target(text: str | None) -> tuple[Target, int | None]:
    """Read a target as forms and the API name it: 'incident', 'timeline_entry:7', 'report_version:2'."""
    raw = (text or "").strip()
    name, _, key = raw.partition(":")
    try:
        target = Target(name)
    except ValueError:
        raise ValidationError({"target": [CHOOSE_TARGET]}) from None
    if target == Target.INCIDENT:
        if key:
            raise ValidationError({"target": ["'incident' takes no number."]})
        return target, None
    if not (key.isascii() and key.isdigit() and 0 < len(key) <= 9):
        message = f"Name the {target.value.replace('_', ' ')} by its number, as {target.value}:1."
        raise ValidationError({"target": [message]})
    return target, int(key)


def find_target(incident: Incident, target: Target, key: int | None) -> Any:
    """Return the thing named, on this incident, or raise NotFound."""
    if target == Target.INCIDENT:
        return incident
    if target == Target.TIMELINE_ENTRY:
        entry = db.session.get(TimelineEntry, key)
        if entry is not None and entry.incident_id == incident.id:
            return entry
        raise NotFound(f"{incident.reference} has no timeline entry {key}.")
    review = _review(incident)
    if target == Target.EXCLUSION_PROPOSAL:
        for proposal in review.proposals if review else []:
            if proposal.round == key:
                return proposal
        raise NotFound(f"{incident.reference} has no exclusion proposal round {key}.")
    for version in review.report_versions if review else []:
        if version.number == key:
            return version
    raise NotFound(f"{incident.reference} has no report version {key}.")


def _hang(attachment: Attachment, target: Target, item: Any) -> None:
    attachment.target = target
    attachment.timeline_entry_id = item.id if target == Target.TIMELINE_ENTRY else None
    attachment.exclusion_proposal_id = item.id if target == Target.EXCLUSION_PROPOSAL else None
    attachment.report_version_id = item.id if target == Target.REPORT_VERSION else None


def describe(attachment: Attachment) -> str:
    """Say what the attachment hangs on ('timeline entry 7', 'report version 2')."""
    if attachment.target == Target.TIMELINE_ENTRY:
        return f"timeline entry {attachment.timeline_entry_id}"
    if attachment.target == Target.EXCLUSION_PROPOSAL:
        proposal = db.session.get(ExclusionProposal, attachment.exclusion_proposal_id)
        return f"exclusion proposal round {proposal.round if proposal else '?'}"
    if attachment.target == Target.REPORT_VERSION:
        version = db.session.get(ReportVersion, attachment.report_version_id)
        return f"report version {version.number if version else '?'}"
    return "the incident"


def target_name(attachment: Attachment) -> str:
    """Name what the attachment hangs on as forms and the API do ('incident', 'report_version:2')."""
    item = _item(attachment)
    if attachment.target == Target.INCIDENT or item is None:
        return Target.INCIDENT.value
    key = {Target.TIMELINE_ENTRY: "id", Target.EXCLUSION_PROPOSAL: "round", Target.REPORT_VERSION: "number"}
    return f"{attachment.target.value}:{getattr(item, key[attachment.target])}"


def _item(attachment: Attachment) -> Any:
    if attachment.target == Target.TIMELINE_ENTRY:
        return db.session.get(TimelineEntry, attachment.timeline_entry_id)
    if attachment.target == Target.EXCLUSION_PROPOSAL:
        return db.session.get(ExclusionProposal, attachment.exclusion_proposal_id)
    if attachment.target == Target.REPORT_VERSION:
        return db.session.get(ReportVersion, attachment.report_version_id)
    return db.session.get(Incident, attachment.incident_id)


# --- Upload, read, delete -----------------------------------------------------------------------

def check_file(*, filename: str, data: bytes) -> content.Kind:
    """Check a file against the limits: its size, and that its content is an accepted kind its name admits."""
    found = limits()
    if len(data) > found.max_bytes:
        raise ValidationError({"file": [f"The file is {size_label(len(data))}; the limit is {found.max_label}."]},
                              "The file is too large.")
    if not clean_filename(filename):
        raise ValidationError({"file": ["The file has no name; choose a file to upload."]})
    try:
        return content.detect(data, clean_filename(filename), found.kinds)
    except ValueError as exc:
        raise ValidationError({"file": [str(exc)]}, "The file was refused.") from None


def upload(*, incident: Incident, target: Target, key: int | None, filename: str, data: bytes, actor: User,
           now: datetime | None = None) -> Attachment:
    """Keep a file as evidence on the incident or one of its parts; refuse it whole if any check fails."""
    now = now or utcnow()
    item = find_target(incident, target, key)
    refused = refusal(user=actor, target=target, item=item)
    if refused is not None:
        raise refused.error()
    kind = check_file(filename=filename, data=data)
    chosen = storage.configured()
    attachment = Attachment(
        incident_id=incident.id, filename=clean_filename(filename), media_type=kind.media_type, kind=kind.name,
        size=len(data), sha256=hashlib.sha256(data).hexdigest(), storage=chosen.name, uploaded_at=now,
        uploaded_by_id=actor.id, uploaded_by_name=actor.email)
    _hang(attachment, target, item)
    db.session.add(attachment)
    db.session.flush()
    chosen.put(attachment, data)
    db.session.flush()
    audit_service.record(
        actor=actor, action="create", entity_type="attachment", entity_id=attachment.id, incident_id=incident.id,
        changes={"filename": [None, attachment.filename], "sha256": [None, attachment.sha256],
                 "size": [None, attachment.size], "media_type": [None, attachment.media_type],
                 "attached_to": [None, describe(attachment)]},
        summary=f"Attached {attachment.filename} to {describe(attachment)} (SHA-256 {attachment.sha256})", now=now)
    return attachment


def get(incident: Incident, attachment_id: int) -> Attachment:
    """Return an attachment of this incident, or raise NotFound."""
    attachment = db.session.get(Attachment, attachment_id) if 0 < attachment_id < 2**31 else None
    if attachment is None or attachment.incident_id != incident.id:
        raise NotFound(f"{incident.reference} has no attachment {attachment_id}.")
    return attachment


def read(attachment: Attachment) -> bytes:
    """Return the attachment's bytes, checked against the SHA-256 kept when it was uploaded."""
    data = storage.by_name(attachment.storage).get(attachment)
    if hashlib.sha256(data).hexdigest() != attachment.sha256:
        raise ConflictError(f"The stored copy of {attachment.filename} no longer matches its SHA-256; "
                            "it is not served. Ask an administrator to restore it from a backup.")
    return data


def delete(*, incident: Incident, attachment_id: int, actor: User, now: datetime | None = None) -> Attachment:
    """Delete an attachment (not one frozen with its version); the audit trail keeps its name and SHA-256."""
    now = now or utcnow()
    attachment = get(incident, attachment_id)
    refused = refusal(user=actor, target=attachment.target, item=_item(attachment))
    if refused is not None:
        raise refused.error()
    where = describe(attachment)
    audit_service.record(
        actor=actor, action="delete", entity_type="attachment", entity_id=attachment.id, incident_id=incident.id,
        changes={"filename": [attachment.filename, None], "sha256": [attachment.sha256, None],
                 "size": [attachment.size, None], "attached_to": [where, None]},
        summary=f"Deleted {attachment.filename} from {where} (SHA-256 {attachment.sha256})", now=now)
    storage.by_name(attachment.storage).delete(attachment)
    db.session.delete(attachment)
    db.session.flush()
    return attachment


def frozen(attachment: Attachment) -> bool:
    """Tell whether the attachment is fixed with what it hangs on (a submitted version, an answered round)."""
    return _frozen_refusal(attachment.target, _item(attachment)) is not None


def follow_draft(*, previous: ReportVersion | None, version: ReportVersion) -> None:
    """Move a draft's attachments to the draft saved after it: attachments follow the report until it is submitted."""
    if previous is None or previous.is_frozen or previous.id == version.id:
        return
    db.session.execute(sa.update(Attachment).where(Attachment.report_version_id == previous.id)
                       .values(report_version_id=version.id))


# --- Lists --------------------------------------------------------------------------------------

def for_incident(incident: Incident) -> list[Attachment]:
    """Return every attachment of the incident and its parts, oldest first."""
    return list(db.session.scalars(sa.select(Attachment).where(Attachment.incident_id == incident.id)
                                   .order_by(Attachment.id)))


def for_version(version: ReportVersion) -> list[Attachment]:
    """Return the attachments of one report version, oldest first."""
    return list(db.session.scalars(sa.select(Attachment).where(Attachment.report_version_id == version.id)
                                   .order_by(Attachment.id)))


def holders(incident: Incident, *, viewer: Any, describe_entry: Callable[[TimelineEntry], str]) -> list[Holder]:
    """Return everything on the incident that can hold attachments, each with its attachments and the viewer's offer."""
    found = [Holder(Target.INCIDENT, None, f"{incident.reference} (the incident record)", incident)]
    for entry in incident.timeline:
        found.append(Holder(Target.TIMELINE_ENTRY, entry.id, f"Timeline: {describe_entry(entry)}", entry))
    review = _review(incident)
    for proposal in review.proposals if review else []:
        found.append(Holder(Target.EXCLUSION_PROPOSAL, proposal.round,
                            f"Exclusion proposal, round {proposal.round}", proposal))
    for version in review.report_versions if review else []:
        state = "submitted, frozen" if version.is_frozen else "draft"
        found.append(Holder(Target.REPORT_VERSION, version.number,
                            f"Review Report version {version.number} ({state})", version))
    ids = {(h.target, getattr(h.item, "id", None)): h for h in found}
    for holder in found:
        holder.refusal = refusal(user=viewer, target=holder.target, item=holder.item)
    for attachment in for_incident(incident):
        item_id = {Target.INCIDENT: incident.id, Target.TIMELINE_ENTRY: attachment.timeline_entry_id,
                   Target.EXCLUSION_PROPOSAL: attachment.exclusion_proposal_id,
                   Target.REPORT_VERSION: attachment.report_version_id}[attachment.target]
        owner = ids.get((attachment.target, item_id)) or found[0]  # a deleted entry's files stay with the incident
        owner.attachments.append(attachment)
    return found
