"""The Host allow-list: its setting and its matching rule (exact names, `*.domain` for subdomains)."""

from __future__ import annotations

import pytest

from trustline.api.middleware import host_allowed
from trustline.shared.settings import Settings

ALLOWED = ["api.example", "*.trustline.test", "[::1]"]


def test_allowed_hosts_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTLINE_API_ALLOWED_HOSTS", " api.example, *.trustline.test ,")
    assert Settings().api_allowed_hosts == ["api.example", "*.trustline.test"]
    monkeypatch.delenv("TRUSTLINE_API_ALLOWED_HOSTS")
    assert Settings().api_allowed_hosts == []


@pytest.mark.parametrize(
    "host", ["api.example", "API.Example:8000", "eu.trustline.test", "a.b.trustline.test:443", "[::1]:8000"]
)
def test_listed_hosts_and_subdomains_are_allowed(host: str) -> None:
    assert host_allowed(host, ALLOWED)


@pytest.mark.parametrize(
    "host",
    [
        "",
        "evil.example",
        "trustline.test",
        "eviltrustline.test",
        "api.example.evil",
        "api.example@evil",
        "[::2]",
    ],
)
def test_other_hosts_are_refused(host: str) -> None:
    assert not host_allowed(host, ALLOWED)
