"""The demo's metric history: the CLI composes the demo (which must not know the aggregator) with the
aggregator's backfill, run once the demo's past is stored."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.console import Console

from trustline.demo.run import AfterHistory
from trustline.shared.policy import load_policy
from trustline.shared.settings import Settings

STEP = timedelta(days=1)


def daily_backfill(settings: Settings) -> AfterHistory:
    """A hook writing one snapshot a day over the demo's past, as a live aggregator would have."""

    async def backfill(start: datetime, end: datetime, console: Console) -> None:
        from trustline.aggregator.backfill import backfill as run_backfill

        policy = load_policy(settings.policy_file)
        n = await run_backfill(settings, policy, start=start, end=end, step=STEP, console=console)
        console.print(f"metric history: {n} daily snapshots of the demo's past written", highlight=False)

    return backfill
