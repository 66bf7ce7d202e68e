"""Named parameters: `:name` becomes `$n` once per name; casts, literals and quoted bodies are left alone."""

from __future__ import annotations

import pytest

from trustline.shared.sql import ParameterError, Query


def test_names_become_positions_in_order_of_first_use() -> None:
    q = Query("SELECT * FROM t WHERE a <= :at AND b > :at - make_interval(secs => :age) AND c = ANY(:kinds)")
    assert q.text == "SELECT * FROM t WHERE a <= $1 AND b > $1 - make_interval(secs => $2) AND c = ANY($3)"
    assert q.names == ("at", "age", "kinds")
    assert q.args(kinds=["x"], at=1, age=2.5) == [1, 2.5, ["x"]]


def test_casts_literals_identifiers_and_dollar_bodies_are_not_parameters() -> None:
    sql = (
        "SELECT :at::timestamptz, x::text, 'a :literal '' :still', \"col :name\", "
        "$$ body :no $$, $f$ :neither $f$, labels->>'k' FROM t WHERE y = :y"
    )
    q = Query(sql)
    assert q.names == ("at", "y")
    assert q.text == (
        "SELECT $1::timestamptz, x::text, 'a :literal '' :still', \"col :name\", "
        "$$ body :no $$, $f$ :neither $f$, labels->>'k' FROM t WHERE y = $2"
    )


def test_a_missing_or_unknown_name_is_refused_not_guessed() -> None:
    q = Query("SELECT :a, :b")
    with pytest.raises(ParameterError, match="missing \\['b'\\]"):
        q.args(a=1)
    with pytest.raises(ParameterError, match="unknown \\['c'\\]"):
        q.args(a=1, b=2, c=3)
    assert Query("SELECT 1").args() == []
