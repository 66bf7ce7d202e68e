"""Before a component starts: one connection to each server, so a wrong certificate or password is told.

The components retry an unreachable server for ever (it may be starting), and the Kafka client's
bootstrap hides why a handshake failed; a fault only settings cure must instead stop the process with
one line naming what to fix.
"""

from __future__ import annotations

import asyncio

from trustline.shared import db, kafka
from trustline.shared.settings import Settings


def preflight(settings: Settings, *, database: bool = True, broker: bool = True) -> None:
    """Probe the database and the broker once; raises faults.SetupError on a fault only settings cure."""

    async def main() -> None:
        if database:
            await db.probe(settings)
        if broker:
            await kafka.probe(settings)

    asyncio.run(main())
