"""Which state tables each event domain folds into, and how."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .folds import assets, cloud, edr, incidents
from .folds.assets import AssetState, fold_asset
from .folds.cloud import CheckState, fold_check
from .folds.core import StoredEvent, values
from .folds.edr import EdrState, fold_edr
from .folds.identities import fold_identity
from .folds.incidents import IncidentState, fold_incident
from .folds.vulnerabilities import fold_vulnerability

Rows = list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class StateTable:
    """A versions table: its name, the columns that hold the entity key, and every column in row order."""

    name: str
    key_columns: tuple[str, ...]
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Resumable:
    """A one-table domain whose rows are (key..., valid_from, valid_to, *state): its fold can resume."""

    state_type: type
    step: Callable[[Any, StoredEvent], Any]


@dataclass(frozen=True, slots=True)
class Domain:
    """An entity kind: its tables and the pure fold from its events to their rows (one list per table)."""

    tables: tuple[StateTable, ...]
    fold: Callable[[Sequence[str], list[StoredEvent]], tuple[Rows, ...]]
    resume: Resumable | None = None


_V = ("valid_from", "valid_to")
ASSETS = StateTable(
    "asset_versions",
    ("asset_id",),
    (
        "asset_id",
        *_V,
        "hostname",
        "kind",
        "os_family",
        "business_unit",
        "environment",
        "edr_required",
        "retired",
        "last_seen",
    ),
)
CYCLES = StateTable(
    "vuln_cycle_versions",
    ("asset_id", "vulnerability_id"),
    ("asset_id", "vulnerability_id", "cycle", "detected_at", "remediated_at", "severity", "kev", *_V),
)
EDR = StateTable("edr_versions", ("asset_id",), ("asset_id", *_V, "last_healthy_at", "uninstalled_at"))
IDENTITIES = StateTable(
    "identity_versions", ("user_id",), ("user_id", *_V, "privileged", "business_unit", "active")
)
FACTORS = StateTable(
    "mfa_factor_versions", ("user_id",), ("user_id", "factor_key", *_V, "factor_type", "enrolled")
)
CHECKS = StateTable(
    "cloud_check_versions",
    ("resource_id", "control_id"),
    (
        "resource_id",
        "control_id",
        *_V,
        "status",
        "severity",
        "provider",
        "account",
        "region",
        "framework",
        "evaluated_at",
    ),
)
INCIDENTS = StateTable(
    "incident_versions",
    ("incident_id",),
    (
        "incident_id",
        *_V,
        "severity",
        "opened_at",
        "acknowledged_at",
        "contained_at",
        "restored_at",
        "resolved_at",
    ),
)

DOMAINS: Final[dict[str, Domain]] = {
    "asset": Domain(
        (ASSETS,), lambda key, evs: (fold_asset(key[0], evs),), Resumable(AssetState, assets.step)
    ),
    "vulnerability": Domain(
        (CYCLES,), lambda key, evs: ([values(v) for v in fold_vulnerability(key[0], key[1], evs)],)
    ),
    "edr": Domain((EDR,), lambda key, evs: (fold_edr(key[0], evs),), Resumable(EdrState, edr.step)),
    "identity": Domain((IDENTITIES, FACTORS), lambda key, evs: fold_identity(key[0], evs)),
    "cloud": Domain(
        (CHECKS,), lambda key, evs: (fold_check(key[0], key[1], evs),), Resumable(CheckState, cloud.step)
    ),
    "incident": Domain(
        (INCIDENTS,), lambda key, evs: (fold_incident(key[0], evs),), Resumable(IncidentState, incidents.step)
    ),
}
