"""Documents: the Review Report to print or as PDF, the published PDF for SEC Parties, the OPSG pack.

Load (404, also for SEC Parties on anything unpublished) -> one service call
-> render the HTML -> for a PDF, draw it with WeasyPrint.

Each document carries an ETag taken from its HTML, so a client that sends it
back (If-None-Match) gets 304 and a PDF is not drawn again. A PDF's tag is
weak: the same HTML draws the same document, not necessarily the same bytes.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Blueprint, Response, current_app, render_template, request
from flask_login import current_user, login_required

from incidents.document import service as document_service

bp = Blueprint("document", __name__)


def _etag(html: str) -> str:
    return hashlib.sha256(html.encode()).hexdigest()[:32]


def _conditional(etag: str, *, weak: bool, draw: Callable[[], Response]) -> Response:
    """Answer 304 when If-None-Match names ``etag`` (weak comparison, ``*`` included), else ``draw()``."""
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        response = draw()
    response.set_etag(etag, weak=weak)
    # Kept by the browser only, and checked with the server before each use.
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Cookie")
    return response


def html_response(html: str) -> Response:
    """Send a document page, or 304 when the client has this very page."""
    return _conditional(_etag(html), weak=False, draw=lambda: Response(html, mimetype="text/html"))


def pdf_response(html: str, filename: str) -> Response:
    """Draw the HTML as a PDF and send it to be opened in the browser, or 304 when the client has it."""

    def draw() -> Response:
        pdf = document_service.render_pdf(html, base_url=request.url_root,
                                          static_folder=current_app.static_folder or "",
                                          static_url_path=current_app.static_url_path or "/static")
        response = Response(pdf, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
        return response

    return _conditional(_etag(html), weak=True, draw=draw)


@bp.route("/incidents/<reference>/report/print")
@login_required
def report_print(reference: str) -> Response:
    """Show the Review Report as a print-ready page (``?version=N`` for an earlier version)."""
    doc = document_service.report_document(reference, viewer=current_user,
                                           number=document_service.parse_version(request.args.get("version")))
    return html_response(render_template("document/report.html", **doc.context(), is_pdf=False))


@bp.route("/incidents/<reference>/report.pdf")
@login_required
def report_pdf(reference: str) -> Response:
    """Download the Review Report as a PDF (``?version=N`` for an earlier version)."""
    doc = document_service.report_document(reference, viewer=current_user,
                                           number=document_service.parse_version(request.args.get("version")))
    return pdf_response(render_template("document/report.html", **doc.context(), is_pdf=True), doc.filename)


@bp.route("/published/<reference>.pdf")
@login_required
def published_pdf(reference: str) -> Response:
    """Download the published version of a report, stamped with its version, date and classification."""
    doc = document_service.published_document(reference, viewer=current_user)
    return pdf_response(render_template("document/report.html", **doc.context(), is_pdf=True), doc.filename)


@bp.route("/meetings/<reference>/pack")
@login_required
def pack(reference: str) -> Response:
    """Show the OPSG pack for a meeting: the reviews for its decision and the group's open actions."""
    found = document_service.opsg_pack(reference, viewer=current_user)
    return html_response(render_template("document/pack.html", **found.context(), is_pdf=False))


@bp.route("/meetings/<reference>/pack.pdf")
@login_required
def pack_pdf(reference: str) -> Response:
    """Download the OPSG pack as a PDF."""
    found = document_service.opsg_pack(reference, viewer=current_user)
    return pdf_response(render_template("document/pack_print.html", **found.context(), is_pdf=True), found.filename)
