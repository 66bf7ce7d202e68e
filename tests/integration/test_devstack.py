"""`trustline dev`: idempotent, survives a stale pid file, stops cleanly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import free_port
from trustline.cli.devstack import DevStack
from trustline.cli.processes import port_open
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration


def test_up_is_idempotent_and_down_stops_everything(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, dev_postgres_port=free_port(), dev_kafka_port=free_port())
    stack = DevStack(settings)
    assert stack.postgres is not None and stack.broker is not None
    try:
        stack.up()
        broker_pid = stack.broker.pidfile.read_text()
        stack.up()  # again: nothing restarts
        assert stack.broker.pidfile.read_text() == broker_pid
        assert [s.running for s in stack.status()] == [True, True]

        stack.down()
        assert not port_open(settings.dev_postgres_port) and not port_open(settings.dev_kafka_port)
        assert [s.running for s in stack.status()] == [False, False]
        stack.down()  # stopping a stopped stack is fine

        # A pid file left by a crash, naming a live process that is not the broker, must not fool `up`.
        stack.broker.pidfile.write_text(str(os.getpid()))
        stack.up()
        assert stack.broker.pidfile.read_text() != str(os.getpid())
        assert [s.running for s in stack.status()] == [True, True]
    finally:
        stack.destroy()
    assert not port_open(settings.dev_postgres_port) and not port_open(settings.dev_kafka_port)


def test_external_services_are_not_managed(tmp_path: Path) -> None:
    settings = Settings(
        state_dir=tmp_path, database_url="postgresql://u@db.example/x", kafka_bootstrap="k:9092"
    )
    stack = DevStack(settings)
    assert stack.postgres is None and stack.broker is None and stack.status() == []
