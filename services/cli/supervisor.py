"""`trustline run`: the whole system in one terminal, stopped cleanly by Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from rich.console import Console

from trustline.ingest.topics import ensure_topics
from trustline.shared.migrations import upgrade
from trustline.shared.settings import Settings

from . import prometheus
from .devstack import DevStack
from .processes import DevStackError, port_open

STOP_GRACE_SECONDS = 15.0
DEFAULT_INGEST_METRICS_PORT = 9101
DEFAULT_AGG_METRICS_PORT = 9102


@dataclass
class Child:
    """A component process and where its output goes."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path | None


@dataclass
class Supervisor:
    """Starts the stack and every component, and stops all it started."""

    settings: Settings
    console: Console
    demo: bool
    children: list[Child] = field(default_factory=list)
    _stop: bool = False

    def run(self) -> int:
        """Run until Ctrl-C/SIGTERM or until a component dies; returns the exit code."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        stack = DevStack(self.settings)
        started = [s for s in (stack.postgres, stack.broker) if s is not None and not s.running()]
        try:
            self._start(stack)
            return self._watch()
        except DevStackError as exc:
            self._say(f"[red]cannot start Trustline:[/] {exc}")
            return 1
        finally:
            self._stop_children()
            for service in reversed(started):
                self._say(f"stopping {service.status().name}")
                service.down()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop = True

    def _say(self, text: str) -> None:
        self.console.print(text, highlight=False)
        self.console.file.flush()  # visible at once even when the output is a file or a pipe

    def _step(self, text: str) -> None:
        self._say(f"[bold cyan]»[/] {text}")

    def _start(self, stack: DevStack) -> None:
        if port_open(self.settings.api_port, self.settings.api_host):
            port = self.settings.api_port
            raise DevStackError(f"port {port} is taken (another `make run`?); set TRUSTLINE_API_PORT")
        self._step("starting the local stack (embedded PostgreSQL, Kafka-protocol broker)")
        stack.up()
        self._step("migrating the schema")
        upgrade(self.settings)
        self._step("creating topics")
        asyncio.run(ensure_topics(self.settings))
        logs = self.settings.state_dir / "log"
        logs.mkdir(parents=True, exist_ok=True)
        for name, args in (("ingest", ["ingest"]), ("aggregator", ["aggregate"]), ("api", ["api"])):
            self._spawn(name, [sys.executable, "-m", "trustline.cli", *args], logs / f"{name}.log")
        self._wait_api()
        prom = self._start_prometheus(logs)
        self._banner(logs, prom)
        if self.demo:
            self._spawn("demo", [sys.executable, "-m", "trustline.cli", "demo"], None)

    def _start_prometheus(self, logs: Path) -> str:
        """Start Prometheus when installed; returns its URL, or a note saying why it is not running."""
        port = self.settings.prometheus_port
        if port_open(port):
            return f"(not started: port {port} is taken; set TRUSTLINE_PROMETHEUS_PORT)"
        ingest, aggregator = self._metrics_ports()
        config = prometheus.write_config(self.settings, ingest_port=ingest, aggregator_port=aggregator)
        cmd = prometheus.command(self.settings, config)
        if cmd is None:
            return "(not installed: Debian's `prometheus` package adds it)"
        self._spawn("prometheus", cmd, logs / "prometheus.log")
        return f"http://127.0.0.1:{port}"

    def _spawn(self, name: str, cmd: list[str], log: Path | None) -> None:
        out = log.open("ab") if log is not None else None
        proc = subprocess.Popen(
            cmd,
            env=self._child_env(),
            stdout=out or None,
            stderr=subprocess.STDOUT if out else None,
            stdin=subprocess.DEVNULL,
        )
        if out is not None:
            out.close()
        self.children.append(Child(name, proc, log))

    def _metrics_ports(self) -> tuple[int, int]:
        s = self.settings
        return (
            s.ingest_metrics_port or DEFAULT_INGEST_METRICS_PORT,
            s.aggregator_metrics_port or DEFAULT_AGG_METRICS_PORT,
        )

    def _child_env(self) -> dict[str, str]:
        ingest, aggregator = self._metrics_ports()
        return {
            **os.environ,
            "TRUSTLINE_INGEST_METRICS_PORT": str(ingest),
            "TRUSTLINE_AGGREGATOR_METRICS_PORT": str(aggregator),
        }

    def _wait_api(self) -> None:
        url = f"http://{self.settings.api_host}:{self.settings.api_port}/healthz"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self._stop:
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return
            except OSError:
                self._check_children()
                time.sleep(0.3)
        raise DevStackError(f"the API did not answer on {url}")

    def _banner(self, logs: Path, prom: str) -> None:
        base = f"http://{self.settings.api_host}:{self.settings.api_port}"
        db = self.settings.sqlalchemy_url().replace("+asyncpg", "")
        db = db if self.settings.manages_postgres else "(TRUSTLINE_DATABASE_URL)"
        self._say(
            "\n[bold green]Trustline is running.[/]\n"
            f"  metrics     {base}/metrics\n"
            f"  API docs    {base}/docs\n"
            f"  readiness   {base}/readyz\n"
            f"  ingest      http://{self.settings.metrics_host}:{self._metrics_ports()[0]}/metrics\n"
            f"  aggregator  http://{self.settings.metrics_host}:{self._metrics_ports()[1]}/metrics\n"
            f"  Prometheus  {prom}\n"
            f"  PostgreSQL  {db}\n"
            f"  Kafka       {self.settings.bootstrap_servers()}  (topics {self.settings.topic_prefix}.*)\n"
            f"  logs        {logs}/\n"
            "Ctrl-C stops everything this command started.\n"
        )

    def _check_children(self) -> None:
        for child in self.children:
            code = child.proc.poll()
            if code is not None and child.name == "prometheus":
                self._say(f"[yellow]prometheus exited with code {code}; see {child.log}[/]")
                self.children.remove(child)
                return
            if code is not None and not (child.name == "demo" and code == 0):
                where = f"; see {child.log}" if child.log else ""
                raise DevStackError(f"{child.name} exited with code {code}{where}")

    def _watch(self) -> int:
        try:
            while not self._stop:
                self._check_children()
                time.sleep(0.5)
        except DevStackError as exc:
            self._say(f"[red]{exc}[/]")
            return 1
        self._say("\nstopping…")
        return 0

    def _stop_children(self) -> None:
        for child in self.children:
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in self.children:
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait()
        self.children.clear()
