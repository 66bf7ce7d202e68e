"""The one retry helper: bounded backoff, transient versus permanent faults, the stop event."""

from __future__ import annotations

import asyncio
import itertools
import logging

import asyncpg
import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    RecordTooLargeError,
)

from trustline.shared.retry import Backoff, Stopped, is_retriable, retry

log = logging.getLogger("tests.retry")


def test_backoff_doubles_up_to_its_cap_and_stays_there() -> None:
    delays = list(itertools.islice(Backoff(first=0.5, cap=30.0).delays(), 9))
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_a_backoff_whose_cap_is_its_first_delay_is_fixed() -> None:
    assert list(itertools.islice(Backoff(first=2.0, cap=2.0).delays(), 4)) == [2.0] * 4


@pytest.mark.parametrize(("first", "cap"), [(-1.0, 1.0), (3.0, 2.0)])
def test_a_backoff_is_bounded(first: float, cap: float) -> None:
    with pytest.raises(ValueError, match="first <= cap"):
        Backoff(first=first, cap=cap)


def _caused_by(cause: BaseException) -> Exception:
    try:
        raise RuntimeError("wrapped") from cause
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize(
    "fault",
    [
        OSError("connection refused"),
        TimeoutError(),
        asyncpg.exceptions.ConnectionDoesNotExistError("gone"),
        asyncpg.exceptions.SerializationError("conflict"),
        _caused_by(ConnectionResetError()),
        KafkaConnectionError(),
        NotLeaderForPartitionError(),
    ],
)
def test_connection_faults_and_retriable_kafka_errors_are_transient(fault: BaseException) -> None:
    assert is_retriable(fault)


@pytest.mark.parametrize(
    "fault",
    [
        ValueError("a bug"),
        asyncpg.exceptions.UniqueViolationError("duplicate"),
        MessageSizeTooLargeError(),
        RecordTooLargeError(),
        KafkaError(),
    ],
)
def test_statement_errors_and_permanent_kafka_errors_are_not(fault: BaseException) -> None:
    assert not is_retriable(fault)


class Flaky:
    """Fails with each of `faults` in turn, then returns how many calls it took."""

    def __init__(self, *faults: BaseException) -> None:
        self.faults = list(faults)
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        if self.faults:
            raise self.faults.pop(0)
        return self.calls


async def test_transient_faults_are_retried_after_each_delay_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    action = Flaky(OSError(), KafkaConnectionError(), OSError())
    with caplog.at_level(logging.WARNING, logger=log.name):
        got = await retry(
            action, what="cannot store events", stop=asyncio.Event(), backoff=Backoff(0.0, 0.0), log=log
        )
    assert got == 4 and action.calls == 4
    assert [r.getMessage() for r in caplog.records] == [
        "cannot store events (OSError); retrying in 0.0s",
        "cannot store events (KafkaConnectionError); retrying in 0.0s",
        "cannot store events (OSError); retrying in 0.0s",
    ]


async def test_waits_follow_the_backoff_until_stopped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    waited: list[float] = []

    async def wait(stop: asyncio.Event, seconds: float) -> bool:
        waited.append(seconds)
        return len(waited) == 8  # stopped during the eighth wait

    monkeypatch.setattr("trustline.shared.retry.wait_or_stop", wait)
    action = Flaky(*(OSError() for _ in range(20)))
    with caplog.at_level(logging.WARNING, logger=log.name), pytest.raises(Stopped):
        await retry(
            action, what="lost the database", stop=asyncio.Event(), backoff=Backoff(0.5, 30.0), log=log
        )
    assert waited == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert action.calls == 8
    assert caplog.records[-1].getMessage() == "lost the database (OSError); retrying in 30.0s"


async def test_a_permanent_fault_is_raised_at_once(caplog: pytest.LogCaptureFixture) -> None:
    action = Flaky(ValueError("a bug"))
    with pytest.raises(ValueError, match="a bug"):
        await retry(action, what="x", stop=asyncio.Event(), backoff=Backoff(0.0, 0.0), log=log)
    assert action.calls == 1 and not caplog.records


async def test_the_caller_decides_what_is_transient() -> None:
    action = Flaky(asyncpg.exceptions.UndefinedTableError("no table yet"))
    got = await retry(
        action,
        what="x",
        stop=asyncio.Event(),
        backoff=Backoff(0.0, 0.0),
        log=log,
        transient=lambda exc: isinstance(exc, asyncpg.PostgresError),
    )
    assert got == 2
    with pytest.raises(KafkaConnectionError):  # the caller's rule, not the default one
        await retry(
            Flaky(KafkaConnectionError()),
            what="x",
            stop=asyncio.Event(),
            backoff=Backoff(0.0, 0.0),
            log=log,
            transient=lambda exc: isinstance(exc, asyncpg.PostgresError),
        )


async def test_a_stop_while_waiting_raises_stopped_without_another_attempt() -> None:
    stop = asyncio.Event()
    stop.set()
    action = Flaky(OSError(), OSError())
    with pytest.raises(Stopped):
        await retry(action, what="x", stop=stop, backoff=Backoff(60.0, 60.0), log=log)
    assert action.calls == 1


async def test_an_action_that_succeeds_runs_once_even_when_stopping() -> None:
    stop = asyncio.Event()
    stop.set()
    action = Flaky()
    assert await retry(action, what="x", stop=stop, backoff=Backoff(60.0, 60.0), log=log) == 1
