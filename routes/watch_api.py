"""The watch API under /api/v1: the alerts, acknowledged and resolved by supervisors."""

from __future__ import annotations

from typing import TypeVar

from flask import Blueprint, request
from pydantic import BaseModel

from models.alerts import AckIn, AlertOut, AlertsOut, ResolveIn
from models.enums import OVERSEERS, POSTAL_DESK, AlertKind, AlertState
from postal import alerts
from postal.clock import utcnow
from routes.api import parse, spec
from routes.auth import current_actor, roles_required
from routes.openapi import Param, choice_param
from routes.session import get_session

bp = Blueprint("watch_api", __name__, url_prefix="/api/v1")
M = TypeVar("M", bound=BaseModel)
_STATE = "(" + "|".join(AlertState) + ")"
STATES = {"type": "string", "pattern": f"^{_STATE}(,{_STATE})*$"}


def optional_body(model: type[M]) -> M:
    """The body as a model; no body at all is the model's defaults (its domain check names what is missing)."""
    return parse(model) if request.get_data() else model()


@bp.get("/alerts")
@spec.operation("get", "/alerts", "Alerts of the watch, newest first", responses={200: AlertsOut},
                query={"state": Param("open, acknowledged or resolved; several: comma-separated", STATES),
                       "kind": choice_param("the kind of alert", AlertKind)})
@roles_required(*POSTAL_DESK)
def list_alerts():
    found = alerts.list_alerts(get_session(), viewer=current_actor(), state=request.args.get("state"),
                               kind=request.args.get("kind"))
    return found.model_dump(mode="json")


@bp.post("/alerts/<int:alert_id>/ack")
@spec.operation("post", "/alerts/<int:alert_id>/ack", "Acknowledge an alert (the caller becomes its owner)",
                body=AckIn, responses={200: AlertOut}, errors=(409,), body_optional=True)
@roles_required(*OVERSEERS)
def acknowledge(alert_id: int):
    data = optional_body(AckIn)
    return alerts.acknowledge(get_session(), alert_id, actor=current_actor(), note=data.note, now=utcnow()).model_dump(mode="json")


@bp.post("/alerts/<int:alert_id>/resolve")
@spec.operation("post", "/alerts/<int:alert_id>/resolve", "Resolve an alert, saying why (note required)",
                body=ResolveIn, responses={200: AlertOut}, errors=(409, 422), body_optional=True)
@roles_required(*OVERSEERS)
def resolve(alert_id: int):
    data = optional_body(ResolveIn)
    return alerts.resolve(get_session(), alert_id, actor=current_actor(), note=data.note, now=utcnow()).model_dump(mode="json")
