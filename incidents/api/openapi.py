"""The OpenAPI 3.1 document of the JSON API, generated from the pydantic models in ``schemas``.

Component schemas come straight from ``model_json_schema``: request bodies in
validation mode, responses in serialization mode, nested models collected
from ``$defs``. Only the paths, parameters and responses are written here.
"""
from __future__ import annotations

from typing import Any

from flask import current_app
from pydantic import BaseModel

from incidents.api import (
    action_schemas,
    attachment_schemas,
    meeting_schemas,
    notification_schemas,
    pmr_schemas,
    principle_schemas,
    review_schemas,
    schemas,
    search_schemas,
)
from incidents.report import service as report_service

REF = "#/components/schemas/{model}"
REQUEST_MODELS: tuple[type[schemas.RequestBody], ...] = (
    schemas.IncidentCreate, schemas.IncidentPatch, schemas.MajorInput, schemas.TimelineEntryCreate,
    schemas.TimelineEntryPatch, review_schemas.ExclusionProposalInput, review_schemas.ExclusionReviewInput,
    review_schemas.SummaryReportInput, review_schemas.ReportInput,
    review_schemas.DecisionInput, review_schemas.PublicationInput,
    principle_schemas.PrincipleCreate, principle_schemas.PrinciplePatch,
    action_schemas.ActionCreate, action_schemas.ActionPatch, meeting_schemas.MeetingInput,
    notification_schemas.NotificationPreferencesInput, notification_schemas.WebhookInput)
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    schemas.Incident, schemas.IncidentSaved, schemas.IncidentPage, schemas.TimelineEntry,
    schemas.TimelineEntryList, schemas.AuditEntryList, schemas.Problem,
    review_schemas.Exclusion, review_schemas.ReviewStatus, review_schemas.SummaryReport,
    review_schemas.Report, review_schemas.ReportVersion,
    review_schemas.ReportVersionList, review_schemas.Decision, review_schemas.DecisionList,
    review_schemas.Publication, review_schemas.PublishedReport, review_schemas.PublishedReportList,
    principle_schemas.Principle, principle_schemas.PrincipleList,
    action_schemas.Action, action_schemas.ActionPage, meeting_schemas.Meeting, meeting_schemas.MeetingList,
    pmr_schemas.PmrMonth, notification_schemas.NotificationSettings, notification_schemas.Webhook,
    notification_schemas.WebhookCreated, notification_schemas.WebhookList, notification_schemas.WebhookDelivery,
    notification_schemas.WebhookDeliveryList, attachment_schemas.Attachment, attachment_schemas.AttachmentList,
    pmr_schemas.PmrRecordingList, search_schemas.SearchResults)
# Query parameters of GET /incidents, the same as the incident list page.
LIST_QUERY = ("category", "major", "status", "pmr_month", "cohort", "q", "page", "per_page")
LIST_NUMERIC = ("category", "page", "per_page")
# Query parameters of GET /actions, the same as the actions register page.
ACTION_LIST_QUERY = ("status", "overdue", "needs_date", "owner", "meeting", "page", "per_page")
ACTION_LIST_NUMERIC = ("page", "per_page")
# Query parameters of GET /search, the same as the search page.
SEARCH_QUERY = ("q", "limit")


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
               parameters: tuple[str, ...] = (), tags: tuple[str, ...] = ("incidents",),
               body_description: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": list(tags)}
    if parameters:
        operation["parameters"] = [_ref(name, "parameters") for name in parameters]
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
        if body_description:
            operation["requestBody"]["description"] = body_description
    if any(name.startswith("IfMatch") or name == "IdempotencyKey" for name in parameters):
        responses = {**responses, "400": _ref("BadRequest", "responses")}  # a malformed If-Match or key
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
        "/incidents/{reference}/major": {
            "post": _operation(
                "setMajor", "Declare the incident a Major Incident, or undeclare it, with a reason (DCC)",
                {"200": _json("Incident", "Changed.", ("ETag",)),
                 **_errors("403", "404", "409", "412", "422", "428")},
                body="MajorInput", parameters=(*reference, "IfMatch")),
        },
        "/incidents/{reference}/timeline": {
            "get": _operation(
                "listTimeline", "Read an incident's timeline",
                {"200": _json("TimelineEntryList", "The timeline, in time order."), **_errors("404")},
                parameters=reference, tags=("timeline",)),
            "post": _operation(
                "addTimelineEntry", "Add a timeline entry",
                {"201": _json("TimelineEntry", "Added.", ("Location", "ETag")), **_errors("403", "404", "409", "422")},
                body="TimelineEntryCreate", parameters=(*reference, "IdempotencyKey"), tags=("timeline",)),
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
        **_review_paths(),
        **_register_paths(),
        **_notification_paths(),
        **_attachment_paths(),
        "/openapi.json": {
            "get": {"operationId": "getOpenApi", "summary": "This document", "tags": ["meta"], "security": [],
                    "responses": {"200": {"description": "The OpenAPI document.",
                                          "content": {"application/json": {"schema": {"type": "object"}}}}}},
        },
    }


