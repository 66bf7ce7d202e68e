"""Alembic migrations; `trustline migrate` runs them programmatically, as the schema owner."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from .. import grants
from ..db import connect
from ..settings import Settings
from ..sql import Query, fetch

# Held (per transaction) by every migration run and grant application: two runs never interleave.
MIGRATION_LOCK_ID = 0x7472_6D69_6772  # "trmigr"
CURRENT = Query("SELECT version_num FROM alembic_version")


def alembic_config(settings: Settings) -> Config:
    """An Alembic config pointing at these migrations and the configured database, as its owner."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    cfg.attributes["settings"] = settings
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> grants.GrantReport | None:
    """Bring the schema to `revision`; at head, confine the services' role to the privilege map.

    Blocking: call it from a thread inside an event loop.
    """
    command.upgrade(alembic_config(settings), revision)
    return grants.apply(settings, lock=MIGRATION_LOCK_ID) if revision == "head" else None


@dataclass(frozen=True, slots=True)
class Revision:
    """Where the database's schema is, against the newest migration this code knows."""

    current: tuple[str, ...]
    heads: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        """True when the database holds exactly this code's newest migration."""
        return bool(self.current) and set(self.current) == set(self.heads)


def heads(settings: Settings) -> tuple[str, ...]:
    """The newest migration(s) of this code."""
    return tuple(ScriptDirectory.from_config(alembic_config(settings)).get_heads())


async def revision(settings: Settings) -> Revision:
    """The database's schema revision, read as the services' role (what `migrate --check` reports)."""
    conn = await connect(settings)
    try:
        rows = await fetch(conn, CURRENT)
    except asyncpg.UndefinedTableError:
        rows = []  # never migrated
    finally:
        await conn.close()
    return Revision(tuple(r["version_num"] for r in rows), heads(settings))


def check(settings: Settings) -> Revision:
    """`revision` for synchronous callers."""
    return asyncio.run(revision(settings))
