"""`trustline dev`: idempotent, survives a stale pid file, stops cleanly, deletes its data wherever it lives,
and finds the data directories of clones that are gone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.helpers import clean_env
from trustline.cli.local.devstack import DevStack
from trustline.cli.local.postgres import EmbeddedPostgres, data_root
from trustline.cli.local.processes import is_root, port_open
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


def _trustline(state: Path, settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        TRUSTLINE_STATE_DIR=str(state),
        TRUSTLINE_DEV_POSTGRES_PORT=str(settings.dev_postgres_port),
        TRUSTLINE_DEV_KAFKA_PORT=str(settings.dev_kafka_port),
        COLUMNS="200",
    )
    return subprocess.run([sys.executable, "-m", "trustline.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def test_destroy_deletes_the_data_wherever_it_lives_and_status_lists_orphans(tmp_path: Path) -> None:
    gone, here = tmp_path / "gone-clone" / "var", tmp_path / "clone" / "var"
    settings = Settings(state_dir=gone, dev_postgres_port=free_port(), dev_kafka_port=free_port())
    stack = DevStack(settings)
    try:
        stack.up()
        data = stack.data_root()
        assert data.is_dir() and (data / "data" / "PG_VERSION").exists()
        stack.down()
        shutil.rmtree(gone.parent)  # the clone is deleted (or `rm -rf var`) without `make clean`

        status = _trustline(here, settings, "dev", "status", "--json")
        assert status.returncode == 0, status.stderr
        orphans = {o["path"]: o for o in json.loads(status.stdout)["orphans"]}
        if not is_root():  # the data lived inside the state dir and went with it: nothing can be orphaned
            assert not data.exists() and orphans == {}
            return
        assert orphans[str(data)]["state_dir"] == str(gone.resolve())
        assert orphans[str(data)]["size_bytes"] > 1_000_000 and not orphans[str(data)]["running"]
        assert "orphaned data directories" in _trustline(here, settings, "dev", "status").stderr

        # This clone's own database is not an orphan: `--orphans` deletes the others' only.
        mine = DevStack(Settings(state_dir=here, dev_postgres_port=free_port(), dev_kafka_port=free_port()))
        mine.up()
        mine.down()
        destroyed = _trustline(here, settings, "dev", "destroy", "--yes", "--orphans")
        assert destroyed.returncode == 0, destroyed.stderr
        assert not data.exists()
        assert (mine.data_root() / "data" / "PG_VERSION").exists()
        mine.destroy()
        assert str(data) not in {
            o["path"]
            for o in json.loads(_trustline(here, settings, "dev", "status", "--json").stdout)["orphans"]
        }
    finally:
        if data_root(gone).exists():
            EmbeddedPostgres(settings).destroy()


def test_dev_destroy_deletes_this_state_dirs_database(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, dev_postgres_port=free_port(), dev_kafka_port=free_port())
    stack = DevStack(settings)
    try:
        stack.up()
        assert stack.data_root().is_dir()
        done = _trustline(tmp_path, settings, "dev", "destroy", "--yes")  # what `make clean` runs
        assert done.returncode == 0, done.stderr
        assert not stack.data_root().exists()
        assert not port_open(settings.dev_postgres_port) and not port_open(settings.dev_kafka_port)
    finally:
        stack.destroy()
