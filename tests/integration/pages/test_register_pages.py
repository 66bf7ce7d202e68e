"""The register in the pages: the API's validation and limits on the proposal form, four eyes, decisions
with reasons, the approvers' queue and the filters; every change attributed to the signed-in person."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from uuid import UUID

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from trustline.api.pages.session import SESSION_COOKIE
from trustline.shared.risk import service as registry

from .client import PagesClient, csrf_of
from .conftest import Pages

pytestmark = pytest.mark.integration
TODAY = datetime.now(UTC).date()


def form(days: int = 20, severity: str = "critical", **extra: str) -> dict[str, str]:
    return {"title": "Legacy VPN", "justification": "vendor patch due", "severity": severity,
            "business_owner": "Head of Retail", "vulnerability_id": "CVE-2026-1",
            "expires_at": (TODAY + timedelta(days=days)).isoformat(), **extra}  # fmt: skip


def acceptance_id(location: str) -> str:
    found = re.fullmatch(r"/risk/([0-9a-f-]{36})", location)
    assert found is not None, location
    return found.group(1)


async def propose(client: PagesClient, **fields: str) -> str:
    made = await client.form("/risk/new", "/risk/new", form(**fields))
    assert made.status_code == 303, made.text
    return acceptance_id(made.headers["location"])


async def decide(client: PagesClient, ident: str, action: str, reason: str = "") -> tuple[int, str]:
    page = await client.get(f"/risk/{ident}")
    got = await client.post(
        f"/risk/{ident}/{action}", data={"reason": reason, "csrf_token": csrf_of(page.text)}
    )
    return got.status_code, got.text


async def test_propose_shows_the_limits_and_refuses_what_the_api_refuses(
    pages: Pages, db: asyncpg.Connection
) -> None:
    async with PagesClient(pages.url) as rita:
        await rita.dev_sign_in("rita", "risk:propose")
        shown = (await rita.get("/risk/new")).text
        # The policy's maximum duration per severity: 30, 90, 180, 365 days (the shipped defaults).
        assert re.search(r"<td>30 days</td><td>90 days</td><td>180 days</td><td>365 days</td>", shown)
        # 31 days for a critical acceptance is one too many; the registry's own sentence comes back.
        too_long = await rita.form("/risk/new", "/risk/new", form(days=31))
        assert (
            too_long.status_code == 422 and "a critical acceptance may last at most 30 days" in too_long.text
        )
        # Both scope kinds at once, and a control character in a title: the model's refusals, by field.
        both = await rita.form("/risk/new", "/risk/new", form(control_id="c1", title="a\x07b"))
        assert both.status_code == 422
        assert "scope: Value error, scope needs exactly one of vulnerability_id or control_id" in both.text
        assert "title: String should match pattern" in both.text
        # What was typed stays in the form.
        assert 'value="Head of Retail"' in both.text
    assert await db.fetchval("SELECT count(*) FROM risk_acceptances") == 0


async def test_four_eyes_decisions_and_the_audit_trail(pages: Pages, db: asyncpg.Connection) -> None:
    async with PagesClient(pages.url) as sam, PagesClient(pages.url) as avery:
        await sam.dev_sign_in("Sam", "risk:propose", "risk:approve")
        await avery.dev_sign_in("avery", "risk:approve")
        ident = await propose(sam, days=10)
        detail = (await sam.get(f"/risk/{ident}")).text
        assert "It would cover 0 open findings now." in detail  # the coverage warning, passed on
        # Sam may approve in general, but not his own proposal: no button, and a forged post is refused.
        assert "someone else must approve it (four eyes)" in detail and "/approve" not in detail
        status, text = await decide(sam, ident, "approve")
        assert status == 403 and "four eyes: the approver must be someone other than the requester" in text
        # The approvers' queue: avery sees it, sam (its requester) does not.
        assert ident in (await avery.get("/risk?view=waiting")).text
        assert ident not in (await sam.get("/risk?view=waiting")).text
        assert (await decide(avery, ident, "approve", "IP allow-list verified"))[0] == 303
        assert ident not in (await avery.get("/risk?view=waiting")).text
        # Revoking needs a reason; with one it ends the acceptance.
        status, text = await decide(avery, ident, "revoke")
        assert status == 422 and "Give a reason to revoke." in text
        assert (await decide(avery, ident, "revoke", "vendor fix installed"))[0] == 303
        status, text = await decide(avery, ident, "revoke", "again")
        assert status == 409 and "only an approved, unexpired acceptance can be revoked" in text
    _, trail = await registry.get(db, acceptance_id=UUID(ident))
    # The canonical names of the people signed in, in order, with their reasons.
    assert [(e.action, e.actor, e.detail.get("reason")) for e in trail] == [
        ("proposed", "sam", None), ("approved", "avery", "IP allow-list verified"),
        ("revoked", "avery", "vendor fix installed"),
    ]  # fmt: skip


async def test_reject_and_the_filters(pages: Pages) -> None:
    async with PagesClient(pages.url) as rita, PagesClient(pages.url) as avery:
        await rita.dev_sign_in("rita", "risk:propose")
        await avery.dev_sign_in("avery", "risk:approve")
        low = await propose(rita, severity="low", days=100, title="Low one")
        soon = await propose(rita, severity="high", days=5, title="Ends soon")
        later = await propose(rita, severity="high", days=60, title="Ends later")
        assert (await decide(avery, soon, "approve"))[0] == 303
        assert (await decide(avery, later, "approve"))[0] == 303
        assert (await decide(avery, low, "reject"))[0] == 422  # a rejection needs its reason
        assert (await decide(avery, low, "reject", "not a business decision"))[0] == 303
        # Approved and ending within 7 days: only "Ends soon" (5 days); within 90: both approved ones.
        week = (await rita.get("/risk?expiring=7")).text
        assert "Ends soon" in week and "Ends later" not in week and "Low one" not in week
        quarter = (await rita.get("/risk?expiring=90")).text
        assert "Ends soon" in quarter and "Ends later" in quarter and "Low one" not in quarter
        rejected = (await rita.get("/risk?status=rejected&severity=low")).text
        assert "Low one" in rejected and "Ends soon" not in rejected
        assert "Ends soon" not in (await rita.get("/risk?severity=low")).text
        # Unknown filter values are refused, as the list API refuses them.
        bad = await rita.get("/risk?status=maybe")
        assert bad.status_code == 422 and "status: Input should be" in bad.text
        # rita cannot approve: the decision is refused by scope, and the queue too.
        status, text = await decide(rita, low, "approve")
        assert status == 403 and "risk:approve" in text


FIELDS = [
    "title",
    "justification",
    "business_owner",
    "vulnerability_id",
    "severity",
    "expires_at",
    "business_unit",
    "asset_id",
    "compensating_controls",
]
HOSTILE = st.one_of(
    st.text(max_size=50),
    st.just("\x00"),
    st.just("x" * 9000),
    st.just("\ud800"),
    st.just("0001-01-01"),
    st.just("9999-12-31T23:59:59-23:59"),
    st.just("1970-01-01T00:00:00"),
    st.just("[" * 2000),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)


async def test_hostile_form_values_get_a_page_never_a_crash(pages: Pages) -> None:
    async with PagesClient(pages.url) as client:
        await client.dev_sign_in("fuzz", "risk:propose")
        token = csrf_of((await client.get("/risk/new")).text)
        cookie = f"{SESSION_COOKIE}={client.session}"

    @settings(
        max_examples=80,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(field=st.sampled_from(FIELDS), value=HOSTILE)
    def post(field: str, value: str) -> None:
        data = {**form(), field: value, "csrf_token": token}
        # Invalid UTF-8 and NUL bytes go on the wire as the form encodes them (percent-escaped bytes).
        body = urlencode(data, encoding="utf-8", errors="surrogatepass").encode()
        got = httpx.post(
            f"{pages.url}/risk/new",
            content=body,
            timeout=30,
            headers={"cookie": cookie, "content-type": "application/x-www-form-urlencoded"},
        )
        assert got.status_code in (303, 422), (field, value[:80], got.status_code, got.text[:300])

    await asyncio.to_thread(post)
