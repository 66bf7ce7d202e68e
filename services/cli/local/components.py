"""One supervised component of `trustline run`: a process restarted with backoff when it crashes, and
given up after repeated crashes so that it cannot take the rest down with it."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

RESTART_LIMIT = 5  # crashes within RESTART_WINDOW_SECONDS before giving up
RESTART_WINDOW_SECONDS = 120.0
MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class Note:
    """Something worth telling the user; `level` picks the colour."""

    level: str  # "info", "warning" or "error"
    text: str


@dataclass
class Component:
    """A child process and its restart bookkeeping."""

    name: str
    cmd: list[str]
    log: Path | None
    env: dict[str, str]
    restart_after_success: bool = True  # False for the demo: it may finish its job and exit 0
    proc: subprocess.Popen[bytes] | None = None
    state: str = "new"  # running, restarting, finished, gave-up, stopped
    restarts: int = 0
    restart_at: float = 0.0
    crashes: deque[float] = field(default_factory=deque)

    def start(self) -> None:
        """Start the process; its output goes to its log (or ours when it has none)."""
        out = self.log.open("ab") if self.log is not None else None
        try:
            # A session of its own: Ctrl-C reaches only the supervisor, which stops components in order.
            self.proc = subprocess.Popen(
                self.cmd,
                env=self.env,
                stdout=out or None,
                stderr=subprocess.STDOUT if out else None,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            if out is not None:
                out.close()
        self.state = "running"

    @property
    def pid(self) -> int | None:
        """The pid of the live process, if any."""
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def check(self, now: float | None = None) -> Note | None:
        """Notice an exit and schedule a restart (or give up), or restart when the backoff has passed."""
        now = time.monotonic() if now is None else now
        if self.state == "restarting" and now >= self.restart_at:
            try:
                self.start()
            except OSError as exc:  # e.g. its program was removed meanwhile
                self.state = "gave-up"
                return Note("error", f"{self.name} cannot start again ({exc}); the rest keeps running")
            self.restarts += 1
            return Note("info", f"{self.name} restarted (restart {self.restarts})")
        if self.state != "running" or self.proc is None or (code := self.proc.poll()) is None:
            return None
        if code == 0 and not self.restart_after_success:
            self.state = "finished"
            return Note("info", f"{self.name} finished")
        return self._crashed(code, now)

    def _crashed(self, code: int, now: float) -> Note:
        self.crashes.append(now)
        while self.crashes and self.crashes[0] < now - RESTART_WINDOW_SECONDS:
            self.crashes.popleft()
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        where = f"; see {self.log}" if self.log else ""
        if len(self.crashes) >= RESTART_LIMIT:
            self.state = "gave-up"
            minutes = RESTART_WINDOW_SECONDS / 60
            return Note(
                "error",
                f"{self.name} {how}: {len(self.crashes)} crashes within {minutes:g} minutes, so it is not "
                f"restarted again{where}. Everything else keeps running; fix the cause and start it again "
                "(or restart `trustline run`).",
            )
        delay = min(MAX_BACKOFF_SECONDS, 2.0 ** (len(self.crashes) - 1))
        self.state, self.restart_at = "restarting", now + delay
        return Note("warning", f"{self.name} {how}; restarting it in {delay:g}s{where}")

    def terminate(self) -> None:
        """Ask the process to stop (SIGTERM); it is not restarted afterwards."""
        self.state = "stopped"
        if self.pid is not None and self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, deadline: float) -> None:
        """Wait for the process to end until `deadline` (monotonic), then kill it."""
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def describe(self) -> dict[str, object]:
        """What `dev status` shows and `dev down` needs (to clean up after a killed supervisor)."""
        return {"pid": self.pid, "state": self.state, "restarts": self.restarts, "cmd": self.cmd[:4]}
