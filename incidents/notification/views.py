"""Notification pages: each person's preferences, Follow / Unfollow on an incident, webhooks for administrators.

Handlers run load (404) -> check the role (403) -> validate -> one service call -> commit -> redirect, or
render.
"""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from incidents.auth import service as auth_service
from incidents.auth import views as auth_views
from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.notification import service as notification_service
from incidents.notification.forms import (
    ButtonForm,
    PreferencesForm,
    RemoveWebhookForm,
    WebhookForm,
)

bp = Blueprint("notification", __name__)

Html = str | tuple[str, int]
NEW_SECRET_PURPOSE = "webhook_secret"


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def preferences() -> Html | BaseResponse:
    """Show and save how the person hears of each kind of review change, and what they follow."""
    kinds = notification_service.kinds_for(current_user)
    form = PreferencesForm.for_kinds(kinds)()
    if form.is_submitted():
        if not form.validate():
            form.apply_errors({}, "The form expired; reload the page and try again.")
        else:
            try:
                notification_service.set_preferences(current_user, {kind.value: getattr(form, kind.value).data
                                                                    for kind in kinds})
            except ValidationError as exc:
                db.session.rollback()
                form.apply_errors(exc.errors, exc.detail)
            else:
                db.session.commit()
                flash("Notification preferences saved.", "success")
                return redirect(url_for(".preferences"))
        return render_template("notification/preferences.html", form=form, kinds=kinds,
                               errors=form.errors_by_field(), followed=notification_service.followed(current_user),
                               button=ButtonForm()), 422
    for kind, delivery in notification_service.preferences(current_user).items():
        getattr(form, kind.value).data = delivery.value
    return render_template("notification/preferences.html", form=form, kinds=kinds, errors={},
                           followed=notification_service.followed(current_user), button=ButtonForm())


@bp.route("/incidents/<reference>/follow", methods=["POST"])
@login_required
def follow(reference: str) -> BaseResponse:
    """Follow an incident: hear of every change to its review."""
    incident = incident_service.get_incident(reference, viewer=current_user)
    if not ButtonForm().validate():
        flash("The form expired; reload the page and try again.", "error")
    else:
        notification_service.follow(current_user, incident)
        db.session.commit()
        flash(f"You follow {incident.reference}: you will hear of every change to its review.", "success")
    return redirect(url_for("incident.detail", reference=incident.reference))


@bp.route("/incidents/<reference>/unfollow", methods=["POST"])
@login_required
def unfollow(reference: str) -> BaseResponse:
    """Stop following an incident."""
    incident = incident_service.get_incident(reference, viewer=current_user)
    if not ButtonForm().validate():
        flash("The form expired; reload the page and try again.", "error")
    else:
        notification_service.unfollow(current_user, incident)
        db.session.commit()
        flash(f"You no longer follow {incident.reference}.", "success")
    return redirect(url_for("incident.detail", reference=incident.reference))


# --- Webhooks (administrators) ------------------------------------------------------------

@bp.route("/admin/webhooks", methods=["GET", "POST"])
@login_required
def webhooks() -> Html | BaseResponse:
    """List the endpoints and register a new one (the secret is shown once, on the next page)."""
    notification_service.require_admin(current_user)
    form = WebhookForm()
    status = 200
    if form.is_submitted():
        status = 422
        if not form.validate():
            form.apply_errors({}, "The form expired; reload the page and try again.")
        else:
            draft = notification_service.WebhookDraft(
                url=form.url.data or "", events=list(form.events.data or []), description=form.description.data or "",
                secret=form.secret.data or None, is_internal=bool(form.is_internal.data),
                payload_format=form.payload_format.data or "standard")
            try:
                webhook = notification_service.create_webhook(draft, actor=current_user)
            except ValidationError as exc:
                db.session.rollback()
                form.apply_errors(exc.errors, exc.detail)
            else:
                key = auth_views.session_key()
                if key:
                    auth_service.keep_secret(key=key, purpose=NEW_SECRET_PURPOSE, value=webhook.secret)
                db.session.commit()
                flash("Webhook registered. Copy its secret now: it is not shown again.", "success")
                return redirect(url_for(".webhook", webhook_id=webhook.id))
    page = render_template("notification/webhooks.html", form=form, errors=form.errors_by_field(),
                           webhooks=notification_service.list_webhooks(actor=current_user))
    return (page, status) if status != 200 else page


@bp.route("/admin/webhooks/<int:webhook_id>")
@login_required
def webhook(webhook_id: int) -> Response:
    """Show an endpoint and its delivery log (status, attempts, last error), the secret once after it is made."""
    found = notification_service.get_webhook(webhook_id, actor=current_user)
    secret = auth_service.take_secret(key=auth_views.session_key(), purpose=NEW_SECRET_PURPOSE)
    if secret:
        db.session.commit()
    response = Response(render_template("notification/webhook.html", webhook=found, secret=secret,
                                        deliveries=notification_service.deliveries(found), button=ButtonForm(),
                                        remove_form=RemoveWebhookForm()))
    if secret:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/admin/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/resend", methods=["POST"])
@login_required
def resend(webhook_id: int, delivery_id: int) -> BaseResponse:
    """Send one delivery again."""
    found = notification_service.get_webhook(webhook_id, actor=current_user)
    if not ButtonForm().validate():
        flash("The form expired; reload the page and try again.", "error")
    else:
        notification_service.send_again(found, delivery_id, actor=current_user)
        db.session.commit()
        flash("The delivery is queued again; the scheduler sends it within a minute.", "success")
    return redirect(url_for(".webhook", webhook_id=webhook_id))


@bp.route("/admin/webhooks/<int:webhook_id>/remove", methods=["POST"])
@login_required
def remove(webhook_id: int) -> BaseResponse:
    """Stop delivering to an endpoint."""
    notification_service.get_webhook(webhook_id, actor=current_user)
    form = RemoveWebhookForm()
    if not form.validate() or not form.confirm.data:
        flash("Tick the box to confirm the removal (or reload the page if the form expired).", "error")
        return redirect(url_for(".webhook", webhook_id=webhook_id))
    notification_service.remove_webhook(webhook_id, actor=current_user)
    db.session.commit()
    flash("Webhook removed: nothing more is sent to it.", "success")
    return redirect(url_for(".webhooks"))
