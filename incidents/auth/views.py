"""Log in and log out, and each person's own login sessions (the home page is the dashboard)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

from authlib.integrations.base_client.errors import OAuthError
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from joserfc.errors import JoseError
from requests import RequestException
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from incidents.auth import oidc
from incidents.auth import service as auth_service
from incidents.auth.forms import LoginForm
from incidents.auth.models import LoginSession
from incidents.extensions import db
from incidents.user import service as user_service
from incidents.user.models import User

bp = Blueprint("auth", __name__)
# Each app gets its own registry of provider clients, made as the blueprint is registered in create_app.
bp.record_once(lambda state: oidc.init_app(cast(Flask, state.app)))

# Where Flask-Login keeps what its user loader is given: here the login session's key, nothing else of the user.
SESSION_KEY = "_user_id"


def session_key() -> str | None:
    """Return the key of the request's login session, from the cookie."""
    key = session.get(SESSION_KEY)
    return key if isinstance(key, str) else None


@dataclass(frozen=True)
class SessionRow:
    """One line of a list of login sessions."""

    row: LoginSession
    where: str
    is_current: bool
    end_url: str


def session_rows(user: User, end: Callable[[LoginSession], str]) -> list[SessionRow]:
    """Return the user's live sessions as lines to show; ``end(row)`` gives the address that ends one."""
    key = session_key()
    return [SessionRow(row=row, where=auth_service.summary(row), is_current=auth_service.is_current(row, key),
                       end_url=end(row)) for row in auth_service.live_sessions(user=user)]


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the login form and log the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    if form.validate_on_submit():
        email, ip = form.email.data or "", request.remote_addr or "unknown"
        wait = auth_service.start_attempt(ip=ip, email=email)  # counted (and committed) before the check
        if wait:
            minutes = max(1, round(wait / 60))
            form.password.errors = [f"Too many failed logins from here. Try again in about {minutes} minute(s)."]
            return render_template("auth/login.html", form=form, **_sign_in_buttons()), 429, {"Retry-After": str(wait)}
        user = user_service.authenticate(email, form.password.data or "")
        if user is None:
            form.password.errors = ["Email or password is not right, or the account is deactivated."]
        elif not password_allowed(user):
            # Said only to someone who knew the password; the attempt stays counted as a failure.
            form.password.errors = [(f"Password login is switched off for {user.role.label} accounts: sign in "
                                     "with your organisation's button below.")]
        else:
            auth_service.clear_failures(ip=ip, email=email)
            _log_in(user, address=ip)
            return redirect(safe_next(request.args.get("next")) or url_for("dashboard.home"))
    return render_template("auth/login.html", form=form, **_sign_in_buttons())


def password_allowed(user: User) -> bool:
    """Tell whether ``user``'s role may still log in with a local password."""
    return user.role.value not in current_app.config["PASSWORD_LOGIN_DISABLED_ROLES"]


def _sign_in_buttons() -> dict[str, Any]:
    """Return what the login page needs to show a button per configured provider."""
    return {"providers": list(oidc.providers().values())}


def _log_in(user: User, *, address: str, provider: str | None = None) -> None:
    """Start a login session for ``user`` and commit; the cookie names only that session's key."""
    auth_service.end_session(session_key())  # a sign-in over a live session (another person's) ends that one
    key = auth_service.start_session(user=user, user_agent=request.headers.get("User-Agent", ""),
                                     address=address, provider=provider)
    db.session.commit()
    session.clear()  # nothing from before the login (a key planted by someone else, a sign-in's state) carries over
    login_user(user)
    session[SESSION_KEY] = key  # login_user wrote the user's id there; the cookie names the session instead


def _provider_or_404(name: str) -> oidc.Provider:
    found = oidc.providers().get(name)
    if found is None:
        abort(404)
    return found


