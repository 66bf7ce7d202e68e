"""One severity scale for every domain ("one risk language")."""

from typing import Final, Literal, get_args

# The scale SLAs, acceptances and the drill-downs speak, most severe first.
SlaSeverity = Literal["critical", "high", "medium", "low"]
# `info` is stored but never counts toward SLAs, backlog or incident metrics.
Severity = Literal[SlaSeverity, "info"]
SEVERITIES: Final[tuple[Severity, ...]] = get_args(Severity)
SLA_SEVERITIES: Final[tuple[SlaSeverity, ...]] = get_args(SlaSeverity)
