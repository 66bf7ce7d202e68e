"""Identity names: canonical forms, invisible characters, mixed scripts and look-alike skeletons."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustline.shared.auth.principals import (
    InvalidName,
    ascii_name,
    canonical,
    require_distinct,
    require_single_script,
    same_person,
    skeleton,
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("Alice", "alice"), ("  Bob   Smith ", "bob smith"), ("\uff41lice", "alice"), ("STRASSE", "strasse"),
     ("Stra\u00dfe", "strasse"), ("alice\u00a0@demo", "alice @demo"), ("e\u0301mile", "\u00e9mile")],
)  # fmt: skip
def test_canonical_forms(typed: str, expected: str) -> None:
    assert canonical(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "alice\u200b", "al\u200dice", "\u202ealice", "alice\n", "ali\x00ce", "alice\u00ad",
     "alice\u3164", "alice\u2800", "alice\ufe0f", "alice\u2028", "alice\u1680bob", "x" * 129],
)  # fmt: skip
def test_invisible_control_and_empty_names_are_refused(typed: str) -> None:
    with pytest.raises(InvalidName):
        canonical(typed)


@given(st.text(max_size=40))
def test_canonical_is_idempotent(typed: str) -> None:
    try:
        once = canonical(typed)
    except InvalidName:
        return
    assert canonical(once) == once


@pytest.mark.parametrize("name", ["alice", "\u0430\u0441\u0435", "\u03b5\u03bb\u03ad\u03bd\u03b7", "\u7530\u4e2dtaro",
                                  "alice-2@demo.example", "\u3084\u307e\u3060\u592a\u90ce"])  # fmt: skip
def test_single_script_names_pass(name: str) -> None:
    require_single_script(name)


@pytest.mark.parametrize("name", ["\u0430lice", "p\u0430ypal", "\u03bfscar", "bob\u0430\u03b1"])
def test_mixed_script_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidName, match="mix scripts"):
        require_single_script(name)


def test_look_alikes_share_a_skeleton() -> None:
    assert skeleton("\u0430\u0441\u0435") == skeleton("ace")  # all Cyrillic
    assert skeleton("\u03bf\u03c1\u03b1") == skeleton("opa")  # all Greek
    assert skeleton("rnary") == skeleton("mary") and skeleton("b0b") == skeleton("bob")
    assert skeleton("rene") != skeleton("ren\u00e9")  # a visible accent is a different name
    with pytest.raises(InvalidName, match="looks like the existing principal ace"):
        require_distinct("\u0430\u0441\u0435", ["bob", "ace"])
    require_distinct("ace", ["ace", "ACE", "bob"])  # the same principal again is no impostor


def test_same_person_covers_names_stored_before_canonical_forms() -> None:
    assert same_person("alice", "Alice") and same_person("alice", "alice\u200b")
    assert same_person("alice", "\u0430lice") and not same_person("alice", "alicia")


def test_ascii_names_show_every_look_alike() -> None:
    assert ascii_name("alice") == "alice"
    assert ascii_name("\u0430lice") == "\\u0430lice"
    assert ascii_name("\\u0430lice") == "\\\\u0430lice"  # a typed backslash cannot pass for an escape
