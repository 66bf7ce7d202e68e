"""Incident durations per stage and window, open incidents, and stages dated before the opening."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import pytest

from tests.helpers import names_with, sample
from tests.scenario import D, H, T, ev, load, snapshot
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
M = H / 60


def inc(stage: str, incident: str, at: datetime, **data: object) -> dict[str, object]:
    return ev(f"incident.{stage}", at, source="test/pager", incident_id=incident, **data)  # type: ignore[arg-type]


async def test_incident_durations_and_open_incidents(clean: Settings, db: asyncpg.Connection) -> None:
    await load(db, [
        inc("opened", "i1", T - 2 * H, severity="high"), inc("acknowledged", "i1", T - 110 * M),
        inc("contained", "i1", T - H), inc("restored", "i1", T - 30 * M), inc("resolved", "i1", T - 10 * M),
        inc("opened", "i2", T - 10 * D, severity="high"), inc("acknowledged", "i2", T - 10 * D + H),
        inc("resolved", "i2", T - 9 * D),                                      # no restore: restore = resolve
        inc("opened", "i3", T - H, severity="critical"), inc("acknowledged", "i3", T - 30 * M),
        inc("opened", "i4", T - 40 * D, severity="medium"), inc("resolved", "i4", T - 35 * D),
        inc("opened", "i5", T - 3 * H, severity="low"), inc("acknowledged", "i5", T - 4 * H),  # before opening
        inc("resolved", "i5", T - H),
        inc("opened", "i6", T - H, severity="info"), inc("resolved", "i6", T - M),             # info: excluded
        inc("opened", "i7", T - 5 * H, severity="medium"), inc("acknowledged", "i7", T - 4 * H, severity="critical"),
        inc("resolved", "i8", T + H),                                            # after T
        inc("opened", "i8", T - H, severity="critical"),
    ])  # fmt: skip
    m = await snapshot(db)

    def hist(sev: str, stage: str, window: str) -> tuple[float | None, float | None]:
        lbl = {"severity": sev, "stage": stage, "window": window}
        return (sample(m, "trustline_incident_duration_seconds_count", **lbl),
                sample(m, "trustline_incident_duration_seconds_sum", **lbl))  # fmt: skip

    # high/acknowledge: i1 after 10 min (600 s, in every window); i2 after 1 h (3600 s), 10 days ago.
    assert hist("high", "acknowledge", "7d") == (1, 600)
    assert hist("high", "acknowledge", "30d") == (2, 4200)
    assert hist("high", "contain", "7d") == (1, 3600)
    # restore: i1 after 90 min (5400 s); i2 resolved without restore after 1 d (86400 s).
    assert hist("high", "restore", "7d") == (1, 5400)
    assert hist("high", "restore", "30d") == (2, 91800)
    assert hist("high", "resolve", "90d") == (2, 6600 + 86400)
    # critical/acknowledge: i3 after 30 min, i7 (critical since its acknowledgement) after 1 h.
    assert hist("critical", "acknowledge", "7d") == (2, 1800 + 3600)
    # medium: i4 restored (= resolved) after 5 d, 35 days ago: only the 90 d window.
    assert hist("medium", "restore", "90d") == (1, 5 * 86400)
    assert hist("medium", "restore", "30d") == (None, None)
    # low: i5's acknowledgement precedes its opening: left out and counted as an error.
    assert hist("low", "acknowledge", "90d") == (None, None)
    assert hist("low", "resolve", "7d") == (1, 7200)
    assert sample(m, "trustline_incident_stage_errors", stage="acknowledge") == 1
    assert (
        sample(
            m,
            "trustline_incident_duration_seconds_bucket",
            severity="high",
            stage="acknowledge",
            window="30d",
            le="3600.0",
        )
        == 2
    )
    assert not names_with(m, "trustline_incident_duration_seconds_count", severity="info")

    # Open at T: i3, i7 and i8 (resolved only after T) are critical; everything else is resolved.
    assert sample(m, "trustline_incidents_open", severity="critical") == 3
    assert [sample(m, "trustline_incidents_open", severity=s) for s in ("high", "medium", "low")] == [0, 0, 0]


async def test_source_freshness_is_the_newest_event_at_or_before_t(
    clean: Settings, db: asyncpg.Connection
) -> None:
    await load(db, [
        ev("asset.observed", T - 2 * H, source="cmdb/a", asset_id="x"),
        ev("asset.observed", T - H, source="cmdb/a", asset_id="y"),
        ev("asset.observed", T - 3 * D, source="cmdb/b", asset_id="z"),
        ev("asset.observed", T + H, source="cmdb/b", asset_id="z"),           # after T: ignored
        ev("asset.observed", T + H, source="cmdb/c", asset_id="w"),           # no event by T: no series
    ])  # fmt: skip
    m = await snapshot(db)
    assert sample(m, "trustline_source_last_event_timestamp_seconds", source="cmdb/a") == (T - H).timestamp()
    assert (
        sample(m, "trustline_source_last_event_timestamp_seconds", source="cmdb/b") == (T - 3 * D).timestamp()
    )
    assert not names_with(m, "trustline_source_last_event_timestamp_seconds", source="cmdb/c")