@bp.route("/login/sso/<provider>")
def sso_start(provider: str) -> Any:
    """Send the browser to the provider to sign in (authorization code flow with PKCE, state and nonce).

    A link, not a form: the pages' Content-Security-Policy (form-action 'self') rightly stops a form's redirect to
    another site. Starting a sign-in changes nothing here but the state kept for this browser, and a sign-in
    someone else started cannot finish in this browser (its state is not this browser's).
    """
    chosen = _provider_or_404(provider)
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    try:
        return oidc.client(chosen.name).authorize_redirect(url_for(".sso_callback", provider=chosen.name,
                                                                   _external=True))
    except (RequestException, OAuthError, ValueError, KeyError) as exc:
        current_app.logger.warning("OpenID provider %s: discovery failed: %s", chosen.name, exc)
        return _refused(chosen, f"{chosen.label} did not answer. Try again later, or log in with your password.",
                        status=502)


@bp.route("/login/sso/<provider>/callback")
def sso_callback(provider: str) -> Any:
    """Finish a sign-in: Authlib checks state, swaps the code (with the PKCE verifier) and checks the ID token
    (signature with the provider's keys, issuer, audience, nonce, expiry)."""
    chosen = _provider_or_404(provider)
    try:
        token = oidc.client(chosen.name).authorize_access_token(claims_options=oidc.claims_options(chosen.name))
    except RequestException as exc:
        current_app.logger.warning("OpenID provider %s did not answer: %s", chosen.name, exc)
        return _refused(chosen, f"{chosen.label} did not answer. Try again later.", status=502)
    except (OAuthError, JoseError, ValueError, KeyError, TypeError) as exc:
        # A state that is not this browser's, a code used before or for someone else, a token that fails a check.
        current_app.logger.warning("OpenID sign-in with %s refused: %s", chosen.name, exc)
        return _refused(chosen, f"The answer from {chosen.label} could not be accepted (it may be a sign-in started "
                                "elsewhere, used twice or too old). Start again from the login page.")
    claims = token.get("userinfo") if isinstance(token, dict) else None
    if not claims:
        return _refused(chosen, f"{chosen.label} sent no ID token. Start again from the login page.")
    try:
        try:
            user = oidc.sign_in(provider=chosen, claims=dict(claims))
        except IntegrityError:
            # The same person's first sign-in finishing at the same moment in another request (a double click)
            # made the account or link first: this one finds it.
            db.session.rollback()
            user = oidc.sign_in(provider=chosen, claims=dict(claims))
    except oidc.SignInRefused as exc:
        db.session.rollback()
        return _refused(chosen, str(exc), status=403)
    _log_in(user, address=request.remote_addr or "unknown", provider=chosen.name)
    return redirect(url_for("dashboard.home"))


def _refused(provider: oidc.Provider, reason: str, *, status: int = 400) -> Any:
    """Answer a refused sign-in with a page that says why (never a 500)."""
    return render_template("auth/sign_in_refused.html", provider=provider, reason=reason), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """Log out, ending the session on the server for good (POST, so a link elsewhere cannot log people out)."""
    key = session_key()
    found = auth_service.load_session(key)
    provider = oidc.providers().get(found.provider or "") if found is not None else None
    logout_user()
    auth_service.end_session(key)
    db.session.commit()
    endpoint = oidc.end_session_endpoint(provider.name) if provider is not None else None
    if provider is not None and endpoint is not None:
        # RP-initiated logout, offered (not forced): the person may still be signed in to other tools there.
        query = urlencode({"client_id": provider.client_id,
                           "post_logout_redirect_uri": url_for("auth.login", _external=True)})
        return render_template("auth/logged_out.html", provider=provider,
                               logout_url=f"{endpoint}{'&' if '?' in endpoint else '?'}{query}")
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/sessions")
@login_required
def sessions() -> Any:
    """List the person's live login sessions, each with a button that ends it."""
    rows = session_rows(current_user, lambda row: url_for(".end_session", session_id=row.id))
    return render_template("auth/sessions.html", sessions=rows)


@bp.route("/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int) -> Response:
    """End one of the person's own sessions (ending this one logs them out)."""
    if not auth_service.end_session_of(user=current_user, session_id=session_id, actor=current_user):
        flash("That session had already ended.", "info")
        return redirect(url_for(".sessions"))
    db.session.commit()
    if auth_service.load_session(session_key()) is None:
        logout_user()
        flash("You ended this session: you are logged out.", "info")
        return redirect(url_for(".login"))
    flash("Session ended.", "success")
    return redirect(url_for(".sessions"))
