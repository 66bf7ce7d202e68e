"""The local stack: an embedded PostgreSQL and the Tansu broker, started and stopped idempotently."""

from __future__ import annotations

from pathlib import Path

from trustline.shared.settings import Settings

from .broker import TansuBroker
from .postgres import DataDir, EmbeddedPostgres, data_root, orphans, remove_orphan
from .processes import ServiceStatus


class DevStack:
    """The services `trustline dev` manages: only those the settings do not point elsewhere."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state_dir = settings.state_dir
        self.postgres = EmbeddedPostgres(settings) if settings.manages_postgres else None
        self.broker = TansuBroker(settings) if settings.manages_broker else None

    def up(self) -> None:
        """Start what is managed and not running."""
        if self.postgres:
            self.postgres.up()
        if self.broker:
            self.broker.up()

    def down(self) -> None:
        """Stop what is managed."""
        if self.broker:
            self.broker.down()
        if self.postgres:
            self.postgres.down()

    def destroy(self) -> None:
        """Stop what is managed and delete the embedded database's data (wherever it lives)."""
        if self.broker:
            self.broker.down()
        if self.postgres:
            self.postgres.destroy()
        elif self.data_root().exists():  # TRUSTLINE_DATABASE_URL is set now, but the embedded one ran before
            EmbeddedPostgres(self.settings).destroy()

    def data_root(self) -> Path:
        """Where this state dir's embedded database lives (under ROOT_HOME as root)."""
        return data_root(self.state_dir)

    def orphans(self) -> list[DataDir]:
        """Root-owned data directories of other state dirs that no longer exist."""
        return orphans(self.data_root())

    def destroy_orphans(self) -> list[DataDir]:
        """Stop and delete the orphans whose state dir was recorded and is gone; returns them."""
        gone = [o for o in self.orphans() if o.state_dir is not None]
        for orphan in gone:
            remove_orphan(orphan)
        return gone

    def status(self) -> list[ServiceStatus]:
        """One line per managed service."""
        return [s.status() for s in (self.postgres, self.broker) if s is not None]
