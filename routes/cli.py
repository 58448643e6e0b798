"""The console script: the domain's commands plus `up`, which serves the web app."""

from __future__ import annotations

import multiprocessing
import os

import click
from gunicorn.app.base import BaseApplication

from postal import db, demo, ratelimits, scheduler
from postal.cli import cli, seed_with_progress
from postal.config import Settings
from postal.demo_data import DEMO_PASSWORD


class Server(BaseApplication):
    """gunicorn, configured from here: several workers, each with threads."""

    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from routes import create_app

        return create_app()


@cli.command("up")
@click.option("--demo", "with_demo", is_flag=True, help="Seed the demo province when the database is empty.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=min(4, multiprocessing.cpu_count() + 1), show_default=True, type=int,
              envvar="POSTAL_WORKERS")
@click.pass_obj
def up(settings: Settings, with_demo: bool, host: str, port: int, workers: int) -> None:
    """Migrate, seed the demo when asked, and serve the app."""
    # Several workers count their rate limits in one store that answers (never memory), or do not start.
    settings, note = ratelimits.settings_for_workers(workers)
    if note:
        click.echo(note)
    workers = settings.workers
    os.environ["POSTAL_WORKERS"] = str(workers)  # each worker's create_app() then counts in the same store
    db.upgrade(settings)
    if with_demo:
        with db.session_for(settings) as session:
            if demo.is_empty(session):
                seed_with_progress(session, settings)
    url = f"http://{host}:{port}/"
    click.echo(f"\nHồ sơ qua bưu điện — {url}")
    if with_demo:
        click.echo(f"Demo logins (password {DEMO_PASSWORD}):")
        for username, role, site in demo.demo_logins():
            click.echo(f"  {username:<12} {role:<13} {site}")
    db.engine_for(settings).dispose()  # workers open their own connections after the fork
    # The scheduler runs once, in gunicorn's master (its hooks run there, never in a worker); another
    # `postal up` or `postal scheduler` on the same database waits for the leadership.
    runner = scheduler.Runner(settings, announce=click.echo)
    Server({"bind": f"{host}:{port}", "workers": workers, "threads": 4, "worker_class": "gthread",
            "accesslog": "-", "timeout": 60, "preload_app": False,
            "when_ready": lambda _arbiter: runner.start_background(),
            "on_exit": lambda _arbiter: runner.stop()}).run()


def main() -> None:
    cli(prog_name="postal")
