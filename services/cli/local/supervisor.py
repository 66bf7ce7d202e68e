"""`trustline run`: the whole system in one terminal, kept running, and stopped cleanly.

A crashed component is restarted with backoff and given up after repeated crashes; the servers stay up
whatever a component does. The embedded broker keeps everything in memory, so when it comes back (it is
restarted here if it dies) the topics are created again. `trustline dev down` asks a running supervisor
to stop (through the record in the state dir) before it touches the servers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from aiokafka.errors import KafkaError
from rich.console import Console
from rich.markup import escape

from trustline.ingest.topics import ensure_topics
from trustline.shared.grants import GrantError
from trustline.shared.migrations import upgrade
from trustline.shared.settings import Settings, redact

from . import prometheus, runstate
from .components import Component, Note
from .devstack import DevStack
from .processes import DevStackError, port_open

STOP_GRACE_SECONDS = 15.0
SERVER_CHECK_SECONDS = 2.0
DEFAULT_INGEST_METRICS_PORT = 9101
DEFAULT_AGG_METRICS_PORT = 9102
_COLOURS = {"info": "cyan", "warning": "yellow", "error": "red"}


@dataclass
class Supervisor:
    """Starts the stack and every component, keeps them running, and stops all it started."""

    settings: Settings
    console: Console
    demo: bool
    components: list[Component] = field(default_factory=list)
    _stop: bool = False
    _broker_pid: int | None = None
    _started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def run(self) -> int:
        """Run until Ctrl-C/SIGTERM (e.g. from `trustline dev down`); returns the exit code."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        state_dir = self.settings.state_dir
        if (other := runstate.active(state_dir)) is not None:
            self._say(f"[red]another `trustline run` (pid {other['pid']}) uses {state_dir}[/]")
            return 1
        stack = DevStack(self.settings)
        started = [s for s in (stack.postgres, stack.broker) if s is not None and not s.running()]
        self._record()
        try:
            self._start(stack)
            self._watch(stack)
            return 0
        except (DevStackError, GrantError) as exc:
            self._say(f"[red]cannot run Trustline:[/] {escape(redact(str(exc)))}")
            return 1
        finally:
            self._stop_components()
            for service in reversed(started):
                self._say(f"stopping {service.status().name}")
                service.down()
            runstate.clear(state_dir)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop = True

    def _say(self, text: str) -> None:
        self.console.print(text, highlight=False)
        self.console.file.flush()  # visible at once even when the output is a file or a pipe

    def _note(self, note: Note) -> None:
        self._say(f"[{_COLOURS[note.level]}]{note.text}[/]")

    def _step(self, text: str) -> None:
        self._say(f"[bold cyan]»[/] {text}")

    def _record(self) -> None:
        runstate.write(
            self.settings.state_dir,
            {
                "pid": os.getpid(),
                "started_at": self._started_at,
                "components": {c.name: c.describe() for c in self.components},
            },
        )

    def _start(self, stack: DevStack) -> None:
        if port_open(self.settings.api_port, self.settings.api_host):
            port = self.settings.api_port
            raise DevStackError(f"port {port} is taken (another `make run`?); set TRUSTLINE_API_PORT")
        self._step("starting the local stack (embedded PostgreSQL, Kafka-protocol broker)")
        stack.up()
        self._step("migrating the schema")
        if (report := upgrade(self.settings)) is not None and report.notes:
            self._say(f"[yellow]{report.summary()}[/]")
        self._step("creating topics")
        asyncio.run(ensure_topics(self.settings))
        self._broker_pid = stack.broker.pid() if stack.broker is not None else None
        logs = self.settings.state_dir / "log"
        logs.mkdir(parents=True, exist_ok=True)
        for name, args in (("ingest", ["ingest"]), ("aggregator", ["aggregate"]), ("api", ["api"])):
            self._spawn(name, [sys.executable, "-m", "trustline.cli", *args], logs / f"{name}.log")
        self._wait_api()
        if self._stop:  # asked to stop (Ctrl-C, `dev down`) while starting
            return
        prom = self._start_prometheus(logs)
        self._banner(logs, prom)
        if self.demo:
            # The demo is restarted only when it fails: it may finish (e.g. with --duration).
            self._spawn("demo", [sys.executable, "-m", "trustline.cli", "demo"], None, again_on_exit_0=False)

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

    def _spawn(self, name: str, cmd: list[str], log: Path | None, *, again_on_exit_0: bool = True) -> None:
        component = Component(name, cmd, log, self._child_env(), restart_after_success=again_on_exit_0)
        component.start()
        self.components.append(component)
        self._record()

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
                self._check_components()
                if any(c.name == "api" and c.state == "gave-up" for c in self.components):
                    break
                time.sleep(0.3)
        if not self._stop:
            raise DevStackError(f"the API did not answer on {url}; see {self.settings.state_dir}/log/api.log")

    def _banner(self, logs: Path, prom: str) -> None:
        base = f"http://{self.settings.api_host}:{self.settings.api_port}"
        self._say(
            "\n[bold green]Trustline is running.[/]\n"
            f"  pages       {self.settings.pages_url()}/  ({self._sign_in()})\n"
            f"  metrics     {base}/metrics\n"
            f"  API docs    {base}/docs\n"
            f"  readiness   {base}/readyz\n"
            f"  ingest      http://{self.settings.metrics_host}:{self._metrics_ports()[0]}/metrics\n"
            f"  aggregator  http://{self.settings.metrics_host}:{self._metrics_ports()[1]}/metrics\n"
            f"  Prometheus  {prom}\n"
            f"  PostgreSQL  {self.settings.redacted_database_url()}\n"
            f"  Kafka       {self.settings.bootstrap_servers()}  (topics {self.settings.topic_prefix}.*"
            f"{', in memory' if self.settings.manages_broker else ''})\n"
            f"  logs        {logs}/\n"
            "Ctrl-C (or `make stop` elsewhere) stops everything this command started.\n"
        )

    def _sign_in(self) -> str:
        """How to sign in to the pages: the identity provider, and the local sign-in in development."""
        ways = ["single sign-on"] if self.settings.oidc_issuer else []
        if self.settings.dev_sign_in_enabled:
            ways.append("development sign-in: any name, pick the scopes")
        return "; ".join(ways) or "no sign-in configured"

    def _check_components(self) -> None:
        changed = False
        for component in self.components:
            if (note := component.check()) is not None:
                self._note(note)
                changed = True
        if changed:
            self._record()

    def _check_servers(self, stack: DevStack) -> None:
        """Bring a managed server back when it died; recreate the topics on a broker that is new."""
        if stack.postgres is not None and not stack.postgres.running():
            self._say("[yellow]PostgreSQL stopped; starting it again (its data is kept)[/]")
            stack.postgres.up()
        if stack.broker is None:
            return
        if not stack.broker.running():
            self._say("[yellow]the broker stopped; starting it again (it keeps everything in memory: "
                      "what was queued and not yet stored is lost)[/]")  # fmt: skip
            stack.broker.down()  # reaps what is left of the old process and its pid file
            stack.broker.up()
        if (pid := stack.broker.pid()) != self._broker_pid:
            created = asyncio.run(ensure_topics(self.settings))
            made = sum(1 for what in created.values() if what == "created")
            self._say(f"[cyan]the broker is new (pid {pid}): {made} topics created again[/]")
            self._broker_pid = pid

    def _watch(self, stack: DevStack) -> None:
        next_server_check = 0.0
        while not self._stop:
            self._check_components()
            if time.monotonic() >= next_server_check:
                try:
                    self._check_servers(stack)
                    next_server_check = time.monotonic() + SERVER_CHECK_SECONDS
                except (DevStackError, OSError, RuntimeError, KafkaError) as exc:  # not back yet: try again
                    self._say(f"[red]{redact(str(exc)) or exc.__class__.__name__}; trying again in 10s[/]")
                    next_server_check = time.monotonic() + 10
            time.sleep(0.5)
        self._say("\nstopping…")

    def _stop_components(self) -> None:
        for component in self.components:
            component.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for component in self.components:
            component.wait(deadline)
        self.components.clear()
