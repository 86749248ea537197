"""User administration pages: create users, change them, and manage their API tokens.

Every change goes through the user service (which writes the audit entry),
then one commit, a flash message and a redirect. Only administrators get in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from incidents import permissions
from incidents.audit import service as audit_service
from incidents.audit.models import AuditEntry
from incidents.auth import service as auth_service
from incidents.auth import views as auth_views
from incidents.errors import ServiceError
from incidents.extensions import db, login_manager
from incidents.user import service as user_service
from incidents.user.forms import CreateUserForm, NameForm, PasswordForm, RoleForm
from incidents.user.models import User

bp = Blueprint("user", __name__, url_prefix="/admin/users")

RECENT_ENTRIES = 15


def _token_purpose(user: User) -> str:
    """Name the just-issued API token of ``user`` in the store of secrets shown once."""
    return f"api_token:{user.id}"

Page = str | Response | tuple[str, int]


@dataclass(frozen=True)
class UserRow:
    """One line of the user list."""

    user: User
    live_tokens: int
    last_token_at: datetime | None


@bp.before_request
def require_admin() -> Response | None:
    """Send anonymous visitors to log in; refuse everyone but administrators."""
    if not current_user.is_authenticated:
        redirect_to_login: Response = login_manager.unauthorized()
        return redirect_to_login
    if not permissions.can_manage_users(current_user):
        abort(403)
    return None


def _row(user: User) -> UserRow:
    live = [t for t in user.tokens if not t.is_revoked]
    created = [t.created_at for t in user.tokens]
    return UserRow(user=user, live_tokens=len(live), last_token_at=max(created) if created else None)


def _recent_entries() -> list[AuditEntry]:
    # Token changes are user administration too, so both kinds are listed together.
    entries = (audit_service.entries_for_entity("user", limit=RECENT_ENTRIES)
               + audit_service.entries_for_entity("api_token", limit=RECENT_ENTRIES))
    entries.sort(key=lambda e: (e.at, e.id), reverse=True)
    return entries[:RECENT_ENTRIES]


def _show_errors(form: FlaskForm, exc: ServiceError) -> None:
    """Put the service's messages next to the matching fields, the rest above the form."""
    for name, messages in exc.errors.items():
        if name in form:
            form[name].errors = list(form[name].errors) + list(messages)
        else:
            form.form_errors.extend(messages)
    if not exc.errors:
        form.form_errors.append(exc.detail)


def _detail_forms(user: User) -> dict[str, FlaskForm]:
    """Build the blank forms of the user page, prefixed so their field ids never clash."""
    # formdata=None: a form that was not the one posted shows the stored values, not the request's.
    return {
        "name_form": NameForm(formdata=None, prefix="name", data={"name": user.name}),
        "role_form": RoleForm(formdata=None, prefix="role", data={"role": user.role.value}),
        "password_form": PasswordForm(formdata=None, prefix="password"),
    }


