"""Bytes in, a validated Event or a Rejection with a reason out; never an exception."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final, Literal

import msgspec

from ..topics import TYPE_TOPIC_SUFFIX, topic_suffix
from .schemas import DATA_TYPES, Event, normalise

RejectReason = Literal[
    "invalid_json",
    "invalid_envelope",
    "unknown_type",
    "type_not_allowed_on_topic",
    "invalid_data",
    "time_out_of_range",
    "too_large",
]
REJECT_REASONS: Final[tuple[RejectReason, ...]] = (
    "invalid_json",
    "invalid_envelope",
    "unknown_type",
    "type_not_allowed_on_topic",
    "invalid_data",
    "time_out_of_range",
    "too_large",
)
EARLIEST_EVENT_TIME: Final = datetime(2000, 1, 1, tzinfo=UTC)
MAX_FUTURE: Final = timedelta(hours=24)

_Attr = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class _Envelope(msgspec.Struct, frozen=True):
    """Structured-mode CloudEvents 1.0; `data` stays raw until its type is known."""

    specversion: Literal["1.0"]
    id: _Attr
    source: _Attr
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    time: datetime
    subject: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")


class Rejection(msgspec.Struct, frozen=True):
    """Why a record was refused: one of the closed set of reasons, and a human detail."""

    reason: RejectReason
    detail: str


Decoded = Event | Rejection

_envelope_decoder: Final = msgspec.json.Decoder(_Envelope)
_any_decoder: Final = msgspec.json.Decoder()
_data_decoders: Final = {t: msgspec.json.Decoder(cls) for t, cls in DATA_TYPES.items()}


class Decoder:
    """Validates records for the topics under one prefix."""

    def __init__(
        self,
        *,
        topic_prefix: str,
        max_bytes: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._prefix = topic_prefix
        self._max_bytes = max_bytes
        self._clock = clock

    def decode(self, topic: str, value: bytes | None) -> Decoded:
        """Decode one structured-mode CloudEvent received on `topic`."""
        if value is None:
            return Rejection("invalid_json", "empty record (no value)")
        if len(value) > self._max_bytes:
            return Rejection("too_large", f"record is {len(value)} bytes, the limit is {self._max_bytes}")
        if b"\\u0000" in value:
            # PostgreSQL text cannot hold NUL: refuse here rather than fail the whole batch later.
            return Rejection("invalid_data", "NUL characters (\\u0000) are not allowed")
        try:
            env = _envelope_decoder.decode(value)
        except msgspec.ValidationError as exc:
            return self._why_not_envelope(value, str(exc))
        except msgspec.DecodeError as exc:
            return Rejection("invalid_json", str(exc))
        return self._check(topic, env)

    def _why_not_envelope(self, value: bytes, detail: str) -> Rejection:
        try:
            obj = _any_decoder.decode(value)
        except msgspec.DecodeError as exc:
            return Rejection("invalid_json", str(exc))
        if isinstance(obj, dict) and "class_uid" in obj and "specversion" not in obj:
            return Rejection("invalid_envelope", "OCSF records are not accepted on this path yet")
        return Rejection("invalid_envelope", detail)

    def _check(self, topic: str, env: _Envelope) -> Decoded:
        suffix = TYPE_TOPIC_SUFFIX.get(env.type)
        if suffix is None:
            return Rejection("unknown_type", f"unknown event type {env.type!r}")
        if topic_suffix(self._prefix, topic) != suffix:
            return Rejection("type_not_allowed_on_topic", f"type {env.type!r} is not accepted on {topic!r}")
        if env.time.tzinfo is None:
            return Rejection("invalid_envelope", "`time` must be RFC 3339 with an offset")
        now = self._clock()
        if env.time < EARLIEST_EVENT_TIME or env.time > now + MAX_FUTURE:
            return Rejection(
                "time_out_of_range", f"time {env.time.isoformat()} is before 2000 or >24 h ahead"
            )
        try:
            data = _data_decoders[env.type].decode(env.data)
        except msgspec.DecodeError as exc:
            return Rejection("invalid_data", f"{env.type}: {exc}")
        return Event(
            source=env.source,
            id=env.id,
            type=env.type,
            topic=topic,
            time=env.time.astimezone(UTC),
            subject=env.subject,
            data=normalise(data),
        )
