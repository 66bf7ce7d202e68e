"""One severity scale for every domain ("one risk language")."""

from typing import Final, Literal

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: Final = ("critical", "high", "medium", "low", "info")
# `info` is stored but never counts toward SLAs, backlog or incident metrics.
SLA_SEVERITIES: Final = ("critical", "high", "medium", "low")
