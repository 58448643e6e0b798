"""`postal collections`: a courier's end-of-day reconciliation of the fees collected at the door, from the shell.
Added to the `postal` group by postal/cli.py."""

from __future__ import annotations

from datetime import datetime

import click
from sqlmodel import select

from models import User
from postal import db
from postal.clock import local, utcnow
from postal.config import Settings
from postal.delivery import collection
from postal.errors import NotFound


@click.command("collections")
@click.argument("username")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), help="The local day, YYYY-MM-DD; today by default.")
@click.pass_obj
def collections_command(settings: Settings, username: str, day: datetime | None) -> None:
    """What USERNAME collected at the door on a day, per request against what was due; differences flagged
    (exit 1 when there is one)."""
    when = day.date() if day else local(utcnow()).date()
    with db.session_for(settings) as session:
        courier = session.exec(select(User).where(User.username == username)).first()
        if courier is None:
            raise NotFound()
        lines = collection.courier_day(session, courier.id, when)
    for ln in lines:
        flag = "" if ln.difference_vnd == 0 else f"  DIFFERENCE {ln.difference_vnd:+,}"
        click.echo(f"{ln.dossier_code:<32} due {ln.due_vnd:>12,}  received {ln.received_vnd:>12,}  "
                   f"{ln.method:<8} {ln.reference or '':<20}{flag}")
    due, received = sum(ln.due_vnd for ln in lines), sum(ln.received_vnd for ln in lines)
    click.echo(f"{when:%d/%m/%Y}: {len(lines)} collections, due {due:,} VND, received {received:,} VND")
    if any(ln.difference_vnd for ln in lines):
        raise SystemExit(1)

