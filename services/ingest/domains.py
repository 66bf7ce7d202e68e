"""Which state tables each event domain folds into, and how."""

from __future__ import annotations

from typing import Final

from .folds import assets, cloud, edr, identities, incidents
from .folds.protocol import Domain
from .folds.vulnerabilities import CycleFold
from .tables import ASSETS, CHECKS, CYCLES, EDR, FACTORS, IDENTITIES, INCIDENTS, StateTable

__all__ = ["ASSETS", "CHECKS", "CYCLES", "DOMAINS", "EDR", "FACTORS", "IDENTITIES", "INCIDENTS", "StateTable"]

DOMAINS: Final[dict[str, Domain]] = {
    "asset": Domain((assets.FOLD,)),
    "vulnerability": Domain((CycleFold(),)),
    "edr": Domain((edr.FOLD,)),
    "identity": Domain((identities.IDENTITY_FOLD, identities.FACTOR_FOLD)),
    "cloud": Domain((cloud.FOLD,)),
    "incident": Domain((incidents.FOLD,)),
}
