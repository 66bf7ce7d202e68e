"""Named parameters: `:name` becomes `$n` once per name; casts, literals and quoted bodies are left alone."""

from __future__ import annotations

import pytest

from trustline.shared.sql import Fragment, ParameterError, Query


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


def test_a_positional_parameter_is_refused_where_names_bind() -> None:
    with pytest.raises(ParameterError, match="positional parameter \\$2"):
        Query("SELECT * FROM t WHERE a <= :at AND b = $2")
    with pytest.raises(ParameterError, match="positional parameter \\$1"):
        Fragment("x = $1", needs=())
    # Inside literals, comments, dollar bodies and identifiers a `$1` is no parameter.
    q = Query("SELECT 'costs $1', a$1 FROM t -- was $1\nWHERE /* $2 :no */ b = :b AND c = $f$ $3 $f$")
    assert q.names == ("b",)
    assert q.text == "SELECT 'costs $1', a$1 FROM t -- was $1\nWHERE /* $2 :no */ b = $1 AND c = $f$ $3 $f$"


def test_a_fragment_declares_exactly_the_names_its_sql_binds() -> None:
    edr = Fragment(
        "e.last_healthy_at >= :at - make_interval(secs => :heartbeat_max_age)",
        needs=("at", "heartbeat_max_age"),
    )
    assert edr.needs == {"at", "heartbeat_max_age"}
    assert f"WHERE {edr}" == f"WHERE {edr.sql}"
    assert Query(f"SELECT 1 FROM e WHERE {edr} AND e.kind = :kind").names == (
        "at",
        "heartbeat_max_age",
        "kind",
    )
    with pytest.raises(
        ParameterError, match="declares \\['at'\\] but its SQL uses \\['at', 'heartbeat_max_age'\\]"
    ):
        Fragment(edr.sql, needs=("at",))
    with pytest.raises(ParameterError, match="uses \\[\\]"):
        Fragment("e.retired", needs=("at",))
