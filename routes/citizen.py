"""For citizens, no account: track a dossier, ask for home delivery or pick-up."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from pydantic import BaseModel, ConfigDict, Field

from postal import tracking
from postal.clock import utcnow
from postal.errors import PostalError
from routes.api import parse, spec
from routes.auth import limiter
from routes.i18n import message_of, render
from routes.session import get_session

bp = Blueprint("citizen", __name__)
bp.app_template_filter("phrase")(render)  # a translatable fragment from the domain, in the page's language
TRACK_LIMIT = "10 per minute"  # per address: code + 4 digits must not be guessable by brute force


class TrackIn(BaseModel):
    """A citizen's tracking question: the dossier code and the last four digits of their phone."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40)
    phone_last4: str = Field(pattern=r"^\d{4}$")


class TrackStepOut(BaseModel):
    at: str
    what: str
    where: str | None


class TrackOut(BaseModel):
    """Where a dossier stands, in plain words."""

    code: str
    status: str
    status_text: str
    due_at: str
    late: bool
    new_due: str | None
    timeline: list[TrackStepOut]


def tracking_json(found: tracking.Tracking) -> dict:
    return TrackOut(
        code=found.code, status=found.status, status_text=render(found.status_text), due_at=found.due_at.isoformat(),
        late=found.late, new_due=found.new_due.isoformat() if found.new_due else None,
        timeline=[TrackStepOut(at=s.at.isoformat(), what=render(s.what), where=s.where) for s in found.timeline],
    ).model_dump()


@bp.post("/api/v1/track")
@spec.operation("post", "/track", "Track a dossier (public; code + last 4 digits of the phone)", body=TrackIn,
                responses={200: TrackOut}, public=True)
@limiter.limit(TRACK_LIMIT)
def track_api():
    data = parse(TrackIn)
    return tracking_json(tracking.track(get_session(), data.code, data.phone_last4, now=utcnow()))


@bp.route("/track", methods=["GET", "POST"])
@limiter.limit(TRACK_LIMIT, methods=["POST"])
def track_page():
    found, error = None, None
    code = request.values.get("code", "").strip()
    if request.method == "POST":
        try:
            found = tracking.track(get_session(), code, request.form.get("phone_last4", ""), now=utcnow())
        except PostalError as err:
            error = message_of(err)
    return render_template("citizen/track.html", found=found, error=error, code=code,
                           status=404 if error else 200), 404 if error else 200
