"""The web app: blueprints per audience over the domain in postal/."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask
from flask_babel import Babel
from werkzeug.middleware.proxy_fix import ProxyFix

from postal.config import ROOT, Settings
from postal.db import make_engine
from routes import admin, admin_api, admin_templates, api, assets, auth, booking, citizen, errors, formats, inputs, staff
from routes import runs_api
from routes import watch_api
from routes import runs_pages
from routes import doors  # noqa: F401  (the doors pages, on the runs pages' blueprint)
from routes import apologies, board, counter, desk, epcis_api, reports
from routes import onestop, ops, procedures
from routes.i18n import pick_locale
from routes.session import close_session


def create_app(overrides: Mapping[str, str] | None = None) -> Flask:
    settings = Settings.from_env(overrides)
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "translations"),
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["postal.settings"] = settings
    if settings.proxy_hops:  # behind a TLS proxy: the client's address and scheme as the proxy saw them
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.extensions["postal.engine"] = make_engine(settings.database_url, write_wait_s=settings.write_wait_s)
    Babel(app, locale_selector=pick_locale)
    app.teardown_appcontext(close_session)
    auth.init_app(app)  # login sessions, CSRF, the login rate limit; registers /login, /logout, /lang
    formats.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(runs_api.bp)  # /api/v1/run-templates, /api/v1/runs
    app.register_blueprint(watch_api.bp)  # /api/v1/alerts
    app.register_blueprint(runs_pages.bp)  # /runs, /runs/<id>, /admin/run-templates
    app.register_blueprint(admin_api.bp)  # /api/v1/sites/<code>: saved, taken out of the network
    app.register_blueprint(admin_templates.bp)  # /admin/run-templates/<id>: edit, stop, make its runs anew
    app.register_blueprint(board.bp)  # /board, /board/data
    app.register_blueprint(reports.bp)  # /reports, /api/v1/reports/agencies
    app.register_blueprint(desk.bp)  # /desk, /api/v1/desk, /api/v1/dossiers/<code>/result
    app.register_blueprint(counter.bp)  # /counter, /api/v1/counter/*, receipts, label PDFs and reprints
    app.register_blueprint(epcis_api.bp)  # /api/v1/epcis/events
    app.register_blueprint(procedures.bp)  # /admin/procedures, /api/v1/procedures: the procedure catalogue
    app.register_blueprint(onestop.bp)  # /api/v1/dossiers/batch, /admin/onestop-units
    app.register_blueprint(apologies.bp)  # /api/v1/dossiers/<code>/apologies, the dossier page's form
    app.register_blueprint(booking.bp)  # cancelling a home delivery: the citizen's page, the counter's, the API
    for bp in (staff.bp, admin.bp, assets.bp, citizen.bp):
        app.register_blueprint(bp)
    errors.register(app)
    inputs.register(app)  # the body limit; path, query and form text refused before any other hook reads it
    ops.init_app(app)  # /healthz, /metrics, and each request's time (its hook first of all)
    return app
