"""API keys: created with a principal and scopes, stored hashed, checked in constant time, revocable."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Final

import asyncpg

SCOPES: Final = ("events:write", "risk:propose", "risk:approve", "read")
_PREFIX_BYTES, _SECRET_BYTES = 6, 32


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling and what they may do."""

    name: str
    scopes: frozenset[str]
    # Patterns of the event sources this key may write (`events:write`); none means no source at all.
    sources: tuple[str, ...] = ()

    def may_write(self, source: str) -> bool:
        """True when one of the key's source patterns matches `source`."""
        return any(source_pattern(p).fullmatch(source) is not None for p in self.sources)


@lru_cache(maxsize=1024)
def source_pattern(pattern: str) -> re.Pattern[str]:
    """A source pattern as a regex: `*` matches any run of characters, everything else is literal."""
    return re.compile(
        "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern))
    )


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as listed: never its secret."""

    prefix: str
    principal: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(
    conn: asyncpg.Connection,
    *,
    principal: str,
    scopes: list[str],
    now: datetime,
    sources: Sequence[str] = (),
    expires_at: datetime | None = None,
) -> str:
    """A new key for `principal`; the returned string is the only time the secret is seen."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    if not principal.strip():
        raise ValueError("a key needs a principal name")
    if "events:write" in scopes and not sources:
        raise ValueError("an events:write key needs the sources it may write (e.g. --source 'qualys/*')")
    if expires_at is not None and expires_at <= now:
        raise ValueError("the key's expiry must lie in the future")
    prefix = secrets.token_hex(_PREFIX_BYTES)
    key = f"tl_{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    await conn.execute(
        "INSERT INTO api_keys (prefix, secret_hash, principal, scopes, sources, created_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        prefix,
        _hash(key),
        principal.strip(),
        sorted(set(scopes)),
        sorted(set(sources)),
        now,
        expires_at,
    )
    return key


async def list_keys(conn: asyncpg.Connection) -> list[KeyInfo]:
    """Every key, newest first."""
    rows = await conn.fetch(
        "SELECT prefix, principal, scopes, created_at, revoked_at FROM api_keys ORDER BY created_at DESC"
    )
    return [
        KeyInfo(r["prefix"], r["principal"], tuple(r["scopes"]), r["created_at"], r["revoked_at"])
        for r in rows
    ]


async def revoke_key(conn: asyncpg.Connection, *, prefix: str, now: datetime) -> bool:
    """Revoke a key by its prefix; False when there is no such active key."""
    done = await conn.execute(
        "UPDATE api_keys SET revoked_at = $2 WHERE prefix = $1 AND revoked_at IS NULL", prefix, now
    )
    return str(done).endswith(" 1")


async def authenticate(conn: asyncpg.Connection, *, key: str) -> Principal | None:
    """The principal of an active key, or None."""
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != "tl":
        return None
    row = await conn.fetchrow(
        "SELECT secret_hash, principal, scopes, sources FROM api_keys WHERE prefix = $1 "
        "AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
        parts[1],
    )
    if row is None or not hmac.compare_digest(row["secret_hash"], _hash(key)):
        return None
    return Principal(row["principal"], frozenset(row["scopes"]), tuple(row["sources"]))