def _review_paths() -> dict[str, Any]:
    reference, review, report = ("Reference",), ("review",), ("report",)
    not_modified = {"304": {"description": "Not modified: If-None-Match named the current ETag.",
                            "headers": {"ETag": _ref("ETag", "headers")}}}
    return {
        "/incidents/{reference}/exclusion": {
            "get": _operation(
                "getExclusion", "Read the PMR treatment, every proposal round with SECAS's outcomes, the next steps",
                {"200": _json("Exclusion", "The PMR treatment.", ("ETag",)), **not_modified, **_errors("404")},
                parameters=reference, tags=review),
            "put": _operation(
                "proposeExclusion", "Propose the PMR treatment (DCC): include, or exclude citing a principle",
                {"200": _json("Exclusion", "Proposed.", ("ETag",)),
                 **_errors("403", "404", "409", "412", "422", "428")},
                body="ExclusionProposalInput", parameters=(*reference, "IfMatchOnceStarted"), tags=review),
        },
        "/incidents/{reference}/exclusion/reviews": {
            "post": _operation(
                "reviewExclusion", "Record SECAS's outcome on the pending exclusion",
                {"201": _json("Exclusion", "Recorded.", ("Location", "ETag")), **_errors("403", "404", "409", "422")},
                body="ExclusionReviewInput", parameters=reference, tags=review),
        },
        "/incidents/{reference}/summary-report": {
            "get": _operation(
                "getSummaryReport", "Read the Major Incident Summary Report: every version, when it was sent",
                {"200": _json("SummaryReport", "The Summary Report.", ("ETag",)), **_errors("404")},
                parameters=reference, tags=review),
            "post": _operation(
                "recordSummaryReport",
                "Save a new version of the Summary Report (DCC), as a draft or recorded as sent (its reminders stop)",
                {"201": _json("SummaryReport", "Saved (the same text adds no version).", ("ETag",)),
                 **_errors("403", "404", "409", "412", "422", "428")},
                body="SummaryReportInput", parameters=(*reference, "IfMatchSummary"), tags=review,
                body_description=f"Each of the sections: {report_service.markdown_limits().describe()} "
                                 "A time sent in the future, or a version sent without what happened or "
                                 "recipients: 422."),
        },
        "/incidents/{reference}/report": {
            "get": _operation(
                "getReport", "Read the Review Report's latest version with its generated sections",
                {"200": _json("Report", "The latest version.", ("ETag",)), **not_modified, **_errors("404")},
                parameters=reference, tags=report),
            "put": _operation(
                "saveReport", "Save the whole report as a new draft version (DCC)",
                {"200": _json("Report", "Saved (the same text adds no version).", ("ETag",)),
                 **_errors("403", "404", "409", "412", "422", "428")},
                body="ReportInput", parameters=(*reference, "IfMatchOnceWritten"), tags=report,
                # The limits are configuration, so the operation states them, not the (static) schema.
                body_description=f"Each of the sections: {report_service.markdown_limits().describe()} "
                                 "Past a limit: 422, the message naming it."),
        },
        "/incidents/{reference}/report/submit": {
            "post": _operation(
                "submitReport", "Submit the latest draft (DCC): it is frozen for the Operations Group",
                {"200": _json("Report", "Submitted.", ("ETag",)), **_errors("403", "404", "409", "412", "422")},
                parameters=(*reference, "IfMatchOptional"), tags=report),
        },
        "/incidents/{reference}/report/withdraw": {
            "post": _operation(
                "withdrawReport", "Withdraw the version waiting for the Operations Group (DCC): it leaves the pack",
                {"200": _json("Report", "Withdrawn; the DCC may save and submit another version.", ("ETag",)),
                 **_errors("403", "404", "409")},
                parameters=reference, tags=report),
        },
        "/incidents/{reference}/report/versions": {
            "get": _operation(
                "listReportVersions", "List every version of the report",
                {"200": _json("ReportVersionList", "Oldest first."), **_errors("404")},
                parameters=reference, tags=report),
        },
        "/incidents/{reference}/report/versions/{number}": {
            "get": _operation(
                "getReportVersion", "Read one version of the report",
                {"200": _json("ReportVersion", "The version."), **_errors("404")},
                parameters=(*reference, "VersionNumber"), tags=report),
        },
        "/incidents/{reference}/decisions": {
            "get": _operation(
                "listDecisions", "List the Operations Group's decisions on the report",
                {"200": _json("DecisionList", "By meeting date."), **_errors("404")},
                parameters=reference, tags=review),
            "post": _operation(
                "recordDecision", "Record the Operations Group's decision on the version waiting for it, at a meeting of "
                "the register (SECAS, OPSG); its actions go on the actions register",
                {"201": _json("Decision", "Recorded.", ("Location",)), **_errors("403", "404", "409", "422")},
                body="DecisionInput", parameters=reference, tags=review),
        },
        "/incidents/{reference}/publish": {
            "post": _operation(
                "publishReport", "Publish the agreed version to SEC Parties under the classification agreed (SECAS)",
                {"201": _json("Publication", "Published.", ("Location",)), **_errors("403", "404", "409", "422")},
                body="PublicationInput", parameters=reference, tags=review),
        },
        "/published": {
            "get": _operation(
                "listPublished", "List the reports published to SEC Parties (every role)",
                {"200": _json("PublishedReportList", "Newest first; the latest edition of each, as it was published.")},
                tags=("published",)),
        },
        "/published/{reference}": {
            "get": _operation(
                "getPublished", "Read the published version of a report (every role)",
                {"200": _json("PublishedReport", "The latest edition as it was published, nothing of the internal review."),
                 **_errors("404")},
                parameters=reference, tags=("published",)),
        },
    }


