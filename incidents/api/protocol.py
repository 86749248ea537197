"""HTTP details of the JSON API: JSON bodies, query strings, ETags and preconditions, responses."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import pydantic
from flask import Response, current_app, g, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from incidents import validation
from incidents.api import auth
from incidents.api.schemas import TIME_HINT, RequestBody
from incidents.errors import ConflictError, ServiceError, StaleError, ValidationError
from incidents.extensions import db
from incidents.idempotency import service as idempotency_service

Body = TypeVar("Body", bound=RequestBody)
View = TypeVar("View", bound=Callable[..., Response])
BODY_KEY = "body"
_MONTH_RE = re.compile(r"^\s*(\d{4})-(\d{2})\s*$")


class PreconditionRequired(ServiceError):
    """A change was sent without If-Match (RFC 6585)."""

    status = 428
    title = "Precondition required"


# --- Bodies ------------------------------------------------------------------

def parse_body(model: type[Body]) -> Body:
    """Read the JSON body as ``model``, or raise a ValidationError naming each bad field."""
    if not request.is_json:
        raise ValidationError({"Content-Type": ["Send the body as JSON with 'Content-Type: application/json'."]},
                              "The request body must be JSON.")
    try:
        return model.model_validate_json(request.get_data(cache=True))
    except pydantic.ValidationError as exc:
        raise ValidationError(field_errors(exc, model), "The request body needs fixing.") from None


def field_key(loc: Iterable[Any]) -> str:
    """Turn a pydantic location such as ('cohorts', 0, 'restored_at') into 'cohorts[0].restored_at'."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key or BODY_KEY


def _message(item: Any, model: type[RequestBody]) -> str:
    kind, loc, ctx = item["type"], tuple(item["loc"]), item.get("ctx") or {}
    if kind == "json_invalid":
        return f"The body is not valid JSON: {ctx.get('error', 'parse error')}."
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "The body must be a JSON object." if not loc else "Give a JSON object."
    if kind == "missing":
        return "This field is required."
    if kind == "extra_forbidden":
        name = loc[-1] if loc else ""
        if len(loc) == 1 and name == "version":
            return "version is read-only: send the ETag you read in If-Match instead."
        if len(loc) == 1 and name in model.read_only:
            return f"{name} is read-only: the server derives it."
        return "Unknown field."
    if kind == "timezone_aware":
        return f"Give the time with its UTC offset: {TIME_HINT}."
    if kind.startswith("datetime_"):
        return f"Give a date and time, {TIME_HINT}."
    if kind.startswith("date_"):
        return "Give a date, YYYY-MM-DD (e.g. 2023-06-26)."
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "Give a whole number (a JSON integer, not text or a decimal)."
    if kind in ("bool_type", "bool_parsing"):
        return "Give true or false."
    if kind == "string_type":
        return "Give text (a JSON string)."
    if kind in ("list_type", "tuple_type"):
        return "Give a list (a JSON array)."
    if kind in ("enum", "literal_error"):
        return f"Choose one of {ctx.get('expected', 'the documented values')}."
    if kind == "value_error" and "error" in ctx:
        text = str(ctx["error"])
        return text[:1].upper() + text[1:] + "."
    return str(item.get("msg", "Invalid value.")).rstrip(".") + "."


def field_errors(exc: pydantic.ValidationError, model: type[RequestBody]) -> dict[str, list[str]]:
    """Map pydantic's errors to {field key: [messages]}, keyed like the service's errors."""
    errors: dict[str, list[str]] = {}
    for item in exc.errors(include_url=False, include_input=False):
        messages = errors.setdefault(field_key(item["loc"]), [])
        message = _message(item, model)
        if message not in messages:
            messages.append(message)
    return errors


# --- Query strings -------------------------------------------------------------

