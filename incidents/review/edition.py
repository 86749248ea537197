"""A published edition, wholly frozen: the snapshot taken when a report is published, and what parties read of it.

Every surface a SEC Party sees (the published page and its PDF, the chart, the
``/published`` list, their dashboard and the published API) reads a
publication's own columns and its snapshot, never the live incident, so a
title, timeline or cohort changed after publication does not reach them. A
correction is a new version through the same agreement, published as a new
edition that names the one it supersedes.
"""
from __future__ import annotations

import copy
from typing import Any

from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.redaction import service as redaction_service
from incidents.report.markdown import render
from incidents.report.models import ReportVersion
from incidents.review.models import Publication


def take_snapshot(publication: Publication, *, incident: Incident, version: ReportVersion,
                  previous: Publication | None) -> None:
    """Freeze into the publication everything parties will read of it: the agreed version as it was agreed."""
    # The version froze its generated sections (facts, timeline, cohorts, PMR treatment) when it was
    # submitted: that is the text the Operations Group agreed, so it is what is published. Nothing is
    # flushed while reading it: the publication is not complete until this returns.
    with db.session.no_autoflush:
        generated = copy.deepcopy(version.generated or {})
        text = dict(version.sections or {})
        number = version.number
        # The passages the group's decision covered are withheld here, before anything is stored: the edition
        # parties read never holds them.
        text, generated = redaction_service.apply(version, text, generated)
        title = redaction_service.apply(version, {"title": incident.title}, {})[0]["title"]
    facts = generated.setdefault("facts", {})
    facts.setdefault("reference", incident.reference)
    facts.setdefault("title", title)
    publication.reference = str(facts["reference"])
    publication.title = str(facts["title"])
    publication.version_number = number
    publication.supersedes_version = previous.version_number if previous is not None else None
    publication.supersedes_published_at = previous.published_at if previous is not None else None
    publication.snapshot = {"sections": text, "generated": generated}


def sections(publication: Publication) -> dict[str, str]:
    """Return the published narrative sections, as Markdown."""
    return dict((publication.snapshot or {}).get("sections") or {})


def sections_html(publication: Publication, keys: list[str]) -> dict[str, str]:
    """Return the published narrative sections as sanitised HTML (the app's own renderer and sanitiser)."""
    text = sections(publication)
    return {key: str(render(text.get(key))) for key in keys}


def generated(publication: Publication) -> dict[str, Any]:
    """Return the published generated sections (facts, timeline, cohorts, PMR treatment) as stored."""
    return dict((publication.snapshot or {}).get("generated") or {})
