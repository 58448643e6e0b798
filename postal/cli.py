"""The `postal` command: database, accounts, demo data and the ledger, from the shell."""

from __future__ import annotations

import os
import signal
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import click
from tqdm import tqdm

from models import Role
from postal import accounts, audit, checkpoints, collection_cli, db, delivery, demo, intake_cli, ledger, notifications, runs, scheduler, watch
from postal.clock import LOCAL_TZ, local, utcnow
from postal.config import ConfigError, Settings
from postal.errors import PostalError


class DomainErrors(click.Group):
    """Show a refused request (or a setting refused at start) as a one-line error with exit 1, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (PostalError, ConfigError) as err:
            raise click.ClickException(str(err)) from None


@click.group(cls=DomainErrors)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Hồ sơ qua bưu điện: dossier shuttles between service centers and agencies."""
    ctx.obj = Settings.from_env()


@cli.group("db")
def db_group() -> None:
    """The database schema."""


@db_group.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Apply Alembic migrations."""
    revision = db.upgrade(settings)
    click.echo(f"database at revision {revision}")


@cli.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--site", "site_code", help="Home site code (required for clerks and couriers).")
@click.option("--password", help="Password for the pages; asked for when omitted.")
@click.option("--name", "full_name", default="", help="Full name.")
@click.pass_obj
def users_add(settings: Settings, username: str, role: str, site_code: str | None, password: str | None, full_name: str) -> None:
    """Add a member of staff."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with db.session_for(settings) as session:
        user = accounts.add_user(session, username, role=role, site_code=site_code, password=password,
                                 full_name=full_name, at=utcnow(), profile=settings.argon2_profile)
    click.echo(f"added {user.username} ({user.role})")


@cli.group("tokens")
def tokens_group() -> None:
    """Bearer tokens for devices and integrations."""


@tokens_group.command("issue")
@click.argument("username")
@click.option("--name", default="", help="What the token is for (a device, an integration).")
@click.option("--days", type=click.IntRange(1, 3660), help="Days until it expires (POSTAL_TOKEN_DAYS, 90, by default).")
@click.pass_obj
def tokens_issue(settings: Settings, username: str, name: str, days: int | None) -> None:
    """Print a new bearer token for USERNAME (the last word printed)."""
    at = utcnow()
    days = days or settings.token_days
    with db.session_for(settings) as session:
        token = accounts.issue_token(session, username, name=name, at=at, days=days)
    click.echo(f"expires {local(at + timedelta(days=days)):%Y-%m-%d %H:%M} ({days} days)")
    click.echo(f"token for {username}: {token}")


