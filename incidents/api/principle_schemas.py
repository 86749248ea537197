"""Request and response bodies of the exclusion principles: a maintained, versioned list."""
from __future__ import annotations

from pydantic import ConfigDict, Field

from incidents.api.schemas import (
    Representation,
    RequestBody,
    Text,
    UtcInstant,
    drop_defaults,
    omittable,
)
from incidents.principle.models import ExclusionPrinciple


class PrincipleCreate(RequestBody):
    """A new principle with its first wording."""

    read_only = frozenset({"is_retired", "retired_at", "version", "versions"})

    code: Text = Field(description="3-60 lower-case letters, digits and hyphens.", examples=["force-majeure"])
    wording: Text


class PrinciplePatch(RequestBody):
    """Reword a principle (a new version; decisions keep the wording they cited), retire or reinstate it."""

    model_config = ConfigDict(json_schema_extra=drop_defaults())
    read_only = frozenset({"code", "is_retired", "retired_at", "version", "versions"})

    wording: Text = omittable(description="The new wording: version number + 1, older wordings kept.")
    retired: bool = omittable(description="true retires it (it can no longer be cited); false reinstates it.")


class PrincipleWording(Representation):
    """One wording of a principle."""

    number: int
    wording: str
    created_at: UtcInstant


class Principle(Representation):
    """An exclusion principle with its current wording and every version."""

    code: str
    wording: str = Field(description="The current wording.")
    version: int = Field(description="The current wording's number.")
    is_retired: bool
    retired_at: UtcInstant | None
    versions: list[PrincipleWording] = Field(description="Every wording, oldest first.")


class PrincipleList(Representation):
    """Every principle, live first then retired, by code."""

    items: list[Principle]


def present_principle(principle: ExclusionPrinciple) -> Principle:
    """Represent a principle with every wording it has had."""
    return Principle(code=principle.code, wording=principle.current.wording, version=principle.current.number,
                     is_retired=principle.is_retired, retired_at=principle.retired_at,
                     versions=[PrincipleWording(number=v.number, wording=v.wording, created_at=v.created_at)
                               for v in principle.versions])