def query_args(allowed: Iterable[str], *, numeric: Iterable[str] = (), months: Iterable[str] = ()) -> dict[str, str]:
    """Return the query parameters, refusing unknown, repeated and malformed ones the service cannot take."""
    allowed, numeric, months = set(allowed), set(numeric), set(months)
    errors: dict[str, list[str]] = {}
    args: dict[str, str] = {}
    for name in request.args:
        values = request.args.getlist(name)
        value = values[0].strip()
        if name not in allowed:
            errors[name] = ["Unknown query parameter; use " + ", ".join(sorted(allowed)) + "."]
        elif len(values) > 1:
            errors[name] = ["Give this parameter once."]
        elif validation.has_nul(value):
            errors[name] = ["Remove the null character."]
        elif name in numeric and value and not (value.isascii() and value.isdigit()):
            errors[name] = ["Give a whole number."]
        elif name in months and (match := _MONTH_RE.match(value)) and not 1 <= int(match[1]) <= 9998:
            # The service reads any four digits as a year; these would fall outside the calendar.
            errors[name] = ["Give a month from 0001-01 to 9998-12."]
        else:
            args[name] = value
    if errors:
        raise ValidationError(errors, "Some query parameters need fixing.")
    return args


# --- Preconditions -------------------------------------------------------------

# RFC 9110 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
_ENTITY_TAG_RE = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
IF_MATCH_HINT = 'send "*" or the ETag you read, in double quotes (for example "incident-12-v3")'


class IfMatch:
    """The If-Match header as RFC 9110 defines it: ``*``, or a list of entity tags (weak ones kept, unmarked)."""

    def __init__(self, *, star: bool, tags: frozenset[str]) -> None:
        self.star = star
        self.tags = tags

    def contains(self, etag: str) -> bool:
        """Tell whether the header names ``etag`` (weak comparison: a proxy may weaken an ETag it passes on)."""
        return etag.strip('"') in self.tags


def if_match() -> IfMatch | None:
    """Read If-Match (None when absent); a value that is not ``*`` or a list of quoted ETags is a 400 problem."""
    if "If-Match" not in request.headers:
        return None
    raw = ",".join(request.headers.getlist("If-Match")).strip(" \t")
    if raw == "*":
        return IfMatch(star=True, tags=frozenset())
    tags: set[str] = set()
    for item in raw.split(","):
        item = item.strip(" \t")
        if not item:
            continue  # RFC 9110 5.6.1: empty list elements are ignored
        match = _ENTITY_TAG_RE.fullmatch(item)
        if match is None:
            raise ServiceError(f"If-Match is malformed: {IF_MATCH_HINT}.",
                               {"If-Match": [f"Not an entity tag: {IF_MATCH_HINT}."]})
        tags.add(match[2])
    if not tags:
        raise ServiceError(f"If-Match is empty: {IF_MATCH_HINT}.", {"If-Match": [f"Empty: {IF_MATCH_HINT}."]})
    return IfMatch(star=False, tags=frozenset(tags))


def expected_version(current_etag: str, *, what: str) -> int:
    """Return the version named by If-Match for this resource: 428 without it, 412 if it names another."""
    tags = if_match()
    if tags is None:
        raise PreconditionRequired(
            f"Send If-Match with the ETag of the {what} you read, so that nobody's change is lost.")
    if tags.star:
        raise PreconditionRequired(f"If-Match: * does not protect against lost changes; send the {what}'s ETag.")
    name, _, version = current_etag.strip('"').rpartition("-v")
    if tags.contains(current_etag):
        return int(version)
    # An older ETag of this same resource: the service refuses that version as stale.
    for tag in sorted(tags.tags):
        rest = tag.removeprefix(name + "-v") if tag.startswith(name + "-v") else ""
        if rest.isascii() and rest.isdigit():
            return int(rest)
    raise StaleError(f"If-Match does not match this {what}'s ETag {current_etag}; read it again first.")


def expected_etag(current_etag: str, *, what: str, required: bool) -> str | None:
    """Return the ETag If-Match names, for a service that compares ETags itself; None when none is due.

    ``required`` is false while there is nothing yet to overwrite (no review,
    no report version): If-Match may then be left out, and ``*`` asks nothing.
    Once it is required: 428 without it (``*`` protects nothing), 412 when it
    names another ETag.
    """
    tags = if_match()
    if tags is None:
        if required:
            raise PreconditionRequired(
                f"Send If-Match with the ETag of the {what} you read, so that nobody's change is lost.")
        return None
    if tags.star:
        if required:
            raise PreconditionRequired(
                f"If-Match: * does not protect against lost changes; send the {what}'s ETag.")
        return None
    if tags.contains(current_etag):
        return current_etag
    raise StaleError(f"If-Match does not match this {what}'s ETag {current_etag}; read it again first.")