@tokens_group.command("list")
@click.argument("username", required=False)
@click.pass_obj
def tokens_list(settings: Settings, username: str | None) -> None:
    """The tokens issued (to USERNAME, or to everyone): id, user, state, expiry, last use, what for; never the token."""
    now = utcnow()
    with db.session_for(settings) as session:
        tokens = accounts.list_tokens(session, username)
    for t in tokens:
        used = f"last used {local(t.last_used_at):%d/%m/%Y %H:%M}" if t.last_used_at else "never used"
        click.echo(f"{t.id:>6}  {t.username:<16} {t.state(now):<8} expires {local(t.expires_at):%Y-%m-%d %H:%M}  "
                   f"{used:<27} {t.name}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@click.pass_obj
def tokens_revoke(settings: Settings, token_id: int) -> None:
    """Revoke a token by its id (from `postal tokens list`): it stops working at once."""
    with db.session_for(settings) as session:
        token = accounts.revoke_token(session, token_id, at=utcnow())
    click.echo(f"revoked token {token.id} of {token.username}")


@users_group.command("deactivate")
@click.argument("username")
@click.pass_obj
def users_deactivate(settings: Settings, username: str) -> None:
    """Lock an account: its page sessions and its tokens stop at once."""
    with db.session_for(settings) as session:
        revoked = accounts.deactivate_user(session, username, at=utcnow())
    click.echo(f"deactivated {username.strip().lower()}; {revoked} tokens revoked")


@cli.command("seed-demo")
@click.pass_obj
def seed_demo(settings: Settings) -> None:
    """Seed the demo province (Quảng Ninh) with a week of history into an empty database."""
    db.upgrade(settings)
    with db.session_for(settings) as session:
        if not demo.is_empty(session):
            raise click.ClickException("the database already has sites; seed-demo only fills an empty one")
        counts = seed_with_progress(session, settings)
    click.echo(f"seeded {counts['sites']} sites, {counts['users']} staff, {counts['steps']} steps of history")


def seed_with_progress(session, settings: Settings) -> dict[str, int]:
    bar = tqdm(desc="demo history", unit="step")
    try:
        return demo.seed(session, settings, utcnow(), progress=bar.update, total=lambda n: setattr(bar, "total", n))
    finally:
        bar.close()


@cli.command("verify-ledger")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A checkpoint file kept elsewhere; by default the installation's own, when it exists.")
@click.option("--verifier-key", default=None,
              help="The public key the checkpoints are checked with (see `postal ledger public-key`); by default "
                   "POSTAL_LEDGER_VERIFIER_KEY, else the signing key's.")
@click.option("--state", "with_state", is_flag=True, help="Also check each parcel's row against its last event.")
@click.pass_obj
def verify_ledger(settings: Settings, checkpoint_file: Path | None, verifier_key: str | None, with_state: bool) -> None:
    """Recompute the custody hash chain and check that it still holds every signed checkpoint, in the database
    and in the checkpoint file; exit 1 naming the first bad event or the checkpoint it lost."""
    files = [checkpoint_file] if checkpoint_file else [p for p in [settings.ledger_checkpoint_file] if p.exists()]
    with db.session_for(settings) as session:
        try:
            anchors = checkpoints.anchors(session, checkpoints.verifier_key(settings, verifier_key), files)
        except checkpoints.CheckpointError as err:
            raise click.ClickException(f"ledger not verified: {err}") from None
        with tqdm(total=ledger.count_events(session), desc="verifying", unit="event", leave=False) as bar:
            report = ledger.verify(session, progress=bar.update, anchors=anchors)
        if report.first_bad is not None:
            raise click.ClickException(f"ledger broken after {report.count} good events: event {report.first_bad} "
                                       f"— {report.reason}")
        if report.reason:
            raise click.ClickException(f"ledger broken: {report.reason}")
        state = audit.check_parcels(session, report.parcels) if with_state else None
    if state is not None and state.code is not None:
        raise click.ClickException(f"parcel {state.code} does not match the ledger: {state.reason}")
    summary = f"{report.count} events intact; " + anchorage(report)
    click.echo(summary + (f"; {state.count} parcels match their last event" if state is not None else ""))


def anchorage(report: ledger.Verification) -> str:
    if report.anchor is None:
        return "not anchored: no checkpoint yet (`postal ledger checkpoint` signs one)"
    anchor = report.anchor
    return f"anchored by {anchor.label} ({anchor.seq} events); {report.count - anchor.seq} events since"


@cli.group("ledger")
def ledger_group() -> None:
    """Signed checkpoints of the custody chain."""


@ledger_group.command("checkpoint")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the checkpoint to this file: a small text an auditor keeps elsewhere.")
@click.pass_obj
def ledger_checkpoint(settings: Settings, output: Path | None) -> None:
    """Sign the chain head now: kept in the database and written to the checkpoint file (the scheduler does
    it every minute); refused when the chain no longer holds an earlier checkpoint."""
    with db.session_for(settings) as session:
        try:
            taken = checkpoints.take(session, settings, utcnow(), also=output)
        except checkpoints.CheckpointError as err:
            raise click.ClickException(str(err)) from None
    done = "signed" if taken.new else "unchanged since the last one, of"
    click.echo(f"checkpoint of {taken.checkpoint.seq} events {done} {local(taken.checkpoint.made_at):%d/%m/%Y %H:%M}; "
               f"written to {', '.join(map(str, taken.files))}")


@ledger_group.command("public-key")
@click.pass_obj
def ledger_public_key(settings: Settings) -> None:
    """Print the key an auditor verifies checkpoints with (name+keyid+key), to set as POSTAL_LEDGER_VERIFIER_KEY."""
    try:
        click.echo(checkpoints.verifier_key(settings).text())
    except checkpoints.CheckpointError as err:
        raise click.ClickException(str(err)) from None


def moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime:
    """An --at ISO time (local time when it has no offset); now when not given."""
    if value is None:
        return utcnow()
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value}") from None
    return at if at.tzinfo else at.replace(tzinfo=LOCAL_TZ)


@cli.group("runs")
def runs_group() -> None:
    """Shuttle runs (chuyến)."""


@runs_group.command("generate")
@click.option("--date", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day (local date); today by default.")
@click.option("--days", default=1, show_default=True, type=click.IntRange(1, 366), help="How many calendar days.")
@click.option("--at", "now", callback=moment, help="Replay as of this ISO time.")
@click.pass_obj
def runs_generate(settings: Settings, start: datetime | None, days: int, now: datetime) -> None:
    """Create the runs of the working days from the templates; running it again creates nothing new."""
    first: date = start.date() if start else local(now).date()
    with db.session_for(settings) as session:
        created = runs.generate(session, first, days, now)
    click.echo(f"created {created} runs")
    if created.skipped:
        click.echo(f"skipped {len(created.skipped)} runs that would end outside working hours:")
        by_line: dict[tuple[str, str, str], list[str]] = {}
        for s in created.skipped:
            by_line.setdefault((s.name, f"{s.departs:%H:%M}", s.breach.describe()), []).append(f"{s.day:%d/%m/%Y}")
        for (name, departs, why), days_off in by_line.items():
            click.echo(f"  {name} {departs} on {', '.join(days_off)}: {why}")


@runs_group.command("freeze")
@click.option("--at", "now", callback=moment, help="Replay as of this ISO time.")
@click.pass_obj
def runs_freeze(settings: Settings, now: datetime) -> None:
    """Freeze the manifests of the runs whose cutoff has passed and order their stops (the scheduler does it each minute)."""
    with db.session_for(settings) as session:
        frozen = runs.freeze_due(session, now)
    click.echo(f"froze {frozen} runs")


@cli.command("scheduler")
@click.pass_obj
def run_scheduler(settings: Settings) -> None:
    """Run the scheduler alone: one leader per database, a second one waits to take over."""
    runner = scheduler.Runner(settings, announce=click.echo)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: runner.stopping.set())
    runner.run()
    if runner.abandoned:  # a job hangs: end without it rather than wait for it (see Runner.step_down)
        click.echo(f"a job was still running {scheduler.STOP_GRACE_S:.0f} s after the stop: ending without it")
        sys.stdout.flush()
        os._exit(0)


