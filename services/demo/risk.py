"""The demo's risk register: a few acceptances on findings the demo organisation really has."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from trustline.shared.db import connect
from trustline.shared.policy import Policy
from trustline.shared.risk import service as registry
from trustline.shared.risk.models import AcceptanceCreate, Scope
from trustline.shared.settings import Settings
from trustline.shared.sql import Query, fetchval

from .events import DemoEvent

_SEEDED = Query("SELECT count(*) FROM risk_acceptances WHERE requested_by = :requester")

REQUESTER, APPROVER = "alice@demo", "bob@demo"


@dataclass
class Findings:
    """Open findings seen in the demo stream, to accept some of them."""

    vulnerabilities: dict[str, tuple[str, str]] = field(default_factory=dict)  # severity -> (asset, CVE)
    failing_controls: list[str] = field(default_factory=list)

    def note(self, ev: DemoEvent) -> None:
        """Remember the first finding of each severity and a few failing controls."""
        data = ev.event.get("data")
        if not isinstance(data, dict):
            return
        if ev.event["type"] == "vulnerability.detected":
            self.vulnerabilities.setdefault(
                str(data["severity"]), (str(data["asset_id"]), str(data["vulnerability_id"]))
            )
        elif (
            ev.event["type"] == "cloud.evaluated"
            and data.get("status") == "fail"
            and len(self.failing_controls) < 3
            and data["control_id"] not in self.failing_controls
        ):
            self.failing_controls.append(str(data["control_id"]))


def _proposal(title: str, severity: str, days: float, now: datetime, scope: Scope) -> AcceptanceCreate:
    return AcceptanceCreate(
        title=title,
        justification="Demo: vendor fix scheduled, exposure limited",
        compensating_controls="Network segmentation; WAF rule",
        severity=severity,  # type: ignore[arg-type]
        business_owner="Head of Retail",
        expires_at=now + timedelta(days=days),
        scope=scope,
    )


async def seed_acceptances(settings: Settings, found: Findings, now: datetime) -> int:
    """Propose and decide a few acceptances, once (nothing when the register holds demo entries already)."""
    conn = await connect(settings)
    try:
        if await fetchval(conn, _SEEDED, requester=REQUESTER):
            return 0
        plans: list[tuple[AcceptanceCreate, str]] = []
        for severity, days, decision in (
            ("critical", 5, "approve"),
            ("high", 60, "approve"),
            ("medium", 30, "none"),
            ("low", 90, "reject"),
        ):
            if severity in found.vulnerabilities:
                asset, cve = found.vulnerabilities[severity]
                scope = Scope(vulnerability_id=cve, asset_id=asset if severity == "critical" else None)
                plans.append((_proposal(f"Accept {cve}", severity, days, now, scope), decision))
        for control in found.failing_controls[:1]:
            plans.append(
                (_proposal(f"Accept {control}", "high", 30, now, Scope(control_id=control)), "approve")
            )
        for proposal, decision in plans:
            made = await registry.propose(conn, data=proposal, actor=REQUESTER, now=now, policy=Policy())
            if decision == "approve":
                await registry.approve(conn, acceptance_id=made.id, actor=APPROVER, now=now, reason="demo")
            elif decision == "reject":
                await registry.reject(conn, acceptance_id=made.id, actor=APPROVER, now=now, reason="demo")
        return len(plans)
    finally:
        await conn.close()