# --- Idempotency-Key ------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
# The draft makes the key a Structured Field String; a bare token (what most clients send) is taken too.
_KEY_CHARS = idempotency_service.MAX_KEY_LENGTH
_KEY_RE = re.compile(rf'"([\x20\x21\x23-\x5b\x5d-\x7e]{{1,{_KEY_CHARS}}})"|([\x21\x23-\x2b\x2d-\x7e]{{1,{_KEY_CHARS}}})')
KEY_HINT = f'Send one key of 1 to {_KEY_CHARS} visible ASCII characters, such as "8e03978e-40d5-43e8-bc93-6894a57f9324".'


def idempotency_key() -> str | None:
    """Return the request's Idempotency-Key (None when absent), or raise a 400 problem naming it."""
    values = request.headers.getlist(IDEMPOTENCY_HEADER)
    if not values:
        return None
    match = _KEY_RE.fullmatch(values[0].strip(" \t")) if len(values) == 1 else None
    if match is None:
        raise ServiceError(f"{IDEMPOTENCY_HEADER} is malformed.", {IDEMPOTENCY_HEADER: [KEY_HINT]})
    return match[1] or match[2]


def idempotent(view: View) -> View:
    """Let the view take an Idempotency-Key: the same key and request replay the first answer, another is 422.

    The view must commit through ``commit``, which keeps its answer with its
    change; a request without the header runs as ever.
    """

    @wraps(view)
    def run(**kwargs: Any) -> Response:
        key = idempotency_key()
        if key is None:
            return view(**kwargs)
        body = request.get_data(cache=True)
        claimed = idempotency_service.claim(
            user=auth.current_user(), key=key,
            fingerprint=idempotency_service.request_fingerprint(request.method, request.path, [body]))
        if claimed.replay:
            return replay(claimed.row)
        g.idempotency_claim = claimed
        return view(**kwargs)

    run.is_idempotent = True  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


def replay(row: Any) -> Response:
    """Answer again as the first request under the key was answered."""
    response = current_app.response_class(row.body, status=row.status, content_type=row.content_type)
    if row.etag:
        response.headers["ETag"] = row.etag
    if row.location:
        response.headers["Location"] = row.location
    return response


def commit(response: Response) -> Response:
    """Commit the unit of work, keeping ``response`` as the answer to the request's Idempotency-Key if it has one."""
    claimed = g.pop("idempotency_claim", None)
    if claimed is not None:
        idempotency_service.record(claimed, status=response.status_code, body=response.get_data(as_text=True),
                                   content_type=response.content_type, location=response.headers.get("Location"),
                                   etag=response.headers.get("ETag"))
    db.session.commit()
    return response


# --- Writes --------------------------------------------------------------------

@contextmanager
def write_guard() -> Iterator[None]:
    """Run a unit of work; on any failure roll it back, turning lost races into 412 or 409."""
    try:
        yield
    except StaleDataError:
        db.session.rollback()
        raise StaleError("Someone else changed this while you saved. Read it again and apply your change.") from None
    except IntegrityError:
        db.session.rollback()
        raise ConflictError("The change clashes with one saved at the same moment. Read it again and retry.") from None
    except Exception:
        db.session.rollback()
        raise


# --- Responses -----------------------------------------------------------------

def respond(body: pydantic.BaseModel | None, status: int = 200, *, etag: str | None = None,
            location: str | None = None) -> Response:
    """Answer with a JSON body (or none), its ETag and Location; 304 when If-None-Match matches."""
    if etag and status == 200 and request.method in ("GET", "HEAD") \
            and request.if_none_match.contains_weak(etag.strip('"')):
        response = current_app.response_class(status=304)
    elif body is None:
        response = current_app.response_class(status=status)
    else:
        response = current_app.response_class(body.model_dump_json(), status=status, mimetype="application/json")
    if etag:
        response.headers["ETag"] = etag
    if location:
        response.headers["Location"] = location
    return response
