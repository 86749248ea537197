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
    basis: Text = Field(default="", description="What the principle rests on (versioned with the wording).",
                        examples=["Services Force Majeure (SEC Section M3)"])


class PrinciplePatch(RequestBody):
    """Reword a principle (a new version; decisions keep the wording they cited), retire or reinstate it."""

    model_config = ConfigDict(json_schema_extra=drop_defaults())
    read_only = frozenset({"code", "is_retired", "retired_at", "version", "versions"})

    wording: Text = omittable(description="The new wording: version number + 1, older wordings kept.")
    basis: Text = omittable(description="What it rests on; a change makes a new version as a new wording does.")
    retired: bool = omittable(description="true retires it (it can no longer be cited); false reinstates it.")


class PrincipleWording(Representation):
    """One wording of a principle."""

    number: int
    wording: str
    basis: str = Field(description="What this version of the principle rests on ('' when not stated).")
    created_at: UtcInstant


class Principle(Representation):
    """An exclusion principle with its current wording and every version."""

    code: str
    wording: str = Field(description="The current wording.")
    basis: str = Field(description="What the current wording rests on, e.g. a SEC Section ('' when not stated).")
    version: int = Field(description="The current wording's number.")
    is_retired: bool
    retired_at: UtcInstant | None
    versions: list[PrincipleWording] = Field(description="Every wording, oldest first.")


class PrincipleList(Representation):
    """Every principle, live first then retired, by code."""

    items: list[Principle]


def present_principle(principle: ExclusionPrinciple) -> Principle:
    """Represent a principle with every wording it has had."""
    return Principle(code=principle.code, wording=principle.current.wording, basis=principle.current.basis,
                     version=principle.current.number, is_retired=principle.is_retired,
                     retired_at=principle.retired_at,
                     versions=[PrincipleWording(number=v.number, wording=v.wording, basis=v.basis,
                                                created_at=v.created_at)
                               for v in principle.versions])
