"""Which event sources a key's patterns admit: `*` is the only wildcard, everything else is literal."""

from __future__ import annotations

import pytest

from trustline.shared.auth.keys import Principal


@pytest.mark.parametrize(
    ("patterns", "source", "allowed"),
    [
        (("qualys/prod",), "qualys/prod", True),
        (("qualys/prod",), "qualys/prod2", False),  # exact names are exact
        (("qualys/prod",), "Qualys/prod", False),  # sources are case-sensitive ids
        (("qualys/*",), "qualys/prod", True),
        (("qualys/*",), "qualys", False),
        (("qualys/*",), "tenable/prod", False),
        (("*",), "anything/at-all", True),
        (("scan.er/?",), "scanXer/a", False),  # `.` and `?` are literal, not regex or glob wildcards
        (("scan.er/?",), "scan.er/?", True),
        (("a/[x]",), "a/x", False),
        (("tenable/*", "qualys/*"), "qualys/eu", True),
        ((), "qualys/prod", False),  # no pattern: no source at all
    ],
)
def test_a_key_writes_only_the_sources_its_patterns_name(
    patterns: tuple[str, ...], source: str, allowed: bool
) -> None:
    assert Principal("bot", frozenset({"events:write"}), patterns).may_write(source) is allowed