def _render_detail(user: User, status: int = 200, *, state_errors: list[str] | None = None,
                   token_errors: list[str] | None = None, **forms: FlaskForm) -> Page:
    """Render the user page; ``forms`` replaces the blank forms that failed."""
    context: dict[str, Any] = _detail_forms(user)
    context.update(forms)
    token = auth_service.take_secret(key=auth_views.session_key(), purpose=_token_purpose(user))
    if token:
        db.session.commit()  # shown once: gone from the store as the page shows it
    sessions = auth_views.session_rows(
        user, lambda row: url_for("user.end_session", user_id=user.id, session_id=row.id))
    html = render_template("user/detail.html", target=user, row=_row(user), issued_token=token, sessions=sessions,
                           state_errors=state_errors or [], token_errors=token_errors or [], **context)
    if token:
        # The token must not linger in any cache once shown.
        response: Response = Response(html, status=status, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response
    return html, status


@bp.route("/")
def index() -> Page:
    """List users with their role, state and API tokens, and recent administration."""
    rows = [_row(user) for user in user_service.list_users()]
    return render_template("user/index.html", rows=rows, entries=_recent_entries())


@bp.route("/new", methods=["GET", "POST"])
def create() -> Page:
    """Create a user with an initial password."""
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            created = user_service.create_user(email=form.email.data or "", name=form.name.data or "",
                                               role=form.role.data, password=form.password.data or "",
                                               actor=current_user)
        except ServiceError as exc:
            db.session.rollback()
            _show_errors(form, exc)
            return render_template("user/new.html", form=form), exc.status
        db.session.commit()
        flash(f"Created {created.email} as {created.role.label}.", "success")
        return redirect(url_for("user.detail", user_id=created.id))
    return render_template("user/new.html", form=form), 422 if form.errors else 200


@bp.route("/<int:user_id>")
def detail(user_id: int) -> Page:
    """Show one user with the forms that change them."""
    return _render_detail(user_service.get_user(user_id))


@bp.route("/<int:user_id>/name", methods=["POST"])
def rename(user_id: int) -> Page:
    """Change a user's display name."""
    target = user_service.get_user(user_id)
    form = NameForm(prefix="name")
    if not form.validate_on_submit():
        return _render_detail(target, 422, name_form=form)
    try:
        user_service.set_name(user=target, name=form.name.data or "", actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        _show_errors(form, exc)
        return _render_detail(target, exc.status, name_form=form)
    db.session.commit()
    flash(f"Name of {target.email} saved.", "success")
    return redirect(url_for("user.detail", user_id=target.id))


@bp.route("/<int:user_id>/role", methods=["POST"])
def change_role(user_id: int) -> Page:
    """Change a user's role; their sessions end so the new role applies at once."""
    target = user_service.get_user(user_id)
    form = RoleForm(prefix="role")
    if not form.validate_on_submit():
        return _render_detail(target, 422, role_form=form)
    try:
        user_service.set_role(user=target, role=form.role.data, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        _show_errors(form, exc)
        return _render_detail(target, exc.status, role_form=form)
    db.session.commit()
    flash(f"{target.email} is now {target.role.label}.", "success")
    return redirect(url_for("user.detail", user_id=target.id))


@bp.route("/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int) -> Page:
    """Set a new password; the user's existing sessions end."""
    target = user_service.get_user(user_id)
    form = PasswordForm(prefix="password")
    if not form.validate_on_submit():
        return _render_detail(target, 422, password_form=form)
    try:
        user_service.reset_password(user=target, password=form.password.data or "", actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        _show_errors(form, exc)
        return _render_detail(target, exc.status, password_form=form)
    db.session.commit()
    flash(f"Password of {target.email} reset; their sessions have ended and their API tokens and calendar link "
          "are revoked.", "success")
    return redirect(url_for("user.detail", user_id=target.id))


def _set_active(user_id: int, active: bool) -> Page:
    target = user_service.get_user(user_id)
    try:
        user_service.set_active(user=target, active=active, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        messages = [m for ms in exc.errors.values() for m in ms] or [exc.detail]
        return _render_detail(target, exc.status, state_errors=messages)
    db.session.commit()
    if active:
        flash(f"Reactivated {target.email}.", "success")
    else:
        flash(f"Deactivated {target.email}: their sessions have ended and their API tokens and calendar link are "
              "revoked.", "success")
    return redirect(url_for("user.detail", user_id=target.id))


@bp.route("/<int:user_id>/deactivate", methods=["POST"])
def deactivate(user_id: int) -> Page:
    """Deactivate a user: sessions end, API tokens and the calendar link are revoked."""
    return _set_active(user_id, False)


@bp.route("/<int:user_id>/activate", methods=["POST"])
def activate(user_id: int) -> Page:
    """Reactivate a deactivated user."""
    return _set_active(user_id, True)


@bp.route("/<int:user_id>/tokens", methods=["POST"])
def issue_token(user_id: int) -> Page:
    """Issue an API token and show it once on the user page."""
    target = user_service.get_user(user_id)
    try:
        token = user_service.issue_token(user=target, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        return _render_detail(target, exc.status, token_errors=[exc.detail])
    key = auth_views.session_key()
    if key:
        auth_service.keep_secret(key=key, purpose=_token_purpose(target), value=token)
    db.session.commit()
    flash(f"API token issued for {target.email}.", "success")
    return redirect(url_for("user.detail", user_id=target.id))


@bp.route("/<int:user_id>/tokens/revoke", methods=["POST"])
def revoke_tokens(user_id: int) -> Page:
    """Revoke all of a user's live API tokens."""
    target = user_service.get_user(user_id)
    count = user_service.revoke_tokens(user=target, actor=current_user)
    db.session.commit()
    flash(f"Revoked {count} API token{'s' if count != 1 else ''} of {target.email}.", "success")
    return redirect(url_for("user.detail", user_id=target.id))


@bp.route("/<int:user_id>/sessions/<int:session_id>/end", methods=["POST"])
def end_session(user_id: int, session_id: int) -> Page:
    """End one of a user's login sessions."""
    target = user_service.get_user(user_id)
    if auth_service.end_session_of(user=target, session_id=session_id, actor=current_user):
        db.session.commit()
        flash(f"Ended a session of {target.email}.", "success")
    else:
        flash(f"That session of {target.email} had already ended.", "info")
    return redirect(url_for("user.detail", user_id=target.id))
