"""The aggregator survives a database it cannot reach: it says so, retries every two seconds, stops cleanly."""

from __future__ import annotations

import asyncio

from tests.conftest import free_port
from tests.helpers import stop_at_first_warning
from trustline.aggregator.loop import Aggregator
from trustline.shared.policy import load_policy
from trustline.shared.settings import Settings


async def test_an_unreachable_database_is_retried_until_stopped() -> None:
    settings = Settings(database_url=f"postgresql://trustline@127.0.0.1:{free_port()}/trustline")
    with stop_at_first_warning("trustline.aggregator.loop") as (stop, warnings):
        # The stop comes while it waits to retry: it returns instead of raising.
        await asyncio.wait_for(Aggregator(settings, load_policy(None)).run(stop), 30)
    assert len(warnings) == 1
    assert warnings[0].startswith("database unreachable (")
    assert warnings[0].endswith("); retrying in 2.0s")
