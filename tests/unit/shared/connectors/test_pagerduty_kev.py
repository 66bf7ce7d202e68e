"""PagerDuty webhooks become incident stages; the KEV catalog becomes entries; signatures are checked."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from trustline.shared.connectors import Options
from trustline.shared.connectors.kev import Entry, map_kev
from trustline.shared.connectors.pagerduty import map_pagerduty, sign, signature_valid

from .samples import kev_catalog, pagerduty_webhook
from .test_scanners import decodes

OPTS = Options(source="pagerduty/acme", now=datetime(2026, 3, 3, tzinfo=UTC))


def test_incident_lifecycle() -> None:
    hooks = [
        pagerduty_webhook("incident.triggered", "2026-03-02T10:00:00Z", event_id="01E1", priority=None),
        pagerduty_webhook(
            "incident.priority_updated", "2026-03-02T10:01:00Z", event_id="01E2", priority="P2"
        ),
        pagerduty_webhook("incident.acknowledged", "2026-03-02T10:05:00Z", event_id="01E3"),
        pagerduty_webhook("incident.annotated", "2026-03-02T10:06:00Z", event_id="01E4"),
        pagerduty_webhook("incident.resolved", "2026-03-02T11:00:00.000Z", event_id="01E5"),
    ]
    mapped = map_pagerduty(hooks, OPTS)
    got = [(e["type"], e["id"], e["time"], e["data"].get("severity")) for e in mapped.events]
    assert got == [
        # No priority on triggering: the urgency (high) rates it; P2 then re-rates it high as well.
        ("incident.opened", "01E1", "2026-03-02T10:00:00+00:00", "high"),
        ("incident.opened", "01E2", "2026-03-02T10:01:00+00:00", "high"),
        ("incident.acknowledged", "01E3", "2026-03-02T10:05:00+00:00", None),
        ("incident.resolved", "01E5", "2026-03-02T11:00:00+00:00", None),
    ]
    assert {e["data"]["incident_id"] for e in mapped.events} == {"Q2K4X5Z6Y7W8V9"}
    assert mapped.events[0]["data"]["title"] == "Checkout latency above SLO"
    assert mapped.ignored == {"incident.annotated (no contract stage)": 1}
    decodes(mapped.events)


def test_priorities_and_urgencies() -> None:
    for priority, urgency, expected in [("P1", "high", "critical"), ("P3", "high", "medium"),
                                        ("P4", "high", "low"), ("P5", "high", "info"),
                                        ("Sev-Custom", "low", "low"), (None, "low", "low")]:  # fmt: skip
        hook = pagerduty_webhook("incident.triggered", "2026-03-02T10:00:00Z", event_id="e", priority=priority,
                                 urgency=urgency)  # fmt: skip
        assert map_pagerduty(hook, OPTS).events[0]["data"]["severity"] == expected


def test_refusals_have_reasons() -> None:
    no_time = pagerduty_webhook("incident.triggered", "yesterday", event_id="e1")
    no_id = pagerduty_webhook("incident.acknowledged", "2026-03-02T10:00:00Z", event_id="")
    mapped = map_pagerduty([no_time, no_id, {"messages": []}], OPTS)
    assert [(r.record, r.reason) for r in mapped.refused] == [
        ("[0]", "invalid_data"),
        ("[1]", "invalid_data"),
        ("[2]", "invalid_envelope"),
    ]
    assert "occurred_at" in mapped.refused[0].detail and "event.id" in mapped.refused[1].detail


def test_signature() -> None:
    body = json.dumps(pagerduty_webhook("incident.triggered", "2026-03-02T10:00:00Z", event_id="e")).encode()
    secret = b"whsec-test"
    good = sign(secret, body)
    assert signature_valid(secret, body, good)
    assert signature_valid(secret, body, f"v1=00ff, {good}")  # rotation: one match is enough
    assert not signature_valid(secret, body + b" ", good)
    assert not signature_valid(b"other", body, good)
    assert not signature_valid(secret, body, None) and not signature_valid(secret, body, good[3:])
    assert not signature_valid(b"", body, good)


def test_kev_catalog() -> None:
    catalog = map_kev(kev_catalog())
    assert catalog.entries == [
        Entry("CVE-2021-44228", date(2021, 12, 10), date(2021, 12, 24)),
        Entry("CVE-2023-5363", date(2026, 2, 20), date(2026, 3, 12)),
    ]
    assert catalog.version == "2026.03.01" and catalog.refused == []


def test_kev_refusals() -> None:
    catalog = map_kev(kev_catalog([("CVE-2021-44228", "2021-12-10", "soon"), ("log4shell", "2021-12-10",
                                                                                 "2021-12-24")]))  # fmt: skip
    assert [(r.record, r.reason) for r in catalog.refused] == [
        ("vulnerabilities[0]", "invalid_data"),
        ("vulnerabilities[1]", "invalid_data"),
    ]
    assert catalog.entries == []
    assert [r.reason for r in map_kev({"title": "x"}).refused] == ["invalid_envelope"]
