"""The runs API under /api/v1: templates, the day's runs, manifests, and driving a run."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, request

from models import Role
from models.enums import DRIVERS, STAFF
from models.runs import (
    AssignIn,
    RegeneratedOut,
    RunClosedOut,
    RunOut,
    RunsOut,
    RunTemplateChangeOut,
    RunTemplateCreatedOut,
    RunTemplateIn,
    RunTemplatesOut,
)
from postal import runs
from postal.clock import local, utcnow
from routes.api import parse, spec
from routes.auth import current_actor, roles_required
from routes.inputs import day_in
from routes.openapi import day_param
from routes.session import get_session, settings

bp = Blueprint("runs_api", __name__, url_prefix="/api/v1")


@bp.get("/run-templates")
@spec.operation("get", "/run-templates", "Run templates", responses={200: RunTemplatesOut})
@roles_required(*STAFF)
def list_templates():
    return runs.list_templates(get_session()).model_dump(mode="json")


@bp.post("/run-templates")
@spec.operation("post", "/run-templates", "Create a run template (admin)", body=RunTemplateIn,
                responses={201: RunTemplateCreatedOut, 200: RunTemplateCreatedOut}, errors=(409, 422))
@roles_required(Role.ADMIN)
def create_template():
    data = parse(RunTemplateIn)
    template, created = runs.create_template(get_session(), data, actor=current_actor(), now=utcnow())
    return RunTemplateCreatedOut(run_template=template).model_dump(mode="json"), 201 if created else 200


@bp.get("/run-templates/<int:template_id>")
@spec.operation("get", "/run-templates/<int:template_id>", "A run template, the first day it applies to, and its runs "
                "already made from today on (each: may it be made anew, or why it is kept)",
                responses={200: RunTemplateChangeOut})
@roles_required(*STAFF)
def get_template(template_id: int):
    return runs.template_change(get_session(), template_id, utcnow(), viewer=current_actor()).model_dump(mode="json")


@bp.put("/run-templates/<int:template_id>")
@spec.operation("put", "/run-templates/<int:template_id>", "Edit a run template (admin): it applies from the first day "
                "not yet generated; the runs already made are listed, unchanged", body=RunTemplateIn,
                responses={200: RunTemplateChangeOut}, errors=(409, 422))
@roles_required(Role.ADMIN)
def edit_template(template_id: int):
    data = parse(RunTemplateIn)
    change = runs.edit_template(get_session(), template_id, data, actor=current_actor(), now=utcnow())
    return change.model_dump(mode="json")


@bp.post("/run-templates/<int:template_id>/deactivate")
@spec.operation("post", "/run-templates/<int:template_id>/deactivate", "Stop a run template (admin) from the first day "
                "not yet generated; the runs already made are listed, unchanged", responses={200: RunTemplateChangeOut}, errors=(409, 422))
@roles_required(Role.ADMIN)
def deactivate_template(template_id: int):
    change = runs.set_template_active(get_session(), template_id, False, actor=current_actor(), now=utcnow())
    return change.model_dump(mode="json")


@bp.post("/run-templates/<int:template_id>/activate")
@spec.operation("post", "/run-templates/<int:template_id>/activate", "Use a stopped run template again (admin)",
                responses={200: RunTemplateChangeOut}, errors=(409,))
@roles_required(Role.ADMIN)
def activate_template(template_id: int):
    change = runs.set_template_active(get_session(), template_id, True, actor=current_actor(), now=utcnow())
    return change.model_dump(mode="json")


@bp.post("/run-templates/<int:template_id>/regenerate")
@spec.operation("post", "/run-templates/<int:template_id>/regenerate", "Make anew from the template (admin) its runs from "
                "today on with no scans, not started and before their cutoff; remove those on days it no longer "
                "runs; the rest are kept, each with why", responses={200: RegeneratedOut})
@roles_required(Role.ADMIN)
def regenerate_template(template_id: int):
    return runs.regenerate(get_session(), template_id, actor=current_actor(), now=utcnow()).model_dump(mode="json")


@bp.get("/runs")
@spec.operation("get", "/runs", "The runs of a day", responses={200: RunsOut},
                query={"date": day_param("YYYY-MM-DD, local date; today by default")})
@roles_required(*STAFF)
def list_runs():
    day = day_in(request.args, "date", local(utcnow()).date())
    return runs.runs_of_day(get_session(), day, viewer=current_actor()).model_dump(mode="json")


@bp.get("/runs/<int:run_id>")
@spec.operation("get", "/runs/<int:run_id>", "One run with its stops and manifest", responses={200: RunOut})
@roles_required(*STAFF)
def get_run(run_id: int):
    return runs.run_detail(get_session(), run_id, viewer=current_actor()).model_dump(mode="json")


@bp.get("/runs/<int:run_id>/manifest.pdf")
@spec.operation("get", "/runs/<int:run_id>/manifest.pdf", "The printable manifest with its handover records",
                responses={200: "application/pdf"})
@roles_required(*STAFF)
def manifest_pdf(run_id: int):
    pdf = runs.render_manifest(get_session(), run_id, settings=settings(), viewer=current_actor())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{runs.run_code(run_id)}.pdf"'})


@bp.post("/runs/<int:run_id>/assign")
@spec.operation("post", "/runs/<int:run_id>/assign", "Assign a courier to a planned run", body=AssignIn,
                responses={200: RunOut}, errors=(409, 422))
@roles_required(*DRIVERS)
def assign(run_id: int):
    data = parse(AssignIn)
    return runs.assign(get_session(), run_id, data, actor=current_actor(), now=utcnow()).model_dump(mode="json")


@bp.post("/runs/<int:run_id>/start")
@spec.operation("post", "/runs/<int:run_id>/start", "Start a run (freezes its manifest)", responses={200: RunOut},
                errors=(409,))
@roles_required(*DRIVERS)
def start(run_id: int):
    window = timedelta(minutes=settings().run_start_window_min)
    return runs.start(get_session(), run_id, actor=current_actor(), now=utcnow(), window=window).model_dump(mode="json")


@bp.post("/runs/<int:run_id>/stops/<int:seq>/depart")
@spec.operation("post", "/runs/<int:run_id>/stops/<int:seq>/depart", "Leave a stop of a started run",
                responses={200: RunOut}, errors=(409,))
@roles_required(*DRIVERS)
def depart(run_id: int, seq: int):
    return runs.depart(get_session(), run_id, seq, actor=current_actor(), now=utcnow()).model_dump(mode="json")


@bp.post("/runs/<int:run_id>/close")
@spec.operation("post", "/runs/<int:run_id>/close", "Close a run; lists the parcels still on board",
                responses={200: RunClosedOut}, errors=(409,))
@roles_required(*DRIVERS)
def close(run_id: int):
    return runs.close(get_session(), run_id, actor=current_actor(), now=utcnow()).model_dump(mode="json")
