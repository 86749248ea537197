"""The OpenAPI 3.1 document of the JSON API, generated from the pydantic models in ``schemas``.

Component schemas come straight from ``model_json_schema``: request bodies in
validation mode, responses in serialization mode, nested models collected
from ``$defs``. Only the paths, parameters and responses are written here.
"""
from __future__ import annotations

from typing import Any

from flask import current_app
from pydantic import BaseModel

from incidents.api import schemas

REF = "#/components/schemas/{model}"
REQUEST_MODELS: tuple[type[schemas.RequestBody], ...] = (
    schemas.IncidentCreate, schemas.IncidentPatch, schemas.TimelineEntryCreate, schemas.TimelineEntryPatch)
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    schemas.Incident, schemas.IncidentSaved, schemas.IncidentPage, schemas.TimelineEntry,
    schemas.TimelineEntryList, schemas.AuditEntryList, schemas.Problem)
# Query parameters of GET /incidents, the same as the incident list page.
LIST_QUERY = ("category", "status", "pmr_month", "cohort", "q", "page", "per_page")
LIST_NUMERIC = ("category", "page", "per_page")


def component_schemas() -> dict[str, Any]:
    """Return every model's JSON schema keyed by model name, nested models included."""
    found: dict[str, Any] = {}
    for mode, models in (("validation", REQUEST_MODELS), ("serialization", RESPONSE_MODELS)):
        for model in models:
            schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
            for name, sub in {**schema.pop("$defs", {}), model.__name__: schema}.items():
                if found.setdefault(name, sub) != sub:
                    raise RuntimeError(f"Two different schemas are named {name}; rename one model.")
    return dict(sorted(found.items()))


def _ref(name: str, kind: str = "schemas") -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(model: str, description: str, headers: tuple[str, ...] = ()) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {"application/json": {"schema": _ref(model)}}}
    if headers:
        response["headers"] = {name: _ref(name, "headers") for name in headers}
    return response


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _errors(*codes: str) -> dict[str, Any]:
    names = {"401": "Unauthorized", "403": "Forbidden", "404": "NotFound", "409": "Conflict",
             "412": "PreconditionFailed", "422": "Invalid", "428": "PreconditionRequired"}
    return {code: _ref(names[code], "responses") for code in ("401", *codes)}


def _operation(operation_id: str, summary: str, responses: dict[str, Any], *, body: str | None = None,
               parameters: tuple[str, ...] = (), tags: tuple[str, ...] = ("incidents",)) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": list(tags)}
    if parameters:
        operation["parameters"] = [_ref(name, "parameters") for name in parameters]
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    operation["responses"] = responses
    return operation


def _paths() -> dict[str, Any]:
    reference, entry = ("Reference",), ("Reference", "EntryId")
    not_modified = {"304": {"description": "Not modified: If-None-Match named the current ETag.",
                            "headers": {"ETag": _ref("ETag", "headers")}}}
    return {
        "/incidents": {
            "get": _operation(
                "listIncidents", "List incidents, newest first",
                {"200": _json("IncidentPage", "One page of incidents."), **_errors("404", "422")},
                parameters=tuple(f"Query_{name}" for name in LIST_QUERY)),
            "post": _operation(
                "createIncident", "Log an incident",
                {"201": _json("IncidentSaved", "Logged.", ("Location", "ETag")), **_errors("403", "409", "422")},
                body="IncidentCreate"),
        },
        "/incidents/{reference}": {
            "get": _operation(
                "getIncident", "Read an incident with its derived values",
                {"200": _json("Incident", "The incident.", ("ETag",)), **not_modified, **_errors("404")},
                parameters=reference),
            "patch": _operation(
                "updateIncident", "Change an incident's fields (only those sent)",
                {"200": _json("IncidentSaved", "Changed.", ("ETag",)),
                 **_errors("403", "404", "409", "412", "422", "428")},
                body="IncidentPatch", parameters=(*reference, "IfMatch")),
        },
        "/incidents/{reference}/timeline": {
            "get": _operation(
                "listTimeline", "Read an incident's timeline",
                {"200": _json("TimelineEntryList", "The timeline, in time order."), **_errors("404")},
                parameters=reference, tags=("timeline",)),
            "post": _operation(
                "addTimelineEntry", "Add a timeline entry",
                {"201": _json("TimelineEntry", "Added.", ("Location", "ETag")), **_errors("403", "404", "422")},
                body="TimelineEntryCreate", parameters=reference, tags=("timeline",)),
        },
        "/incidents/{reference}/timeline/{entry_id}": {
            "get": _operation(
                "getTimelineEntry", "Read a timeline entry",
                {"200": _json("TimelineEntry", "The entry.", ("ETag",)), **not_modified, **_errors("404")},
                parameters=entry, tags=("timeline",)),
            "patch": _operation(
                "updateTimelineEntry", "Change a timeline entry (only the fields sent)",
                {"200": _json("TimelineEntry", "Changed.", ("ETag",)),
                 **_errors("403", "404", "409", "412", "422", "428")},
                body="TimelineEntryPatch", parameters=(*entry, "IfMatch"), tags=("timeline",)),
            "delete": _operation(
                "deleteTimelineEntry", "Delete a timeline entry (kept in the audit trail)",
                {"204": {"description": "Deleted."}, **_errors("403", "404", "409", "412", "428")},
                parameters=(*entry, "IfMatch"), tags=("timeline",)),
        },
        "/incidents/{reference}/audit": {
            "get": _operation(
                "listAudit", "Read an incident's audit trail, field by field",
                {"200": _json("AuditEntryList", "The trail, oldest first."), **_errors("404")},
                parameters=reference, tags=("audit",)),
        },
        "/openapi.json": {
            "get": {"operationId": "getOpenApi", "summary": "This document", "tags": ["meta"], "security": [],
                    "responses": {"200": {"description": "The OpenAPI document.",
                                          "content": {"application/json": {"schema": {"type": "object"}}}}}},
        },
    }


