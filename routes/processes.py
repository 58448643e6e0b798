"""The processes `postal up` runs: the web server and the scheduler, each a program of its own, supervised.

Nothing that holds a database connection runs in the process that forks the web workers: gunicorn's
master only forks and watches, and the scheduler (APScheduler, its job store, the ledger checkpoints) is
`postal scheduler` in a process of its own. `postal up` itself migrates, seeds, then only starts, watches
and stops the two: a scheduler that dies is started again after a pause; when the web server ends, or
on SIGTERM / SIGINT, both are stopped, each given STOP_S before it is killed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

STOP_S = 8.0  # a child that has not ended this long after SIGTERM is killed: `postal up` ends within 10 s
RESTART_FIRST_S, RESTART_MAX_S = 1.0, 30.0  # a scheduler that keeps dying is restarted less and less often
POLL_S = 0.2


def command(*args: str) -> list[str]:
    """This installation's console script, as a child process: `python -m routes ARGS`."""
    return [sys.executable, "-m", "routes", *args]


@dataclass
class Child:
    """One program `postal up` keeps running."""

    name: str
    argv: Sequence[str]
    essential: bool  # when it ends, everything ends (the web server); otherwise it is started again
    process: subprocess.Popen | None = None
    restarts: int = 0
    restart_at: float | None = None
    pause_s: float = field(default=RESTART_FIRST_S)

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv)
        self.restart_at = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    """Start the children, restart the ones that may be restarted, stop them all together."""

    def __init__(self, children: Sequence[Child], announce: Callable[[str], None]) -> None:
        self.children = list(children)
        self.announce = announce
        self.stopping = threading.Event()
        self.exit_code = 0

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self.on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for child in self.children:
                child.start()
            while not self.stopping.wait(POLL_S):
                self.watch()
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.exit_code

    def on_signal(self, signum: int, _frame) -> None:
        self.stopping.set()

    def watch(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    child.start()
                continue
            code = child.process.poll() if child.process is not None else None
            if code is None:
                continue
            if child.essential:
                self.announce(f"{child.name} ended (exit {code}): stopping")
                self.exit_code = code or 0
                self.stopping.set()
                return
            self.announce(f"{child.name} ended (exit {code}): starting it again in {child.pause_s:.0f} s")
            child.restart_at = now + child.pause_s
            child.pause_s = min(child.pause_s * 2, RESTART_MAX_S)

    def stop_all(self) -> None:
        """SIGTERM to every child, then SIGKILL to any still running STOP_S later."""
        running = [child for child in self.children if child.running()]
        for child in running:
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_S
        for child in running:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.announce(f"{child.name} did not stop within {STOP_S:.0f} s: killed")
                child.process.kill()
                child.process.wait()
