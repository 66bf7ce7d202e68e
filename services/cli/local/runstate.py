"""The record a running `trustline run` keeps in its state dir, so that `trustline dev down` (and `make
stop`) can ask it to stop, and wait, before touching the servers under it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .processes import DevStackError

RUN_FILE = "run.json"
STOP_WAIT_SECONDS = 120.0


def path(state_dir: Path) -> Path:
    """Where the record lives."""
    return state_dir / RUN_FILE


def write(state_dir: Path, record: dict[str, Any]) -> None:
    """Replace the record atomically (a reader never sees half of it)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = path(state_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(path(state_dir))


def read(state_dir: Path) -> dict[str, Any] | None:
    """The record, whether its supervisor still runs or not; None when there is none."""
    try:
        record = json.loads(path(state_dir).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("pid"), int) else None


def clear(state_dir: Path) -> None:
    """Remove the record (the supervisor's last act)."""
    path(state_dir).unlink(missing_ok=True)


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def is_alive(pid: int, marker: list[str]) -> bool:
    """True when `pid` runs a command line that starts with (or contains) `marker` (pids get reused)."""
    line = _cmdline(pid)
    return bool(line) and all(part in line for part in marker)


def supervisor_alive(record: dict[str, Any]) -> bool:
    """True when the record's supervisor is still running."""
    return is_alive(int(record["pid"]), ["run"]) and any("trustline" in p for p in _cmdline(record["pid"]))


def active(state_dir: Path) -> dict[str, Any] | None:
    """The record of a live `trustline run` on this state dir, else None."""
    record = read(state_dir)
    return record if record is not None and supervisor_alive(record) else None


def stop(state_dir: Path, say: Callable[[str], None], *, seconds: float = STOP_WAIT_SECONDS) -> bool:
    """Ask a running `trustline run` to stop and wait for it; True when there was one.

    A record left by a supervisor that was killed outright has its components stopped here instead.
    """
    record = read(state_dir)
    if record is None:
        return False
    pid = int(record["pid"])
    if not supervisor_alive(record):
        _stop_leftovers(record, say)
        clear(state_dir)
        return True
    say(f"asking `trustline run` (pid {pid}) to stop its components and servers")
    os.kill(pid, signal.SIGTERM)
    started = last = time.monotonic()
    while supervisor_alive(record):
        now = time.monotonic()
        if now - started > seconds:
            raise DevStackError(f"`trustline run` (pid {pid}) did not stop within {seconds:.0f}s")
        if now - last >= 5:
            say(f"still waiting for `trustline run` (pid {pid}) to stop ({now - started:.0f}s)")
            last = now
        time.sleep(0.2)
    say("`trustline run` stopped")
    return True


def _stop_leftovers(record: dict[str, Any], say: Callable[[str], None]) -> None:
    components = record.get("components")
    for name, info in components.items() if isinstance(components, dict) else ():
        pid, cmd = info.get("pid"), info.get("cmd")
        if isinstance(pid, int) and isinstance(cmd, list) and is_alive(pid, [str(c) for c in cmd]):
            say(f"stopping {name} (pid {pid}), left running by a `trustline run` that was killed")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
                _wait_gone(pid, 15.0)


def _wait_gone(pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGKILL)
