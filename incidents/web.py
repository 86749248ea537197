"""Wire blueprints, CLI groups, template helpers and response headers into the app."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from werkzeug.routing import Rule as WerkzeugRule

from incidents import labels, navigation, permissions, timeutil

HSTS_MAX_AGE = 365 * 24 * 3600  # one year, the usual Strict-Transport-Security lifetime


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure on any request that came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        """Use SESSION_COOKIE_SECURE, and Secure anyway over HTTPS (directly or via a trusted proxy)."""
        # A deployment that forgets the setting still keeps its session off plain http;
        # plain http (development) keeps working, as a Secure cookie would never come back.
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


class Rule(WerkzeugRule):
    """Werkzeug's URL rule, its URL builders compiled on first use rather than when the rule is added.

    Werkzeug compiles two builder functions per rule as it is added: about half of the routing table's cost at
    start-up, which every command (``flask --help``) would pay for URLs it never builds.
    """

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        compiled: Callable[..., tuple[str, str]] | None = None

        def build(rule: WerkzeugRule, **values: Any) -> tuple[str, str]:
            nonlocal compiled
            if compiled is None:
                compiled = WerkzeugRule._compile_builder(rule, append_unknown).__get__(rule, None)
            return compiled(**values)

        return build


def register(app: Flask) -> None:
    """Register every blueprint and helper on ``app``."""
    from incidents.action.views import bp as action_bp
    from incidents.api import auth as api_auth
    from incidents.api.blueprint import create_blueprint as create_api_blueprint
    from incidents.attachment.views import bp as attachment_bp
    from incidents.auth import service as auth_service
    from incidents.auth.views import bp as auth_bp
    from incidents.chart.views import bp as chart_bp
    from incidents.dashboard.views import bp as dashboard_bp
    from incidents.demo.cli import seed_demo
    from incidents.document.views import bp as document_bp
    from incidents.export.views import bp as export_bp
    from incidents.extensions import csrf, login_manager
    from incidents.importer.cli import incidents_cli
    from incidents.importer.views import bp as importer_bp
    from incidents.incident.views import bp as incident_bp
    from incidents.meeting.views import bp as meeting_bp
    from incidents.notification.cli import notifications_cli
    from incidents.notification.views import bp as notification_bp
    from incidents.ops.cli import backup, refresh_statistics, restore
    from incidents.pmr.cli import pmr_cli
    from incidents.pmr.views import bp as pmr_bp
    from incidents.principle.models import title_for
    from incidents.principle.views import bp as principle_bp
    from incidents.redaction.views import bp as redaction_bp
    from incidents.reminder.cli import reminders_cli, scheduler_cli
    from incidents.reminder.views import bp as reminder_bp
    from incidents.report.views import bp as report_bp
    from incidents.review.views import bp as review_bp
    from incidents.rules.views import bp as rules_bp
    from incidents.search.views import bp as search_bp
    from incidents.user import service as user_service
    from incidents.user.cli import users_cli
    from incidents.user.views import bp as user_bp

    app.url_rule_class = Rule
    api_bp = create_api_blueprint()
    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(incident_bp)
    app.register_blueprint(user_bp)
    app.register_blueprint(rules_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(report_bp)
    app.register_blueprint(principle_bp)
    app.register_blueprint(action_bp)
    app.register_blueprint(meeting_bp)
    app.register_blueprint(reminder_bp)
    app.register_blueprint(notification_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(pmr_bp)
    app.register_blueprint(chart_bp)
    app.register_blueprint(document_bp)
    app.register_blueprint(export_bp)
    app.register_blueprint(attachment_bp)
    app.register_blueprint(redaction_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(importer_bp)
    csrf.exempt(api_bp)
    app.session_interface = SessionInterface()
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(pmr_cli)
    app.cli.add_command(backup)
    app.cli.add_command(restore)
    app.cli.add_command(refresh_statistics)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(incidents_cli)

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    # Flask-Login keeps in the cookie the key of a login session held on the server (incidents.auth.service):
    # one indexed read finds the session and its user together.
    @login_manager.user_loader
    def load_user(key: str) -> Any:
        if api_auth.is_api_request():
            return None  # the API takes bearer tokens only: a browser's cookie must not act for it (no CSRF there)
        found = auth_service.load_session(key)
        return found.user if found is not None else None

    login_manager.request_loader(api_auth.load_token_user)

    @app.context_processor
    def inject() -> dict[str, Any]:
        # The user itself, not the proxy: a page asks for it dozens of times.
        user = current_user._get_current_object()
        return {"perm": permissions, "user": user, "navigation": navigation}

    app.add_template_filter(timeutil.format_local, "local")
    app.add_template_filter(timeutil.format_date, "uk_date")
    app.add_template_filter(timeutil.format_target, "uk_target")
    app.add_template_filter(timeutil.format_time, "uk_time")
    app.add_template_filter(timeutil.format_input, "local_input")
    app.add_template_filter(timeutil.format_minutes, "minutes")
    # People, states and principles in words (incidents.labels): "Dana Clarke (DCC)", "Information requested".
    app.add_template_filter(user_service.person, "person")
    app.add_template_filter(labels.label, "label")
    app.add_template_filter(labels.organisation, "organisation")
    app.add_template_filter(title_for, "principle")

    @app.after_request
    def security_headers(response: Response) -> Response:
        if request.endpoint != "static" and current_user.is_authenticated \
                and "no-store" not in response.headers.get("Cache-Control", ""):
            # What a signed-in person sees (page, document, API answer) stays in no cache, the browser's included:
            # not on a shared computer after logout, not in a proxy. ETags and 304s still work for clients that ask.
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            # Served over HTTPS: browsers keep to HTTPS for a year (RFC 6797), so no request goes out in clear.
            response.headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE}")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
        return response
