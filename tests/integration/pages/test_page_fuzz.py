"""Hostile query strings on every page that reads one: a page or a 4xx with a reason, never a 500."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from trustline.api.pages.session import SESSION_COOKIE

from .client import PagesClient
from .conftest import Pages

pytestmark = pytest.mark.integration
TARGETS = [
    ("/risk", ["status", "severity", "business_unit", "expiring", "view", "offset"]),
    ("/risk/new", ["vulnerability_id", "asset_id", "control_id", "severity"]),
    ("/gaps/edr-uncovered", ["business_unit", "os_family", "at", "offset"]),
    ("/gaps/identities-without-mfa", ["population", "strength", "at"]),
    ("/gaps/vulnerabilities-past-sla.csv", ["severity", "at", "offset"]),
    ("/gaps/cloud-checks-failing", ["provider", "include_accepted", "at"]),
    ("/reports/monthly", ["month", "format"]),
]
HOSTILE = st.one_of(
    st.text(max_size=40), st.just("\x00"), st.just("x" * 5000), st.just("-1"), st.just("99999999999999999999"),
    st.just("0001-01-01T00:00:00+23:59"), st.just("2199-12-31T23:59:59Z"), st.just("1969-12-31"),
    st.just("[" * 500), st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
)  # fmt: skip


async def test_hostile_query_strings_never_answer_a_server_error(pages: Pages) -> None:
    async with PagesClient(pages.url) as client:
        await client.dev_sign_in("fuzz", "risk:propose", "risk:approve")
        cookie = f"{SESSION_COOKIE}={client.session}"

    @settings(
        max_examples=150,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(target=st.sampled_from(TARGETS), data=st.data())
    def get(target: tuple[str, list[str]], data: st.DataObject) -> None:
        path, names = target
        name, value = data.draw(st.sampled_from(names)), data.draw(HOSTILE)
        # Bytes as a browser would percent-encode them, invalid UTF-8 included.
        encoded = quote(value.encode("utf-8", "surrogatepass"), safe="")
        got = httpx.get(f"{pages.url}{path}?{name}={encoded}", headers={"cookie": cookie}, timeout=60)
        assert got.status_code in (200, 404, 422), (path, name, value[:60], got.status_code, got.text[:300])

    await asyncio.to_thread(get)
