"""Command output: stored text cannot act on the terminal; expiries typed as instants or durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer

from trustline.cli.inputs import expiry_instant
from trustline.cli.output import escape, print_table

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_escape_makes_controls_visible() -> None:
    assert escape("fake\nline\ttab\x1b[31mred\r") == "fake\\nline\\ttab\\x1b[31mred\\r"
    assert escape("right\u202eto left\u200b") == "right\\u202eto left\\u200b"
    assert escape("Caf\u00e9 \u7530\u4e2d") == "Caf\u00e9 \u7530\u4e2d"  # printable text stays as it is


def test_a_piped_table_is_tab_separated_under_a_header(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(("id", "title"), [("1", "two\nlines\tand a tab"), ("2", "x" * 500)])
    assert capsys.readouterr().out.splitlines() == [
        "id\ttitle",
        "1\ttwo\\nlines\\tand a tab",
        "2\t" + "x" * 500,
    ]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("90d", NOW + timedelta(days=90)), ("12h", NOW + timedelta(hours=12)),
     ("2027-01-31T00:00:00Z", datetime(2027, 1, 31, tzinfo=UTC)),
     ("2027-01-31T01:00:00+01:00", datetime(2027, 1, 31, tzinfo=UTC)),
     ("2027-01-31T00:00:00", datetime(2027, 1, 31, tzinfo=UTC)), ("2027-01-31", datetime(2027, 1, 31, tzinfo=UTC))],
)  # fmt: skip
def test_expiries(typed: str, expected: datetime) -> None:
    assert expiry_instant(typed, now=NOW) == expected


@pytest.mark.parametrize("typed", ["soon", "9999-01-01", "100000d", "99999999999999d", ""])
def test_bad_expiries_are_refused(typed: str) -> None:
    with pytest.raises(typer.BadParameter):
        expiry_instant(typed, now=NOW)
