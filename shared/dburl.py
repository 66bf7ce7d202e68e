"""Database URLs as libpq writes them, completed from the TLS and credential settings.

asyncpg reads libpq's TLS parameters (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`) from the URL itself,
so one URL describes the whole connection for the pool, the CLI and Alembic alike. Settings that name a
user, a password or a TLS file fill the URL in; whatever the URL already says about TLS is kept.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import make_url

# Modes that check the server's certificate against a CA (and, for verify-full, its name).
VERIFYING = frozenset({"verify-ca", "verify-full"})


def complete(url: str, *, user: str | None, password: str | None, tls: Mapping[str, str]) -> str:
    """`url` with `user` and `password` when given, and each TLS parameter the URL does not set itself."""
    if user is None and password is None and not tls:
        return url
    try:
        parsed = make_url(url)
    except Exception:  # the parser's message would quote the URL, password included
        raise ValueError("the database URL is not a URL (postgresql://USER:PASSWORD@HOST/DB)") from None
    query = {**tls, **parsed.query}
    parsed = parsed.set(
        username=user if user is not None else parsed.username,
        password=password if password is not None else parsed.password,
        query=query,
    )
    return parsed.render_as_string(hide_password=False)


def sslmode(url: str) -> str | None:
    """The URL's `sslmode`, when it names one."""
    try:
        value = make_url(url).query.get("sslmode")
    except Exception:
        return None
    return value if isinstance(value, str) else None
