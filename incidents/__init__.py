"""Major incident reviews under the Smart Energy Code."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask

from incidents import config as config_module


def data_dir(name: str) -> str:
    """Return the folder ``name`` (templates, migrations): inside an installed package, beside it in a checkout."""
    package = os.path.dirname(os.path.abspath(__file__))
    inside = os.path.join(package, name)
    return inside if os.path.isdir(inside) else os.path.join(os.path.dirname(package), name)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Assemble the application: config, extensions, blueprints. No side effects."""
    # With no INCIDENTS_INSTANCE_PATH, Flask's choice: instance/ in a checkout, <prefix>/var/incidents-instance
    # when installed.
    app = Flask(
        __name__,
        instance_path=os.environ.get("INCIDENTS_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=data_dir("templates"),
    )
    app.extensions["incidents.config_sources"] = config_module.load(app, test_config)
    config_module.check(app)

    from sqlalchemy import event

    from incidents import errors, models, web  # noqa: F401  (models: register every table)
    from incidents.extensions import Migrations, csrf, db, login_manager, sqlite_pragmas
    from incidents.timeutil import render_migration_item

    db.init_app(app)
    with app.app_context():
        engine = db.engine  # built, not connected
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", sqlite_pragmas(app.config["SQLITE_SYNCHRONOUS"]))
    Migrations(app, directory=data_dir("migrations"), render_as_batch=True, render_item=render_migration_item,
               compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    errors.register(app)
    web.register(app)
    hops = int(app.config["PROXY_FIX_X_FOR"])
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app
