"""What the vulnerability scanners' connectors share: findings per (asset, vulnerability), one event each.

A scanner lists a CVE once per affected package; the contract counts an instance per (asset, vulnerability),
so the findings of one document are merged first, keeping the most severe rating.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from trustline.shared.events.schemas import NO_CONTROL

from .common import Mapped, Options, cloudevent, event_id, vuln_key, worst

# Scanner severities (Trivy's upper case, Grype's capitalised) on the one scale. A scanner's "unknown" or
# "negligible" is kept, as info: stored and listed, never counted against an SLA.
SEVERITIES: Final = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "moderate": "medium",
    "low": "low",
    "negligible": "info",
    "unknown": "info",
    "info": "info",
}
_MAX_ID: Final = 512


def usable_id(value: str | None) -> bool:
    """An identifier the contract accepts: 1 to 512 characters, no control character."""
    return value is not None and len(value) <= _MAX_ID and re.fullmatch(NO_CONTROL, value) is not None


@dataclass
class Findings:
    """The findings of one document, merged per (asset, vulnerability) with their worst severity."""

    tool: str
    mapped: Mapped
    opts: Options
    found: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, record: str, asset_id: str | None, vulnerability_id: str | None, severity: object) -> None:
        """One finding as the tool wrote it (on `Options.asset` when set); refused with a reason when it
        cannot be mapped."""
        asset_id = self.opts.asset or asset_id
        if not usable_id(asset_id) or not usable_id(vulnerability_id):
            what = "asset" if not usable_id(asset_id) else "vulnerability id"
            self.mapped.refuse(record, "invalid_data", f"no usable {what}", identified=False)
            return
        assert asset_id is not None and vulnerability_id is not None
        self.mapped.reported.add(vuln_key(asset_id, vulnerability_id))
        rating = SEVERITIES.get(severity.strip().lower()) if isinstance(severity, str) else None
        if rating is None:
            self.mapped.refuse(
                record, "invalid_data", f"severity {severity!r} is not one the scanner documents"
            )
            return
        self.found.setdefault((asset_id, vulnerability_id), []).append(rating)

    def events(self, opts: Options, at: datetime) -> None:
        """One `vulnerability.detected` per instance, at the scan's instant, into the mapping."""
        for (asset_id, vulnerability_id), ratings in sorted(self.found.items()):
            data = {"asset_id": asset_id, "vulnerability_id": vulnerability_id, "severity": worst(ratings)}
            id_ = event_id(self.tool, asset_id, vulnerability_id, at.isoformat())
            self.mapped.events.append(
                cloudevent(
                    "vulnerability.detected",
                    source=opts.source,
                    id_=id_,
                    at=at,
                    data=data,
                    subject=opts.scope,
                )
            )
