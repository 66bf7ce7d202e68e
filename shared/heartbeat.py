"""A long-running component's heartbeat, for Kubernetes probes on its metrics port.

The loop of a component (the ingest worker's poll, the aggregator's cadence) beats on every turn, and so
does every deliberate wait (`aio.wait_or_stop`: a retry's backoff, a follower waiting for the lock). A
loop stuck in a call that never returns stops beating, and the liveness probe restarts the process; a
database outage being waited out does not. One process runs one component, so the state is the
process's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

_clock = time.monotonic  # replaced in tests
_started = _clock()
_last: float | None = None
_ready = False


def beat(*, ready: bool = False) -> None:
    """The loop is turning; `ready`: it has reached its servers once and does its work."""
    global _last, _ready
    _last = _clock()
    _ready = _ready or ready


@dataclass(frozen=True, slots=True)
class Health:
    """What the probes answer."""

    alive: bool
    ready: bool
    seconds_since_beat: float

    def body(self) -> dict[str, object]:
        """The JSON the probe endpoints return."""
        return {
            "status": "ok" if self.alive else "stalled",
            "ready": self.ready,
            "seconds_since_beat": round(self.seconds_since_beat, 3),
        }


def health(max_age: float) -> Health:
    """Alive when the last beat (or the start) is at most `max_age` seconds old; ready once it said so."""
    age = _clock() - (_last if _last is not None else _started)
    alive = age <= max_age
    return Health(alive=alive, ready=alive and _ready, seconds_since_beat=age)