def _register_paths() -> dict[str, Any]:
    code, action, principles, actions = ("PrincipleCode",), ("ActionReference",), ("principles",), ("actions",)
    not_modified = {"304": {"description": "Not modified: If-None-Match named the current ETag.",
                            "headers": {"ETag": _ref("ETag", "headers")}}}
    return {
        "/exclusion-principles": {
            "get": _operation(
                "listPrinciples", "List the exclusion principles with every wording",
                {"200": _json("PrincipleList", "Live first, then retired, by code."), **_errors("404")},
                tags=principles),
            "post": _operation(
                "addPrinciple", "Add an exclusion principle (administrators)",
                {"201": _json("Principle", "Added.", ("Location",)), **_errors("403", "409", "422")},
                body="PrincipleCreate", tags=principles),
        },
        "/exclusion-principles/{code}": {
            "get": _operation(
                "getPrinciple", "Read an exclusion principle with every wording",
                {"200": _json("Principle", "The principle."), **_errors("404")},
                parameters=code, tags=principles),
            "patch": _operation(
                "updatePrinciple", "Reword (a new version), retire or reinstate a principle (administrators)",
                {"200": _json("Principle", "Changed."), **_errors("403", "404", "409", "422")},
                body="PrinciplePatch", parameters=code, tags=principles),
        },
        "/actions": {
            "get": _operation(
                "listActions", "List the actions register",
                {"200": _json("ActionPage", "One page: overdue first, then by target date."), **_errors("404", "422")},
                parameters=tuple(f"ActionQuery_{name}" for name in ACTION_LIST_QUERY), tags=actions),
            "post": _operation(
                "createAction", "Raise an action (SECAS, OPSG, administrators)",
                {"201": _json("Action", "Raised.", ("Location", "ETag")), **_errors("403", "409", "422")},
                body="ActionCreate", tags=actions),
        },
        "/actions/{reference}": {
            "get": _operation(
                "getAction", "Read an action with its target-date history and pending reminders",
                {"200": _json("Action", "The action.", ("ETag",)), **not_modified, **_errors("404")},
                parameters=action, tags=actions),
            "patch": _operation(
                "updateAction", "Change an action (only the fields sent)",
                {"200": _json("Action", "Changed.", ("ETag",)), **_errors("403", "404", "409", "412", "422", "428")},
                body="ActionPatch", parameters=(*action, "IfMatch"), tags=actions),
        },
        "/meetings": {
            "get": _operation(
                "listMeetings", "List the meetings register, each meeting with its pack",
                {"200": _json("MeetingList", "Latest first."), **_errors("404")}, tags=("meetings",)),
            "post": _operation(
                "scheduleMeeting", "Enter a meeting in the register (SECAS, OPSG, administrators)",
                {"201": _json("Meeting", "Entered.", ("Location",)), **_errors("403", "409", "422")},
                body="MeetingInput", tags=("meetings",)),
        },
        "/search": {
            "get": _operation(
                "search", "Search the record, ranked, matched words highlighted (a SEC Party: published reports only)",
                {"200": _json("SearchResults", "The best matches the caller may open, best first."),
                 **_errors("422")},
                parameters=("SearchQuery_q", "SearchQuery_limit"), tags=("search",)),
        },
        "/pmr/{month}": {
            "get": _operation(
                "getPmr", "Read a month's PMR incident measures: without exclusions, with the DCC's exclusions "
                "(the figure it reports) and with the exclusions SECAS agreed",
                {"200": _json("PmrMonth", "The measures."), **_errors("404", "422")},
                parameters=("Month",), tags=("pmr",)),
        },
        "/pmr/{month}/recordings": {
            "get": _operation(
                "listPmrRecordings", "Read a month's figures as reported (each recording, latest first) and what "
                "changed since the latest",
                {"200": _json("PmrRecordingList", "The recordings; an empty list when none."),
                 **_errors("404", "422")},
                parameters=("Month",), tags=("pmr",)),
        },
    }


