"""EDR coverage, unknown EDR assets, identities and MFA: expected values worked out by hand."""

from __future__ import annotations

import asyncpg
import pytest

from tests.helpers import names_with, sample
from tests.scenario import D, H, T, ev, load, snapshot
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration


def observed(
    asset: str, at: object, kind: str = "endpoint", os: str = "windows", bu: str = "payments", **extra: object
) -> dict[str, object]:
    return ev(
        "asset.observed",
        at,
        source="test/cmdb",
        asset_id=asset,
        kind=kind,
        os_family=os,
        business_unit=bu,
        **extra,
    )  # type: ignore[arg-type]


def heartbeat(asset: str, at: object, healthy: bool = True) -> dict[str, object]:
    return ev("edr.heartbeat", at, source="test/edr", asset_id=asset, healthy=healthy)  # type: ignore[arg-type]


async def test_edr_coverage(clean: Settings, db: asyncpg.Connection) -> None:
    await load(db, [
        observed("e1", T - 2 * D), heartbeat("e1", T - H),                      # covered
        observed("e2", T - 2 * D), heartbeat("e2", T - 25 * H),                 # heartbeat older than 24 h
        observed("e3", T - 2 * D, "server", "linux"), heartbeat("e3", T - 2 * H),
        ev("edr.uninstalled", T - H, asset_id="e3"),                              # uninstalled after its heartbeat
        observed("e4", T - 40 * D, "server", "linux"), heartbeat("e4", T - H),  # inventory stale (> 30 d)
        observed("e5", T - D, "network", "linux"),                               # EDR not required for network
        observed("e6", T - 3 * D), ev("asset.retired", T - D, asset_id="e6"),   # retired
        observed("e7", T - D, "endpoint", "macos", "retail"),
        heartbeat("e7", T - H / 2), heartbeat("e7", T - H / 6, healthy=False),  # unhealthy beat ignored
        observed("e8", T - D, "server", "linux", edr_required=False),           # explicitly not required
        observed("e9", T - D, "endpoint", "linux"),                              # never reported
        observed("e10", T - D), heartbeat("e10", T - 24 * H),                   # exactly 24 h: still covered
        heartbeat("ghost1", T - 3 * H),                                          # shadow IT
        heartbeat("ghost2", T - 30 * H),                                         # silent too long to count
    ])  # fmt: skip
    m = await snapshot(db)

    def edr(what: str, bu: str, os: str) -> float | None:
        return sample(m, f"trustline_edr_assets_{what}", business_unit=bu, os_family=os)

    # payments/windows: e1, e2, e10 expected (e6 retired); e1 and e10 covered.
    assert (edr("expected", "payments", "windows"), edr("covered", "payments", "windows")) == (3, 2)
    # payments/linux: e3 and e9 expected (e4 stale, e5 network, e8 not required); neither covered.
    assert (edr("expected", "payments", "linux"), edr("covered", "payments", "linux")) == (2, 0)
    assert (edr("expected", "retail", "macos"), edr("covered", "retail", "macos")) == (1, 1)
    assert len(names_with(m, "trustline_edr_assets_expected")) == 3
    assert sample(m, "trustline_edr_unknown_assets") == 1


def identity(user: str, at: object, privileged: bool = False, bu: str = "payments") -> dict[str, object]:
    return ev(
        "identity.observed", at, source="test/idp", user_id=user, privileged=privileged, business_unit=bu
    )  # type: ignore[arg-type]


def mfa(
    user: str, at: object, factor: str, action: str = "enrolled", factor_id: str | None = None
) -> dict[str, object]:
    extra = {"factor_id": factor_id} if factor_id else {}
    return ev(f"mfa.{action}", at, source="test/idp", user_id=user, factor_type=factor, **extra)  # type: ignore[arg-type]


async def test_identities_and_mfa_strengths_are_disjoint(clean: Settings, db: asyncpg.Connection) -> None:
    await load(db, [
        identity("u1", T - 9 * D, True), mfa("u1", T - 8 * D, "webauthn"),        # phishing resistant
        identity("u2", T - 9 * D, True), mfa("u2", T - 8 * D, "totp"),            # other
        identity("u3", T - 9 * D, True),                                          # privileged, no MFA
        identity("u4", T - 9 * D, True), mfa("u4", T - 8 * D, "sms"), mfa("u4", T - 7 * D, "fido2"),  # any strong one wins
        identity("u5", T - 9 * D), mfa("u5", T - 8 * D, "push"), mfa("u5", T - 2 * D, "push", "removed"),
        identity("u6", T - 9 * D, bu="retail"), mfa("u6", T - 8 * D, "totp"),
        ev("identity.deactivated", T - D, user_id="u6"),                            # inactive: not counted
        identity("u7", T - 9 * D, bu="retail"), identity("u7", T - 3 * D, True, "retail"),  # promoted
        identity("u8", T - 9 * D, bu="retail"),
        mfa("u8", T - 8 * D, "webauthn", factor_id="k1"), mfa("u8", T - 7 * D, "webauthn", factor_id="k2"),
        mfa("u8", T - 6 * D, "webauthn", "removed", factor_id="k1"),               # k2 remains
        mfa("u9", T - 8 * D, "webauthn"),                                           # never observed: no identity
    ])  # fmt: skip
    m = await snapshot(db)

    def count(bu: str, pop: str, strength: str | None = None) -> float | None:
        if strength is None:
            return sample(m, "trustline_identities", business_unit=bu, population=pop)
        return sample(m, "trustline_identities_mfa", business_unit=bu, population=pop, strength=strength)

    # payments/privileged: u1..u4; u1 and u4 phishing resistant, u2 other, u3 none.
    assert [count("payments", "privileged", s) for s in (None, "phishing_resistant", "other")] == [4, 2, 1]
    # payments/standard: u5 removed its only factor.
    assert [count("payments", "standard", s) for s in (None, "phishing_resistant", "other")] == [1, 0, 0]
    # retail: u7 (now privileged, no MFA); u8 standard with key k2 still enrolled; u6 deactivated.
    assert [count("retail", "privileged", s) for s in (None, "phishing_resistant", "other")] == [1, 0, 0]
    assert [count("retail", "standard", s) for s in (None, "phishing_resistant", "other")] == [1, 1, 0]
    assert len(names_with(m, "trustline_identities")) == 4

    # As of T-5d, u7 was still standard and u5 still had its push factor.
    past = await snapshot(db, T - 5 * D)
    assert (
        sample(past, "trustline_identities", business_unit="retail", population="standard") == 3
    )  # u6, u7, u8
    assert (
        sample(
            past,
            "trustline_identities_mfa",
            business_unit="payments",
            population="standard",
            strength="other",
        )
        == 1
    )
