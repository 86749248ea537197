"""Checks shared by forms, API schemas and services: text fields, lookup keys, list arguments, KEEP.

Each rule is written here once. Services call these helpers so that a rule a
form or a schema also checks holds for the API, the CLI and the importer too;
a service reports every problem at once in one ``ValidationError``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any, TypeVar

from incidents.errors import ValidationError

T = TypeVar("T")
Errors = dict[str, list[str]]

# PostgreSQL can neither store nor compare text holding a NUL character.
NUL = "\x00"
NUL_MESSAGE = "contains a null character; remove it."


class Keep(Enum):
    """The value of a field a change leaves as it is (distinct from None, which may clear it)."""

    KEEP = "keep"


KEEP = Keep.KEEP


def has_nul(value: str) -> bool:
    """Tell whether text holds a NUL character, which no stored value can."""
    return NUL in value


def is_lookup_key(value: str, limit: int = 255) -> bool:
    """Tell whether a key from a path or query could name a stored row (no NUL, not longer than the column)."""
    return len(value) <= limit and not has_nul(value)


def add(errors: Errors, name: str, message: str) -> None:
    """Add one message to a field's list of problems."""
    errors.setdefault(name, []).append(message)


def check_text(errors: Errors, name: str, value: Any, *, limit: int, required: bool = False,
               label: str | None = None) -> str:
    """Return the text stripped, adding to ``errors`` when it is not text, missing, too long or holds a NUL."""
    label = label or name.replace("_", " ").capitalize()
    if value is None:
        value = ""
    if not isinstance(value, str):
        add(errors, name, f"{label} must be text.")
        return ""
    text = value.strip()
    if has_nul(text):
        add(errors, name, f"{label} {NUL_MESSAGE}")
    if required and not text:
        add(errors, name, f"{label} is required.")
    if len(text) > limit:
        add(errors, name, f"{label} can be at most {limit} characters (it has {len(text)}).")
    return text


def refuse_nul(value: str) -> str:
    """Refuse a NUL character (a pydantic or WTForms validator's check); return the value unchanged."""
    if has_nul(value):
        raise ValueError("remove the null character")
    return value


def read_args(args: Mapping[str, Any], *parsers: Callable[[Mapping[str, Any]], Any],
              detail: str = "Some query parameters need fixing.") -> tuple[Any, ...]:
    """Run each parser on the query arguments and return their results, or raise every problem at once."""
    errors: Errors = {}
    results: list[Any] = []
    for parse in parsers:
        try:
            results.append(parse(args))
        except ValidationError as exc:
            errors.update(exc.errors)
            results.append(None)
    if errors:
        raise ValidationError(errors, detail)
    return tuple(results)


def kept_args(args: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    """Return the list arguments given (non-blank), for links that keep a list's filters."""
    return {name: args[name] for name in names if (args.get(name) or "").strip()}
