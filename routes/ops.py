"""For operators: /healthz (is the service well) and /metrics (Prometheus), and the timing of every request.

Neither needs a login: /healthz answers counts and ages only, no secrets and no personal data; /metrics asks
for POSTAL_METRICS_TOKEN as a bearer token when one is set (production requires one). Neither is rate limited,
so a monitor polling them never locks a person out.
"""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Flask, Response, g, request

from postal import health, metrics
from postal.clock import utcnow
from postal.errors import NotAuthenticated
from routes.auth import bearer_token, limiter
from routes.session import get_session, settings

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    checked = health.check(get_session(), settings(), utcnow())
    return checked.report, 503 if checked.status == "down" else 200


@bp.get("/metrics")
@limiter.exempt
def scrape():
    token = settings().metrics_token
    if token and not hmac.compare_digest((bearer_token() or "").encode(), token.encode()):
        raise NotAuthenticated()  # the API's 401, in the caller's language
    return Response(metrics.exposition(get_session(), settings().metrics_dir), mimetype=None,
                    content_type=metrics.CONTENT_TYPE)


def start_timer() -> None:
    g.started = time.perf_counter()


def observe(response: Response) -> Response:
    started = g.pop("started", None)
    if started is not None:
        metrics.observe_request(request.endpoint or "unmatched", request.method, time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, start_timer)  # before any other hook: their time too
    app.after_request(observe)
    app.register_blueprint(bp)
