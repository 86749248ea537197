"""Documents: the Review Report to print or as PDF, the published PDF for SEC Parties, the OPSG pack.

Load (404, also for SEC Parties on anything unpublished) -> one service call
-> render the HTML -> for a PDF, draw it with WeasyPrint.

Each document carries an ETag taken from its HTML, so a client that sends it
back (If-None-Match) gets 304 and a PDF is not drawn again. Caches are told
not to store it (``no-store``): it is shown to a signed-in person only. A PDF's tag is
weak: the same HTML draws the same document, not necessarily the same bytes.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Blueprint, Response, current_app, render_template, request
from flask_login import current_user, login_required

from incidents.document import service as document_service
from incidents.extensions import db

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
    # Every document is read signed in: kept in no cache; a client holding the tag still gets its 304.
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


def html_response(html: str) -> Response:
    """Send a document page, or 304 when the client has this very page."""
    return _conditional(_etag(html), weak=False, draw=lambda: Response(html, mimetype="text/html"))


def draw_pdf(html: str) -> bytes:
    """Draw the HTML as a PDF, fetching only this app's static files."""
    return document_service.render_pdf(html, base_url=request.url_root,
                                       static_folder=current_app.static_folder or "",
                                       static_url_path=current_app.static_url_path or "/static")


def pdf_response(html: str, filename: str, draw: Callable[[str], bytes] = draw_pdf) -> Response:
    """Send the HTML drawn as a PDF, to be opened in the browser, or 304 when the client has it."""

    def send() -> Response:
        response = Response(draw(html), mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
        return response

    return _conditional(_etag(html), weak=True, draw=send)


def report_pdf_response(doc: document_service.ReportDocument, html: str) -> Response:
    """Send a report's PDF: the one kept for a frozen version, or drawn now (and kept when frozen)."""

    def draw(html: str) -> bytes:
        digest = document_service.pdf_digest(html, static_folder=current_app.static_folder or "")
        pdf = document_service.report_pdf(doc, html, digest=digest, draw=draw_pdf)
        db.session.commit()
        return pdf

    return pdf_response(html, doc.filename, draw)


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
    return report_pdf_response(doc, render_template("document/report.html", **doc.context(), is_pdf=True))


@bp.route("/published/<reference>.pdf")
@login_required
def published_pdf(reference: str) -> Response:
    """Download the published version of a report, stamped with its version, date and classification."""
    doc = document_service.published_document(reference, viewer=current_user)
    return report_pdf_response(doc, render_template("document/report.html", **doc.context(), is_pdf=True))


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
