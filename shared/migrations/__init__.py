"""Alembic migrations; `trustline migrate` runs them programmatically, as the schema owner."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from .. import grants
from ..settings import Settings


def alembic_config(settings: Settings) -> Config:
    """An Alembic config pointing at these migrations and the configured database, as its owner."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    cfg.attributes["sqlalchemy_url"] = settings.migration_sqlalchemy_url()
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> grants.GrantReport | None:
    """Bring the schema to `revision`; at head, confine the services' role to the privilege map.

    Blocking: call it from a thread inside an event loop.
    """
    command.upgrade(alembic_config(settings), revision)
    return grants.apply(settings) if revision == "head" else None
