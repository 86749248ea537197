"""Response bodies of the monthly Performance Measurement Report measures (CPM4, CPM5)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from incidents.api.schemas import Representation, UtcInstant


class PmrIncident(Representation):
    """An incident in a measure's scope and how the PMR treats it."""

    reference: str
    title: str
    category: int
    resolved_at: UtcInstant
    resolution_minutes: int
    within_target: bool = Field(description="Resolved within its Target Resolution Time.")
    treatment: Literal["counted", "excluded", "exclusion_pending"]


class PmrMeasure(Representation):
    """One measure for one month, with and without the agreed exclusions."""

    label: str
    categories: list[int]
    counted: int = Field(description="Incidents counted once agreed exclusions are left out.")
    within_target: int = Field(description="Counted incidents resolved within their TRT.")
    excluded: int = Field(description="Incidents left out: SECAS agreed their exclusion.")
    pending_exclusion: int = Field(description="Counted incidents whose exclusion is still under review.")
    total: int = Field(description="Every incident in scope, exclusions included.")
    percent_with_exclusions: float | None = Field(description="within_target / counted, %; null with none counted.")
    percent_without_exclusions: float | None = Field(description="The same with no exclusion applied.")
    target_percent: float = Field(description="Target Service Level, %.")
    minimum_percent: float = Field(description="Minimum Service Level, %.")
    status: Literal["met", "below_target", "below_minimum", "no_incidents"]
    incidents: list[PmrIncident] = Field(description="In order of resolution.")


class PmrMonth(Representation):
    """The PMR measures for incidents resolved in one UK calendar month."""

    month: str = Field(examples=["2023-04"])
    measures: dict[str, PmrMeasure] = Field(description="Keyed by measure code, e.g. CPM4 and CPM5.")