def _parameters() -> dict[str, Any]:
    config = current_app.config

    def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}

    return {
        "Reference": {"name": "reference", "in": "path", "required": True, "schema": {"type": "string"},
                      "description": "The incident's reference, e.g. INC000001001905."},
        "EntryId": {"name": "entry_id", "in": "path", "required": True,
                    "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}},
        "IfMatch": {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"},
                    "description": "The ETag you read (weak W/\"...\" matches too). Without it: 428; "
                                   "if it is no longer current: 412."},
        "Query_category": query("category", {"type": "integer", "enum": list(config["INCIDENT_CATEGORIES"])},
                                "Only this Category."),
        "Query_status": query("status", _ref("IncidentStatus"), "Only this status."),
        "Query_pmr_month": query("pmr_month", {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
                                 "Only incidents resolved in this UK calendar month (YYYY-MM)."),
        "Query_cohort": query("cohort", {"type": "string", "enum": list(config["COHORTS"])},
                              "Only incidents that affected this cohort."),
        "Query_q": query("q", {"type": "string", "maxLength": 200}, "Text in the reference or title."),
        "Query_page": query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number."),
        "Query_per_page": query("per_page", {"type": "integer", "minimum": 1, "maximum": config["MAX_PER_PAGE"],
                                             "default": config["PER_PAGE"]}, "Items per page."),
    }


def _responses() -> dict[str, Any]:
    unauthorized = _problem("No valid API token (missing, unknown, revoked, or its user deactivated).")
    unauthorized["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"},
                                                    "description": 'Bearer realm="incidents"'}}
    return {
        "Unauthorized": unauthorized,
        "Forbidden": _problem("Your role may read but not change incidents."),
        "NotFound": _problem("No such incident or entry, or your role may not see it."),
        "Conflict": _problem("The reference is already used by another incident, or a change clashed."),
        "PreconditionFailed": _problem("If-Match is not the current ETag: someone changed it since you read it."),
        "Invalid": _problem("The input needs fixing; 'errors' maps each field to messages."),
        "PreconditionRequired": _problem("If-Match is missing."),
    }


def document() -> dict[str, Any]:
    """Return the OpenAPI document for this app's configuration."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Major incident reviews API",
            "version": "1.0.0",
            "description": (
                "Log and review major incidents under the Smart Energy Code. Authenticate with "
                "'Authorization: Bearer <token>'. Times are ISO 8601 with a UTC offset on input and UTC on "
                "output. Errors are RFC 9457 problem details (application/problem+json) whose 'errors' "
                "object maps each bad field to messages. Shape errors (422) are reported before a "
                "duplicate reference (409), which is reported before the domain rules (422)."),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": name} for name in ("incidents", "timeline", "audit", "meta")],
        "paths": _paths(),
        "components": {
            "schemas": component_schemas(),
            "parameters": _parameters(),
            "responses": _responses(),
            "headers": {
                "ETag": {"schema": {"type": "string"}, "description": "Send it back in If-Match to change this."},
                "Location": {"schema": {"type": "string"}, "description": "Where the new resource is."},
            },
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "An API token issued by an administrator."}},
        },
    }
