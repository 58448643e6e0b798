"""The console script: the domain's commands plus `up`, which serves the web app."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from gunicorn.app.base import BaseApplication

from postal import db, demo, metrics, notifications, ratelimits
from postal.cli import cli, seed_with_progress
from postal.config import ROOT, Settings
from postal.demo_data import DEMO_PASSWORD
from routes.processes import Child, Supervisor, command


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


def serving_settings(workers: int) -> Settings:
    """Several workers count their rate limits in one store that answers (never memory), or do not start."""
    settings, note = ratelimits.settings_for_workers(workers)
    if note:
        click.echo(note)
    os.environ["POSTAL_WORKERS"] = str(settings.workers)  # each worker's create_app() counts in the same store
    return settings


WORKERS = click.option("--workers", default=min(4, multiprocessing.cpu_count() + 1), show_default=True, type=int,
                       envvar="POSTAL_WORKERS")


@contextmanager
def metrics_folder(settings: Settings) -> Iterator[Path]:
    """Where every process of this server keeps its metrics: a fresh folder under instance/, named in
    PROMETHEUS_MULTIPROC_DIR for the processes started from here (the one place that names it), removed when
    they have ended. A folder named already (`postal up` naming its own for its `postal serve`) is used."""
    if settings.metrics_dir is not None:
        metrics.use_folder(settings.metrics_dir)
        yield settings.metrics_dir
        return
    (ROOT / "instance").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="metrics-", dir=ROOT / "instance"))  # fresh: no dead process's counts
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    metrics.use_folder(folder)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@WORKERS
@click.pass_obj
def serve(given: Settings, host: str, port: int, workers: int) -> None:
    """Serve the web app only (gunicorn); `postal up` runs it beside the scheduler. Its master process never
    opens the database: each worker opens its own connections."""
    settings = serving_settings(workers)
    with metrics_folder(given) as folder:
        threads = {"threads": 4} if settings.worker_class == "gthread" else {}  # sync: one request at a time
        Server({"bind": f"{host}:{port}", "workers": settings.workers, **threads, "worker_class": settings.worker_class,
                "accesslog": "-", "access_log_format": ACCESS_LOG, "timeout": 60, "graceful_timeout": GRACEFUL_S,
                "preload_app": False, "child_exit": lambda _server, worker: metrics.mark_dead(worker.pid, folder),
                # gunicorn's control socket is one path per user (~/.gunicorn): two servers on a machine would take
                # each other's, and its thread holds the master's stop. We steer gunicorn with signals only.
                "control_socket_disable": True}).run()


ACCESS_LOG = '%(h)s %(p)s "%(r)s" %(s)s %(b)s %(M)sms'  # which worker answered, and in how long
GRACEFUL_S = 5  # workers finish their requests within this after SIGTERM; `postal up` stops within 10 s


@cli.command("up")
@click.option("--demo", "with_demo", is_flag=True, help="Seed the demo province when the database is empty.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@WORKERS
@click.pass_obj
def up(settings: Settings, with_demo: bool, host: str, port: int, workers: int) -> None:
    """Migrate, seed the demo when asked, and serve the app: the web server and the scheduler, each in a
    process of its own, restarted or stopped together."""
    workers = serving_settings(workers).workers  # refuse before anything is written
    # The metrics' folder first: the demo's seeding counts scans, and the workers and scheduler add theirs.
    with metrics_folder(settings):
        db.upgrade(settings)
        if with_demo:
            with db.session_for(settings) as session:
                if demo.is_empty(session):
                    seed_with_progress(session, settings)
        db.engine_for(settings).dispose()
        url = f"http://{host}:{port}/"
        click.echo(f"\nHồ sơ qua bưu điện — {url}")
        if with_demo:
            click.echo(f"Demo logins (password {DEMO_PASSWORD}):")
            for username, role, site in demo.demo_logins():
                click.echo(f"  {username:<12} {role:<13} {site}")
            click.echo(f"Citizens' messages go {notifications.citizen_route(settings)}.")
        code = Supervisor([  # the web workers' metrics and the scheduler's, scraped together
            Child("web server", command("serve", "--host", host, "--port", str(port), "--workers", str(workers)),
                  essential=True),
            Child("scheduler", command("scheduler"), essential=False),
        ], announce=click.echo).run()
    sys.exit(code)


def main() -> None:
    cli(prog_name="postal")
