"""API keys: created with a principal and scopes, stored hashed, checked in constant time, revocable."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Final

import asyncpg

from ..sql import Query, execute, fetch, fetchrow
from . import principals

SCOPES: Final = ("events:write", "risk:propose", "risk:approve", "read")
_PREFIX_BYTES, _SECRET_BYTES = 6, 32
# `last_used_at` is rewritten at most this often per key: a busy key costs no write per request.
LAST_USE_RESOLUTION: Final = timedelta(minutes=1)
# Serialises key creation, so two look-alike principals cannot slip in side by side.
_CREATE_LOCK: Final = 0x7472757374_6B6579
_LOCK: Final = Query("SELECT pg_advisory_xact_lock(:lock)")
_INSERT: Final = Query(
    "INSERT INTO api_keys (prefix, secret_hash, principal, scopes, sources, created_at, expires_at) "
    "VALUES (:prefix, :secret_hash, :principal, :scopes, :sources, :created_at, :expires_at)"
)
_PRINCIPALS: Final = Query(
    "SELECT principal AS name FROM api_keys UNION SELECT actor AS name FROM risk_acceptance_audit"
)
_LIST: Final = Query(
    "SELECT prefix, principal, scopes, created_at, revoked_at, sources, expires_at, last_used_at "
    "FROM api_keys ORDER BY created_at DESC, prefix"
)
_REVOKE: Final = Query("UPDATE api_keys SET revoked_at = :now WHERE prefix = :prefix AND revoked_at IS NULL")
_BY_PREFIX: Final = Query(
    "SELECT secret_hash, principal, scopes, sources, revoked_at, expires_at, last_used_at, "
    "now() AS now FROM api_keys WHERE prefix = :prefix"
)
_USED: Final = Query("UPDATE api_keys SET last_used_at = :now WHERE prefix = :prefix")


class KeyRefused(Exception):
    """A presented key that does not authenticate; the message says why (unknown, revoked, expired)."""


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
    sources: tuple[str, ...] = ()
    expires_at: datetime | None = None
    last_used_at: datetime | None = None


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
    """A new key for canonical `principal`; the returned string is the only time the secret is seen."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    name = principals.canonical(principal)
    principals.require_single_script(name)
    if "events:write" in scopes and not sources:
        raise ValueError("an events:write key needs the sources it may write (e.g. --source 'qualys/*')")
    if expires_at is not None and expires_at <= now:
        raise ValueError("the key's expiry must lie in the future")
    prefix = secrets.token_hex(_PREFIX_BYTES)
    key = f"tl_{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    async with conn.transaction():
        await execute(conn, _LOCK, lock=_CREATE_LOCK)
        principals.require_distinct(name, await _known_principals(conn))
        await execute(
            conn,
            _INSERT,
            prefix=prefix,
            secret_hash=_hash(key),
            principal=name,
            scopes=sorted(set(scopes)),
            sources=sorted(set(sources)),
            created_at=now,
            expires_at=expires_at,
        )
    return key


async def _known_principals(conn: asyncpg.Connection) -> list[str]:
    """Every name a key was ever made for or the registry ever recorded, revoked keys included."""
    rows = await fetch(conn, _PRINCIPALS)
    return [r["name"] for r in rows]


async def list_keys(conn: asyncpg.Connection) -> list[KeyInfo]:
    """Every key, newest first."""
    rows = await fetch(conn, _LIST)
    return [
        KeyInfo(
            prefix=r["prefix"],
            principal=r["principal"],
            scopes=tuple(r["scopes"]),
            created_at=r["created_at"],
            revoked_at=r["revoked_at"],
            sources=tuple(r["sources"]),
            expires_at=r["expires_at"],
            last_used_at=r["last_used_at"],
        )
        for r in rows
    ]


async def revoke_key(conn: asyncpg.Connection, *, prefix: str, now: datetime) -> bool:
    """Revoke a key by its prefix; False when there is no such active key."""
    done = await execute(conn, _REVOKE, prefix=prefix, now=now)
    return done.endswith(" 1")


async def authenticate(conn: asyncpg.Connection, *, key: str) -> Principal | None:
    """The principal of a usable key, or None (`check_key` says why)."""
    try:
        return await check_key(conn, key=key)
    except KeyRefused:
        return None


async def check_key(conn: asyncpg.Connection, *, key: str) -> Principal:
    """The canonical principal of an active key; KeyRefused says why a key is not usable."""
    parts = key.split("_")
    row = None
    if len(parts) >= 3 and parts[0] == "tl":
        row = await fetchrow(conn, _BY_PREFIX, prefix=parts[1])
    if row is None or not hmac.compare_digest(row["secret_hash"], _hash(key)):
        raise KeyRefused("the API key is unknown")
    if row["revoked_at"] is not None:
        raise KeyRefused(f"the API key was revoked at {row['revoked_at']:%Y-%m-%dT%H:%M:%SZ}")
    if row["expires_at"] is not None and row["expires_at"] <= row["now"]:
        raise KeyRefused(f"the API key expired at {row['expires_at']:%Y-%m-%dT%H:%M:%SZ}; ask for a new one")
    try:
        name = principals.canonical(row["principal"])
        principals.require_single_script(name)
    except principals.InvalidName as exc:
        raise KeyRefused(
            f"this key's principal is not a valid name any more ({exc}); create a new key"
        ) from exc
    if row["last_used_at"] is None or row["last_used_at"] <= row["now"] - LAST_USE_RESOLUTION:
        await execute(conn, _USED, prefix=parts[1], now=row["now"])
    return Principal(name, frozenset(row["scopes"]), tuple(row["sources"]))
