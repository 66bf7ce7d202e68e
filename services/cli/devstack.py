"""The local stack: an embedded PostgreSQL and the Tansu broker, started and stopped idempotently."""

from __future__ import annotations

from trustline.shared.settings import Settings

from .broker import TansuBroker
from .postgres import EmbeddedPostgres
from .processes import ServiceStatus


class DevStack:
    """The services `trustline dev` manages: only those the settings do not point elsewhere."""

    def __init__(self, settings: Settings) -> None:
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
        """Stop what is managed and delete the embedded database's data."""
        if self.broker:
            self.broker.down()
        if self.postgres:
            self.postgres.destroy()

    def status(self) -> list[ServiceStatus]:
        """One line per managed service."""
        return [s.status() for s in (self.postgres, self.broker) if s is not None]
