"""API keys: created with a principal and scopes, stored hashed, checked in constant time, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg

SCOPES: Final = ("events:write", "risk:propose", "risk:approve", "read")
_PREFIX_BYTES, _SECRET_BYTES = 6, 32


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling and what they may do."""

    name: str
    scopes: frozenset[str]


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


async def create_key(conn: asyncpg.Connection, *, principal: str, scopes: list[str], now: datetime) -> str:
    """A new key for `principal`; the returned string is the only time the secret is seen."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    if not principal.strip():
        raise ValueError("a key needs a principal name")
    prefix = secrets.token_hex(_PREFIX_BYTES)
    key = f"tl_{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    await conn.execute(
        "INSERT INTO api_keys (prefix, secret_hash, principal, scopes, created_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        prefix,
        _hash(key),
        principal.strip(),
        sorted(set(scopes)),
        now,
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
        "SELECT secret_hash, principal, scopes FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL",
        parts[1],
    )
    if row is None or not hmac.compare_digest(row["secret_hash"], _hash(key)):
        return None
    return Principal(row["principal"], frozenset(row["scopes"]))
