"""Alembic migrations; `trustline migrate` runs them programmatically."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from ..settings import Settings


def alembic_config(settings: Settings) -> Config:
    """An Alembic config pointing at these migrations and the configured database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    cfg.attributes["sqlalchemy_url"] = settings.sqlalchemy_url()
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the schema to `revision` (blocking: call it from a thread inside an event loop)."""
    command.upgrade(alembic_config(settings), revision)
