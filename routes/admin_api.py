"""The admin's part of the API under /api/v1: a site saved or taken out of the network (admins only)."""

from __future__ import annotations

from flask import Blueprint

from models import Role, SitePublic
from models.sites import SiteIn, SiteOut
from postal import sites
from postal.clock import utcnow
from routes.api import parse, spec
from routes.auth import current_actor, roles_required
from routes.session import get_session

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")


def site_answer(site) -> dict:
    return SiteOut(site=SitePublic.model_validate(site, from_attributes=True)).model_dump(mode="json")


@bp.put("/sites/<code>")
@spec.operation("put", "/sites/<code>", "Create or edit a site by its code (admin)", body=SiteIn,
                responses={200: SiteOut}, errors=(409, 422))
@roles_required(Role.ADMIN)
def save_site(code: str):
    data = parse(SiteIn)
    site = sites.save_site(get_session(), code=code, by=current_actor(), at=utcnow(), **data.model_dump())
    return site_answer(site)


@bp.post("/sites/<code>/deactivate")
@spec.operation("post", "/sites/<code>/deactivate", "Take a site out of the network (admin): refused (409) while "
                "parcels are still there or an active run template stops there", responses={200: SiteOut}, errors=(409,))
@roles_required(Role.ADMIN)
def deactivate_site(code: str):
    return site_answer(sites.set_active(get_session(), code, False, at=utcnow(), by=current_actor()))


@bp.post("/sites/<code>/activate")
@spec.operation("post", "/sites/<code>/activate", "Bring a site back into the network (admin)", responses={200: SiteOut})
@roles_required(Role.ADMIN)
def activate_site(code: str):
    return site_answer(sites.set_active(get_session(), code, True, at=utcnow(), by=current_actor()))