def _notification_paths() -> dict[str, Any]:
    notifications, webhooks, webhook = ("notifications",), ("webhooks",), ("WebhookId",)
    deleted = {"204": {"description": "Done."}}
    return {
        "/me/notifications": {
            "get": _operation(
                "getNotificationSettings", "Read how you hear of each kind of review change, and what you follow",
                {"200": _json("NotificationSettings", "Your choices.")}, tags=notifications),
            "put": _operation(
                "updateNotificationSettings", "Choose immediate, digest or none for the kinds sent",
                {"200": _json("NotificationSettings", "Saved."), **_errors("409", "422")},
                body="NotificationPreferencesInput", tags=notifications),
        },
        "/incidents/{reference}/follow": {
            "put": _operation(
                "followIncident", "Follow an incident: hear of every change to its review",
                {**deleted, **_errors("403", "404", "409")}, parameters=("Reference",), tags=notifications),
            "delete": _operation(
                "unfollowIncident", "Stop following an incident",
                {**deleted, **_errors("403", "404", "409")}, parameters=("Reference",), tags=notifications),
        },
        "/webhooks": {
            "get": _operation(
                "listWebhooks", "List the webhook endpoints (administrators)",
                {"200": _json("WebhookList", "The active endpoints."), **_errors("403")}, tags=webhooks),
            "post": _operation(
                "createWebhook", "Register an endpoint (administrators); the answer carries its secret, this once",
                {"201": _json("WebhookCreated", "Registered.", ("Location", "ETag")), **_errors("403", "409", "422")},
                body="WebhookInput", tags=webhooks),
        },
        "/webhooks/{webhook_id}": {
            "get": _operation(
                "getWebhook", "Read an endpoint (administrators)",
                {"200": _json("Webhook", "The endpoint.", ("ETag",)), **_errors("403", "404")}, parameters=webhook,
                tags=webhooks),
            "delete": _operation(
                "deleteWebhook", "Stop delivering to an endpoint (administrators); its log stays",
                {**deleted, **_errors("403", "404", "409", "412", "428")}, parameters=(*webhook, "IfMatch"),
                tags=webhooks),
        },
        "/webhooks/{webhook_id}/deliveries": {
            "get": _operation(
                "listWebhookDeliveries", "Read an endpoint's delivery log: status, attempts, last error",
                {"200": _json("WebhookDeliveryList", "Newest first."), **_errors("403", "404")},
                parameters=webhook, tags=webhooks),
        },
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/resend": {
            "post": _operation(
                "resendWebhookDelivery", "Send a delivery again, retried for a day (administrators)",
                {"200": _json("WebhookDelivery", "Queued again."), **_errors("403", "404", "409")},
                parameters=(*webhook, "DeliveryId"), tags=webhooks),
        },
    }


