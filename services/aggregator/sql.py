"""SQL fragments every family shares; `$1` is always the instant T of the snapshot."""

from __future__ import annotations

from typing import Final


def as_of(alias: str) -> str:
    """The version of each entity that holds at T."""
    return f"{alias}.valid_from <= $1 AND ({alias}.valid_to IS NULL OR {alias}.valid_to > $1)"


# Assets as the inventory knew them at T (absent: never heard of).
ASSETS_AT: Final = f"SELECT a.* FROM asset_versions a WHERE {as_of('a')}"

# Risk acceptances in force at T: approved, not yet expired, not revoked.
ACCEPTED_AT: Final = (
    "SELECT r.* FROM risk_acceptances r WHERE r.approved_at <= $1 AND r.expires_at > $1 "
    "AND (r.revoked_at IS NULL OR r.revoked_at > $1)"
)
