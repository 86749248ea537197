"""Request and response bodies of the meetings register (OPSG_97 ...); the meeting service keeps every rule."""
from __future__ import annotations

from datetime import date

from pydantic import Field

from incidents.api.schemas import Day, Representation, RequestBody, Text
from incidents.meeting.models import Meeting as MeetingRow
from incidents.meeting.models import MeetingKind


class MeetingInput(RequestBody):
    """A meeting entered in the register, ahead of it or after it."""

    reference: Text = Field(description="The meeting's reference, e.g. OPSG_97 (unique).", examples=["OPSG_97"])
    held_on: Day = Field(description="The day it is (or was) held, YYYY-MM-DD.")
    kind: MeetingKind = Field(default=MeetingKind.MAIN, description="A main or a reporting meeting.")


class Meeting(Representation):
    """A meeting in the register."""

    reference: str
    group: str
    number: int
    held_on: date
    kind: MeetingKind
    pack_url: str = Field(description="The meeting's pack: the reviews waiting for (or decided at) it.")


class MeetingList(Representation):
    """The meetings in the register, latest first."""

    items: list[Meeting]


def present_meeting(meeting: MeetingRow, pack_url: str) -> Meeting:
    """Represent a meeting of the register."""
    return Meeting(reference=meeting.reference, group=meeting.group, number=meeting.number, held_on=meeting.held_on,
                   kind=meeting.kind, pack_url=pack_url)