@cli.command("notify")
@click.option("--at", "now", callback=moment, help="Send what is due as of this ISO time.")
@click.pass_obj
def notify(settings: Settings, now: datetime) -> None:
    """Send the SMS, e-mails and webhooks due in the outbox (the scheduler does it each minute)."""
    report = notifications.send_pending(settings, now=now)
    held = f", held {report.held} (a gateway refuses its configuration: see the board)" if report.held else ""
    click.echo(f"sent {report.sent}, failed {report.failed}, retrying {report.retrying + report.released}{held}")


@cli.group("webhooks")
def webhooks_group() -> None:
    """The one-stop system's status webhooks."""


@webhooks_group.command("replay")
@click.option("--since", "since", required=True, help="Webhooks written from this time (ISO 8601 with offset).")
@click.option("--sent-too", is_flag=True, help="Also those the one-stop system took (it lost them).")
@click.option("--at", "now", callback=moment, help="Due as of this ISO time.")
@click.pass_obj
def webhooks_replay(settings: Settings, since: str, sent_too: bool, now: datetime) -> None:
    """Queue again the status webhooks given up on since a time, for when the one-stop system was down longer
    than the retries; `postal notify` (or the scheduler, within a minute) sends them, each with its id."""
    start = iso_moment(since, "--since")
    with db.session_for(settings) as session:
        count = notifications.replay_webhooks(session, settings, since=start, now=now, sent_too=sent_too)
    click.echo(f"{count} webhooks queued again since {start.isoformat()}")


@cli.command("delivery-runs")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Local date of the slots; today by default.")
@click.option("--at", "now", callback=moment, help="Replay as of this ISO time.")
@click.pass_obj
def delivery_runs(settings: Settings, day: datetime | None, now: datetime) -> None:
    """Make the day's home-delivery runs, one per post office and slot, doors in the shortest order found;
    running it again adds what was requested since to runs not yet started."""
    target: date = day.date() if day else local(now).date()
    with db.session_for(settings) as session:
        report = delivery.generate_day(session, target, now)
    click.echo(f"{report.runs} delivery runs, {report.stops} stops on {target.isoformat()}")


@cli.command("sweep")
@click.option("--at", "now", callback=moment, help="Run the rules as of this ISO time.")
@click.pass_obj
def sweep(settings: Settings, now: datetime) -> None:
    """Run every delay and loss rule once; print the alerts opened and resolved per kind (the scheduler does it each minute)."""
    with db.session_for(settings) as session:
        counts = watch.sweep(session, now, settings=settings)
    for kind, (opened, resolved) in counts.items():
        click.echo(f"{kind}: opened {opened}, resolved {resolved}")


@cli.command("export-epcis")
@click.option("--since", "since", default=None, help="Only events recorded from this time (ISO 8601 with offset).")
@click.option("--until", "until", default=None, help="Only events recorded before this time (ISO 8601 with offset).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-", show_default=True,
              help="File to write; '-' is standard output.")
@click.pass_obj
def export_epcis(settings: Settings, since: str | None, until: str | None, output: str) -> None:
    """Custody events as an EPCIS 2.0 JSON-LD document (GS1's schema; the mapping in the README)."""
    from postal import epcis

    start, end = iso_moment(since, "--since"), iso_moment(until, "--until")
    with db.session_for(settings) as session, click.open_file(output, "w", encoding="utf-8") as out:
        with tqdm(total=ledger.count_events(session), desc="exporting", unit="event", leave=False,
                  disable=output == "-") as bar:
            count = epcis.write_document(session, out, since=start, until=end, now=utcnow(), progress=bar.update)
    if output != "-":
        click.echo(f"{count} events written to {output}")


def iso_moment(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 time with its offset, or a usage error naming the option."""
    if not value:
        return None
    try:
        moment_ = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("ISO 8601, e.g. 2026-11-01T00:00:00+07:00", param_hint=option) from None
    if moment_.tzinfo is None:
        raise click.BadParameter("give the offset, e.g. +07:00", param_hint=option)
    return moment_


cli.add_command(intake_cli.procedures_group)
cli.add_command(intake_cli.import_dossiers)
cli.add_command(collection_cli.collections_command)
