"""The policy: the contract's defaults, YAML overrides and clear errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from trustline.shared.policy import Policy, load_policy
from trustline.shared.settings import Settings


def test_shipped_yaml_equals_the_contract_defaults() -> None:
    shipped = load_policy()
    assert shipped == Policy()
    assert [shipped.sla_days.days(s) for s in ("critical", "high", "medium", "low")] == [7, 30, 90, 120]
    assert [shipped.risk_acceptance_max_days.days(s) for s in ("critical", "high", "medium", "low")] == [
        30,
        90,
        180,
        365,
    ]
    assert shipped.edr_heartbeat_max_age == timedelta(hours=24)
    assert shipped.inventory_stale_after == timedelta(days=30)
    assert shipped.cloud_check_stale_after == timedelta(days=7)
    assert shipped.phishing_resistant_factors == ("webauthn", "fido2", "piv", "smartcard")


def test_a_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("sla_days: {critical: 3, high: 14, medium: 60, low: 90}\nedr_heartbeat_max_age: 90m\n")
    policy = load_policy(path)
    assert policy.sla_days.days("critical") == 3
    assert policy.edr_heartbeat_max_age == timedelta(minutes=90)
    assert policy.inventory_stale_after == timedelta(days=30)


@pytest.mark.parametrize(
    "text", ["sla_days: {critical: 0, high: 1, medium: 1, low: 1}", "unknown_key: 1", "- a list"]
)
def test_bad_policy_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises((ValidationError, ValueError)):
        load_policy(path)


def test_prod_has_no_development_fallbacks() -> None:
    with pytest.raises(ValidationError, match="TRUSTLINE_DATABASE_URL"):
        Settings(env="prod", database_url=None, kafka_bootstrap="kafka:9092")
    prod = Settings(
        env="prod",
        database_url="postgresql://u:p@db/trustline",
        kafka_bootstrap="kafka:9092",
        metrics_token="t",
    )
    assert prod.sqlalchemy_url() == "postgresql+asyncpg://u:p@db/trustline"
    assert "p@db" not in repr(prod)  # the URL, with its password, is a secret