def _attachment_paths() -> dict[str, Any]:
    config = current_app.config
    tags = ("attachments",)
    upload = {
        "type": "object", "required": ["target", "file"],
        "properties": {
            "target": {"type": "string", "pattern": r"^(incident|(timeline_entry|exclusion_proposal|report_version):"
                                                    r"[1-9][0-9]{0,8})$",
                       "description": "What the file is evidence for: incident, timeline_entry:<id>, "
                                      "exclusion_proposal:<round> or report_version:<number>."},
            "file": {"type": "string", "contentMediaType": "application/octet-stream",
                     "description": f"The file, at most {config['ATTACHMENT_MAX_BYTES']} bytes, of the kinds "
                                    f"{', '.join(config['ATTACHMENT_TYPES'])}: the type is found from the content, "
                                    "and a file whose content is not what its name says is refused (422)."},
        },
    }
    too_large = _problem("The request is larger than the attachment limit; nothing was stored.")
    download = {"description": "The file, as an attachment with a safe file name (Content-Disposition), "
                               "X-Content-Type-Options: nosniff and a sandboxing Content-Security-Policy.",
                "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                      "contentMediaType": "application/octet-stream"}}},
                "headers": {"Content-Disposition": {"schema": {"type": "string"}}}}
    return {
        "/incidents/{reference}/attachments": {
            "get": _operation(
                "listAttachments", "List the incident's attachments with their SHA-256 and what each hangs on",
                {"200": _json("AttachmentList", "The attachments, oldest first."), **_errors("404")},
                parameters=("Reference",), tags=tags),
            "post": {
                **_operation("uploadAttachment", "Attach a file to the incident, a timeline entry, an exclusion "
                             "proposal or a report version (not to a submitted version or an answered round)",
                             {"201": _json("Attachment", "Kept.", ("Location",)),
                              "413": too_large, **_errors("403", "404", "409", "422")},
                             parameters=("Reference",), tags=tags),
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": upload}}},
            },
        },
        "/incidents/{reference}/attachments/{attachment_id}": {
            "get": _operation(
                "downloadAttachment", "Download an attachment (checked against its SHA-256 first)",
                {"200": download, **_errors("404", "409")}, parameters=("Reference", "AttachmentId"), tags=tags),
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
        "AttachmentId": {"name": "attachment_id", "in": "path", "required": True,
                         "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}},
        "IfMatch": {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"},
                    "description": "The ETag you read, in double quotes (weak W/\"...\" matches too). Without it: 428; "
                                   "if it is no longer current: 412; not an ETag: 400."},
        "IdempotencyKey": {
            "name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "A key of your own for this request (IETF httpapi Idempotency-Key draft), e.g. "
                           "\"8e03978e-40d5-43e8-bc93-6894a57f9324\": sent again with the same body (a retry), the "
                           f"first answer is replayed and nothing is added twice, for {config['IDEMPOTENCY_KEY_HOURS']} "
                           "hours; with "
                           "another body: 422; while the first is still being processed: 409; malformed: 400."},
        "IfMatchOnceStarted": {
            "name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "The review's ETag from GET .../exclusion. Optional before the incident's review "
                           "starts; once it has: without it 428, and 412 if it is no longer current."},
        "IfMatchOnceWritten": {
            "name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "The report's ETag from GET .../report. Optional before the first version is saved; "
                           "after that: without it 428, and 412 if it is no longer current."},
        "IfMatchSummary": {
            "name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "The Summary Report's ETag from GET .../summary-report. Optional before the first version "
                           "is saved; after that: without it 428, and 412 if it is no longer current."},
        "IfMatchOptional": {
            "name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "The report's ETag: when sent, 412 unless it is still the latest version."},
        "VersionNumber": {"name": "number", "in": "path", "required": True,
                          "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                          "description": "The report version's number, from 1."},
        "PrincipleCode": {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
                          "description": "The principle's code, e.g. third-party-infrastructure."},
        "ActionReference": {
            "name": "reference", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "The action's reference URL-encoded (OPSG%2097%2F04) or its slug, the slash "
                           "written as a dash (OPSG%2097-04)."},
        "WebhookId": {"name": "webhook_id", "in": "path", "required": True,
                      "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}},
        "DeliveryId": {"name": "delivery_id", "in": "path", "required": True,
                       "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}},
        "Month": {"name": "month", "in": "path", "required": True,
                  "schema": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
                  "description": "A UK calendar month, YYYY-MM; incidents count in the month they were resolved."},
        "Query_category": query("category", {"type": "integer", "enum": list(config["INCIDENT_CATEGORIES"])},
                                "Only this Category."),
        "Query_major": query("major", {"type": "boolean"}, "true: only declared Major Incidents."),
        "Query_status": query("status", _ref("IncidentStatus"), "Only this status."),
        "Query_pmr_month": query("pmr_month", {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
                                 "Only incidents resolved in this UK calendar month (YYYY-MM)."),
        "Query_cohort": query("cohort", {"type": "string", "enum": list(config["COHORTS"])},
                              "Only incidents that affected this cohort."),
        "Query_q": query("q", {"type": "string", "maxLength": 200}, "Text in the reference or title."),
        "Query_page": query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number."),
        "Query_per_page": query("per_page", {"type": "integer", "minimum": 1, "maximum": config["MAX_PER_PAGE"],
                                             "default": config["PER_PAGE"]}, "Items per page."),
        "SearchQuery_q": {"name": "q", "in": "query", "required": True,
                          "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                          "description": 'Words to find (stemmed: reset finds resets); "a phrase" in quotes, -word '
                                         "to leave a word out, or between alternatives."},
        "SearchQuery_limit": query("limit", {"type": "integer", "minimum": 1, "maximum": 50, "default": 20},
                                   "How many results at most."),
        "ActionQuery_status": query("status", _ref("ActionStatus"), "Only open or only closed actions."),
        "ActionQuery_overdue": query("overdue", {"type": "boolean"}, "Only open actions past their target date."),
        "ActionQuery_needs_date": query("needs_date", {"type": "boolean"},
                                        "Only open actions whose target is TBC (no date yet)."),
        "ActionQuery_owner": query("owner", {"type": "string", "enum": list(config["ORGANISATIONS"])},
                                   "Only actions this organisation owns."),
        "ActionQuery_meeting": query("meeting", {"type": "string", "pattern": config["MEETING_PATTERN"]},
                                     f"Only actions raised at this meeting, e.g. {config['MEETING_HINT']}."),
        "ActionQuery_page": query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number."),
        "ActionQuery_per_page": query("per_page", {"type": "integer", "minimum": 1,
                                                   "maximum": config["MAX_PER_PAGE"], "default": config["PER_PAGE"]},
                                      "Items per page."),
    }


def _responses() -> dict[str, Any]:
    unauthorized = _problem("No valid API token (missing, unknown, revoked, or its user deactivated).")
    unauthorized["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"},
                                                    "description": 'Bearer realm="incidents"'}}
    return {
        "Unauthorized": unauthorized,
        "Forbidden": _problem("Your role may not do this (it may still read)."),
        "NotFound": _problem("No such incident, entry, report, action or principle, or your role may not see it "
                             "(a SEC Party sees only published reports)."),
        "Conflict": _problem("The reference or code is already used, a step came out of order (the detail says "
                             "what must happen first), or a change clashed."),
        "PreconditionFailed": _problem("If-Match is not the current ETag: someone changed it since you read it."),
        "Invalid": _problem("The input needs fixing; 'errors' maps each field to messages."),
        "PreconditionRequired": _problem("If-Match is missing."),
        "BadRequest": _problem('A header is malformed: If-Match must be "*" or ETags in double quotes; '
                               "Idempotency-Key one key of visible ASCII characters."),
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
        "tags": [{"name": name} for name in ("incidents", "timeline", "audit", "review", "report", "published",
                                             "principles", "actions", "pmr", "notifications", "webhooks",
                                             "attachments", "search", "meta")],
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
