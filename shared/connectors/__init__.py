"""Connectors: pure mappers from the output of the tools teams already run to contract events.

`TOOLS` names every event connector; the known-exploited catalog (`kev`) is state, not events, and has
its own mapper. `fullscan` closes what a complete scan of a scope no longer reports.
"""

from __future__ import annotations

from typing import Final, Literal

from .common import ConnectorError, Mapped, Mapper, Options, Refusal
from .entra import map_entra
from .grype import map_grype
from .okta import map_okta
from .pagerduty import map_pagerduty
from .trivy import map_trivy

EventTool = Literal["trivy", "grype", "okta", "entra", "pagerduty"]
TOOLS: Final[dict[str, Mapper]] = {
    "trivy": map_trivy,
    "grype": map_grype,
    "okta": map_okta,
    "entra": map_entra,
    "pagerduty": map_pagerduty,
}
# Tools whose exports are snapshots of a scope (so `--full-scan` applies): every tool but the webhooks.
SNAPSHOT_TOOLS: Final = frozenset({"trivy", "grype", "okta", "entra"})

__all__ = ["TOOLS", "SNAPSHOT_TOOLS", "ConnectorError", "EventTool", "Mapped", "Mapper", "Options", "Refusal"]
