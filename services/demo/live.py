"""The demo organisation's endless present: `live`, a stream of new events stamped by a clock.

Ids and content are deterministic for (seed, first clock reading), so a new run is not deduplicated
against an earlier one. What history retired, lost, deactivated or uninstalled for good stays gone.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import count

from .events import (
    DAY,
    FINDINGS_PER_30D,
    MEDIAN_FIX_DAYS,
    NEVER_FIXED,
    PAGERDUTY_SOURCE,
    DemoEvent,
    Rec,
    as_utc,
    asset_observed,
    check_evaluated,
    cloud_checks,
    demo_record,
    drifted_status,
    edr_heartbeat,
    finding_event,
    identity_event,
    incident_opened,
    incident_stages,
    stage_gap,
    to_demo_event,
    vulnerability_catalog,
)
from .org import Identity, Lifecycle, Org


def _edr_removed(lc: Lifecycle) -> bool:
    return lc.uninstalled is not None and lc.uninstalled[1] is None


class _Live:
    """What the live stream remembers: when rare things are due, and what is open or enrolled."""

    def __init__(self, org: Org, seed: int, first: datetime) -> None:
        self.org, self.rng = org, random.Random(f"{seed}/live/{first.isoformat()}")
        self.catalog = vulnerability_catalog(seed, first.year)
        # What history retired, lost, deactivated or uninstalled for good stays gone.
        self.assets = [a for a in org.assets if a.lifecycle.gone is None]
        self.agents = [(a.asset_id, a.edr_vendor, a.sensor_id) for a in self.assets
                       if a.edr_vendor and a.sensor_id and not _edr_removed(a.lifecycle)]  # fmt: skip
        self.agents += [(u, "crowdstrike", f"{self.rng.getrandbits(128):032x}") for u in org.unmanaged]
        self.people = [p for p in org.identities if p.lifecycle.gone is None]
        self.checks = [check for check in cloud_checks(org) if check[0].lifecycle.gone is None]
        self.factors: list[tuple[Identity, str, str]] = []
        self.due: list[tuple[float, int, Callable[[float], Rec | None]]] = []
        # Rare events follow the clock, not the pace, so durations stay realistic; findings and incidents
        # come about ten times as often as in history so that a short demo visibly moves.
        self.findings_per_second = 10 * sum(FINDINGS_PER_30D[a.kind] for a in self.assets) / (30 * DAY)
        self.steady = (self.heartbeat, self.observe, self.evaluate, self.person)
        self.weights = (60, 15 * bool(self.assets), 15 * bool(self.checks), 5 * bool(self.people))
        self.order, t = count(), first.timestamp()
        self.at(t, self.detect)
        self.at(t + self.rng.expovariate(1 / 600), self.mfa)
        self.at(t + self.rng.uniform(60, 900), self.incident)  # the first one early, for the demo

    def at(self, when: float, action: Callable[[float], Rec | None]) -> None:
        heapq.heappush(self.due, (when, next(self.order), action))

    def next(self, t: float) -> Rec:
        rec = heapq.heappop(self.due)[2](t) if self.due and self.due[0][0] <= t else None
        return rec or self.rng.choices(self.steady, self.weights)[0](t)

    def heartbeat(self, t: float) -> Rec:
        asset_id, vendor, sensor = self.rng.choice(self.agents)
        return edr_heartbeat(t, asset_id, vendor, sensor, self.rng.random() > 0.01)

    def observe(self, t: float) -> Rec:
        return asset_observed(t, self.rng.choice(self.assets))

    def evaluate(self, t: float) -> Rec:
        i = self.rng.randrange(len(self.checks))
        r, c, status = self.checks[i]
        # Evaluated far more often than in history, so drift must be rarer per evaluation.
        self.checks[i] = (r, c, drifted_status(self.rng, status) if self.rng.random() < 0.01 else status)
        return check_evaluated(t, r, c, self.checks[i][2])

    def person(self, t: float) -> Rec:
        return identity_event(t, "identity.observed", self.rng.choice(self.people))

    def detect(self, t: float) -> Rec | None:
        self.at(t + self.rng.expovariate(self.findings_per_second or 1 / DAY), self.detect)
        if not self.assets:
            return None
        a = self.rng.choice(self.assets)
        v = self.rng.choices(*self.catalog[a.os_family])[0]
        # A quarter is auto-updated within two hours, so that a live session shows remediations too.
        if self.rng.random() < 0.25:
            ttp: float | None = self.rng.uniform(300, 2 * 3600)
        elif self.rng.random() < NEVER_FIXED[v[1]]:
            ttp = None
        else:
            ttp = self.rng.lognormvariate(math.log(MEDIAN_FIX_DAYS[v[1]] * DAY), 0.9) + 3600
        if ttp is not None:
            self.at(t + ttp, lambda now: finding_event(now, "vulnerability.remediated", a, v))
        return finding_event(t, "vulnerability.detected", a, v, v[1])

    def mfa(self, t: float) -> Rec | None:
        self.at(t + self.rng.expovariate(1 / 600), self.mfa)
        if self.factors and self.rng.random() < 0.3:  # a lost phone or key
            p, factor, fid = self.factors.pop(self.rng.randrange(len(self.factors)))
            return identity_event(t, "mfa.removed", p, factor, fid)
        # People without MFA stay without: they are the finding the MFA metrics exist for.
        who = self.rng.choice(self.people) if self.people else None
        if who is None or not who.factors:
            return None
        self.factors.append((who, self.rng.choice(who.factors), f"fct{self.rng.getrandbits(48):012x}"))
        return identity_event(t, "mfa.enrolled", *self.factors[-1])

    def incident(self, t: float) -> Rec:
        self.at(t + self.rng.expovariate(1 / 3600), self.incident)
        opened = incident_opened(self.rng, t, self.org)
        self.advance(t, opened[3], str(opened[4]["severity"]), incident_stages(self.rng))
        return opened

    def advance(self, t: float, iid: str, severity: str, stages: list[str]) -> None:
        if stages:
            due = t + stage_gap(self.rng, stages[0], severity)
            self.at(due, lambda now: self.stage(now, iid, severity, stages))

    def stage(self, t: float, iid: str, severity: str, stages: list[str]) -> Rec:
        self.advance(t, iid, severity, stages[1:])
        return demo_record(t, f"incident.{stages[0]}", PAGERDUTY_SOURCE, iid, incident_id=iid)


def live(org: Org, *, seed: int, clock: Callable[[], datetime]) -> Iterator[DemoEvent]:
    """An endless stream of new events, each stamped with clock() when it is generated."""
    now = as_utc(clock())
    state, ids = _Live(org, seed, now), random.Random(f"{seed}/live-ids/{now.isoformat()}")
    while True:
        yield to_demo_event(state.next(now.timestamp()), now.isoformat().replace("+00:00", "Z"), ids)
        now = as_utc(clock())
