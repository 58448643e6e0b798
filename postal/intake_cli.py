"""The `postal` commands for what comes in from outside: the procedure catalogue (`postal procedures`), and the
one-stop system's dossiers (`postal import-dossiers`). Added to the `postal` group by postal/cli.py."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from tqdm import tqdm

from models import Role, User
from models.counter import ProcedureIn
from postal import accounts, datafiles, db, imports, procedures
from postal.changes import shell
from postal.clock import utcnow
from postal.config import Settings
from postal.errors import AccountDeactivated


@click.group("procedures")
def procedures_group() -> None:
    """The procedure catalogue the counters receive."""


@procedures_group.command("list")
@click.option("--agency", help="An agency's site code: its procedures only.")
@click.option("--all", "everything", is_flag=True, help="Also the procedures no longer offered.")
@click.pass_obj
def procedures_list(settings: Settings, agency: str | None, everything: bool) -> None:
    """The procedures: id, agency, working days, where received, dossiers so far, name."""
    with db.session_for(settings) as session:
        found = procedures.catalogue(session, agency=agency, active=None if everything else True)
    for p in found.procedures:
        state = "" if p.active else "  (stopped)"
        click.echo(f"{p.id:>5}  {p.agency:<12} {p.processing_days:>3} d  {p.site or '*':<12} {p.dossiers:>6}  "
                   f"{p.name}{state}")


@procedures_group.command("add")
@click.argument("name")
@click.option("--agency", required=True, help="The deciding agency's site code.")
@click.option("--days", type=click.IntRange(0, 365), required=True, help="Legal processing time, in working days.")
@click.option("--site", help="Received only at this site (default: at every center and commune center).")
@click.pass_obj
def procedures_add(settings: Settings, name: str, agency: str, days: int, site: str | None) -> None:
    """Add a procedure to the catalogue (recorded in the audit log)."""
    with db.session_for(settings) as session:
        row = procedures.create(session, ProcedureIn(name=name, agency=agency, processing_days=days, site=site),
                                by=shell(), at=utcnow())
    click.echo(f"added procedure {row.id}: {row.name} ({row.agency}, {row.processing_days} working days)")


@procedures_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def procedures_import(settings: Settings, file: Path) -> None:
    """Save the procedures of a CSV (columns name, agency, processing_days, site) or JSON file by name and agency;
    each change in the audit log; exit 1 when a line is refused (the others are kept)."""
    rows = datafiles.records(file, "procedures")
    with db.session_for(settings) as session:
        done = procedures.import_rows(session, rows, by=shell(), at=utcnow())
    for item in done:
        if item.error is not None:
            click.echo(f"line {item.line}: {item.name or '?'}: {item.error}", err=True)
    counts = {kind: sum(1 for item in done if item.outcome == kind) for kind in ("created", "edited", "unchanged", "invalid")}
    click.echo(f"{counts['created']} created, {counts['edited']} edited, {counts['unchanged']} unchanged, "
               f"{counts['invalid']} refused")
    if counts["invalid"]:
        raise SystemExit(1)


@click.command("import-dossiers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", help="The account registering them (its site is the default origin); by default "
              "the command line, with no site: each row names its origin.")
@click.pass_obj
def import_dossiers(settings: Settings, file: Path, username: str | None) -> None:
    """Register the one-stop system's dossiers of a CSV or JSON file (README: the columns), idempotently by code:
    a line per row not created or unchanged, the counts, exit 1 when a row is refused."""
    rows = datafiles.records(file, "dossiers")
    with db.session_for(settings) as session:
        actor = accounts.user_named(session, username) if username else User(username=shell().username,
                                                                              role=Role.SUPERVISOR)
        if not actor.active:
            raise AccountDeactivated(username=actor.username)
        with tqdm(total=len(rows), unit="dossier", desc=file.name, file=sys.stderr) as bar:
            results = imports.import_dossiers(session, rows, actor=actor, settings=settings, now=utcnow(),
                                              progress=bar.update)
    for r in results:
        if r.status in ("conflict", "invalid"):
            click.echo(f"line {r.row} {r.code or '?'}: {r.status}"
                       + (f" ({', '.join(r.fields)})" if r.fields else "") + f": {r.error}", err=True)
    out = imports.batch_out(results, str)
    click.echo(f"{out.created} created, {out.unchanged} unchanged, {out.conflict} conflict, {out.invalid} invalid")
    if out.conflict or out.invalid:
        raise SystemExit(1)
