"""Response bodies of the monthly Performance Measurement Report measures (CPM4, CPM5) and the months as reported."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from incidents.api.schemas import Representation, UtcInstant

Status = Literal["met", "below_target", "below_minimum", "no_incidents"]
ExclusionStateName = Literal["not_proposed", "included", "pending", "information_requested", "agreed", "disagreed"]
STATE_DESCRIPTION = ("Where the incident's exclusion stands in the review. The DCC's figure leaves the incident out "
                     "while it is pending, information_requested or agreed; the agreed figure only when agreed.")


class PmrIncident(Representation):
    """An incident in a measure's scope and how the PMR treats it."""

    reference: str
    title: str
    category: int
    resolved_at: UtcInstant
    resolution_minutes: int
    within_target: bool = Field(description="Resolved within its Target Resolution Time.")
    treatment: Literal["counted", "excluded", "exclusion_pending"] = Field(
        description="In the agreed figure: excluded (SECAS agreed), exclusion_pending (excluded by the DCC, under "
                    "SECAS's review: counted until SECAS agrees) or counted.")
    exclusion_state: ExclusionStateName = Field(description=STATE_DESCRIPTION)
    excluded_by_dcc: bool = Field(description="Left out of the DCC's figure (percent_with_dcc_exclusions).")


class PmrFigures(Representation):
    """One measure's three figures for one month, with the counts behind each."""

    label: str
    categories: list[int]
    total: int = Field(description="Every incident in scope, no exclusion applied.")
    total_within_target: int = Field(description="Of those, resolved within their TRT.")
    percent_without_exclusions: float | None = Field(
        description="total_within_target / total, %; no exclusion applied; null with no incidents.")
    dcc_counted: int = Field(description="Incidents counted once the DCC's exclusions are left out.")
    dcc_within_target: int = Field(description="Of those, resolved within their TRT.")
    dcc_excluded: int = Field(description="Incidents the DCC excluded that SECAS has not disagreed with (exclusion "
                                          "pending, information requested or agreed).")
    percent_with_dcc_exclusions: float | None = Field(
        description="dcc_within_target / dcc_counted, %: the figure the DCC reports; null with none counted.")
    status_with_dcc_exclusions: Status = Field(description="The DCC's figure against the service levels.")
    counted: int = Field(description="Incidents counted once agreed exclusions are left out.")
    within_target: int = Field(description="Counted incidents resolved within their TRT.")
    excluded: int = Field(description="Incidents left out: SECAS agreed their exclusion.")
    pending_exclusion: int = Field(description="Incidents the DCC excluded whose exclusion SECAS is still reviewing "
                                               "(pending or information requested): counted in the agreed figure.")
    percent_with_exclusions: float | None = Field(
        description="within_target / counted, %: only the exclusions SECAS agreed; null with none counted.")
    target_percent: float = Field(description="Target Service Level, %.")
    minimum_percent: float = Field(description="Minimum Service Level, %.")
    status: Status = Field(description="The agreed figure against the service levels.")


class PmrMeasure(PmrFigures):
    """One measure for one month: its three figures and its incidents."""

    incidents: list[PmrIncident] = Field(description="In order of resolution.")


class PmrMonth(Representation):
    """The PMR measures for incidents resolved in one UK calendar month."""

    month: str = Field(examples=["2023-04"])
    measures: dict[str, PmrMeasure] = Field(description="Keyed by measure code, e.g. CPM4 and CPM5.")


class PmrRecordedIncident(Representation):
    """An incident's line as the month was reported."""

    reference: str
    title: str
    category: int
    within_target: bool
    exclusion_state: ExclusionStateName = Field(description=STATE_DESCRIPTION)
    excluded_by_dcc: bool


class PmrRecordedMeasure(PmrFigures):
    """One measure as it was reported, frozen when recorded."""

    incidents: list[PmrRecordedIncident]


class PmrRecording(Representation):
    """One recording of a month's figures as reported."""

    recorded_at: UtcInstant
    recorded_by: str = Field(description="Who recorded it (an email address, or 'system' from the command line).")
    measures: dict[str, PmrRecordedMeasure]


class PmrChange(Representation):
    """One thing about an incident that differs today from the latest recording."""

    reference: str
    title: str
    kind: Literal["logged_late", "added", "removed", "exclusion", "within_target"] = Field(
        description="logged_late: logged after the recording; added / removed: entered or left the measure "
                    "(resolution, Category or responsibility changed); exclusion: its exclusion moved (e.g. SECAS "
                    "disagreed); within_target: its resolution moved across the TRT.")
    text: str


class PmrRecordingList(Representation):
    """Every recording of a month as reported, latest first, and what changed since the latest."""

    month: str = Field(examples=["2023-04"])
    recordings: list[PmrRecording] = Field(description="Latest first; empty when the month was never recorded.")
    changes_since_latest: dict[str, list[PmrChange]] = Field(
        description="Per measure code, what differs today from the latest recording; empty with no recording.")
