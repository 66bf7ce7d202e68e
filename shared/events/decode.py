"""Bytes in, validated Events or a Rejection with a reason out; never an exception.

Every record is hostile until decoded: invalid UTF-8, nesting deep enough to exhaust the parser, times
outside what a datetime can hold, and any failure of the OCSF mapper all end as a Rejection with a
reason, so one record can never stop ingestion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final, Literal

import msgspec

from ..topics import TYPE_TOPIC_SUFFIX, topic_name, topic_suffix
from .ocsf import OcsfError, is_ocsf, to_cloudevents
from .schemas import DATA_TYPES, NO_CONTROL, Event, normalise

RejectReason = Literal[
    "invalid_json",
    "invalid_envelope",
    "unknown_type",
    "type_not_allowed_on_topic",
    "invalid_data",
    "time_out_of_range",
    "too_large",
]
EARLIEST_EVENT_TIME: Final = datetime(2000, 1, 1, tzinfo=UTC)
MAX_FUTURE: Final = timedelta(hours=24)

_Attr = Annotated[str, msgspec.Meta(min_length=1, max_length=512, pattern=NO_CONTROL)]


class _Envelope(msgspec.Struct, frozen=True):
    """Structured-mode CloudEvents 1.0; `data` stays raw until its type is known."""

    specversion: Literal["1.0"]
    id: _Attr
    source: _Attr
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=NO_CONTROL)]
    time: datetime
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=512, pattern=NO_CONTROL)] | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")


class _Route(msgspec.Struct, frozen=True):
    """Just enough of a record to tell which topic it belongs on."""

    type: object = None
    specversion: object = msgspec.UNSET
    class_uid: object = msgspec.UNSET


class Rejection(msgspec.Struct, frozen=True):
    """Why a record was refused: one of the closed set of reasons, and a human detail."""

    reason: RejectReason
    detail: str


# One record is one event, or several for an OCSF record that stands for more than one fact.
Decoded = tuple[Event, ...] | Rejection
Headers = Sequence[tuple[str, bytes]]

_envelope_decoder: Final = msgspec.json.Decoder(_Envelope)
_any_decoder: Final = msgspec.json.Decoder()
_route_decoder: Final = msgspec.json.Decoder(_Route)
_encoder: Final = msgspec.json.Encoder()
_data_decoders: Final = {t: msgspec.json.Decoder(cls) for t, cls in DATA_TYPES.items()}
_BINARY_ATTRIBUTES: Final = ("specversion", "id", "source", "type", "time", "subject")


def refusal(exc: Exception) -> Rejection:
    """The Rejection for a record whose decoding raised: a reason, and a detail a person can act on."""
    if isinstance(exc, UnicodeDecodeError):
        return Rejection("invalid_json", f"not valid UTF-8: {exc.reason} at byte {exc.start}")
    if isinstance(exc, RecursionError):
        return Rejection("invalid_json", "JSON nested too deeply (more than about 1,000 levels)")
    return Rejection("invalid_data", f"undecodable record ({exc.__class__.__name__}: {str(exc)[:300]})")


def binary_to_structured(headers: Headers, value: bytes) -> bytes | None:
    """A binary-mode CloudEvent (attributes in ce_* headers, value = data) as structured JSON, else None."""
    attrs = {k[3:]: v or b"" for k, v in headers if k.startswith("ce_")}
    if "specversion" not in attrs:
        return None
    envelope = {k: attrs[k].decode("utf-8", "replace") for k in _BINARY_ATTRIBUTES if k in attrs}
    head = _encoder.encode(envelope)
    return head[:-1] + b',"data":' + (value.strip() or b"null") + b"}"


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

    def decode(
        self, topic: str, value: bytes | None, headers: Headers = (), *, submitted_by: str | None = None
    ) -> Decoded:
        """Decode one record received on `topic`: structured or binary CloudEvent, or an OCSF record."""
        try:
            decoded = self._decode(topic, value, headers)
        except Exception as exc:  # untrusted input: any failure is a refusal, never a crash
            return refusal(exc)
        if submitted_by is None or isinstance(decoded, Rejection):
            return decoded
        return tuple(msgspec.structs.replace(e, submitted_by=submitted_by) for e in decoded)

    def _decode(self, topic: str, value: bytes | None, headers: Headers) -> Decoded:
        if value is None:
            return Rejection("invalid_json", "empty record (no value)")
        if len(value) > self._max_bytes:
            return Rejection("too_large", f"record is {len(value)} bytes, the limit is {self._max_bytes}")
        if b"\\u0000" in value:
            # PostgreSQL text cannot hold NUL: refuse here rather than fail the whole batch later.
            return Rejection("invalid_data", "NUL characters (\\u0000) are not allowed")
        structured = binary_to_structured(headers, value) if headers else None
        try:
            env = _envelope_decoder.decode(structured or value)
        except msgspec.ValidationError as exc:
            return self._not_an_envelope(topic, value, str(exc))
        except msgspec.DecodeError as exc:
            return Rejection("invalid_json", str(exc))
        checked = self._check(topic, env)
        return checked if isinstance(checked, Rejection) else (checked,)

    def route(self, value: bytes, *, submitted_by: str | None = None) -> tuple[str, Decoded]:
        """Decode a record that arrived without a topic (import, HTTP) on the topic its type belongs to."""
        topic = self._home_topic(value)
        # No recognisable type: any topic will do, the decoder says what is wrong with the record.
        return topic, self.decode(topic, value, submitted_by=submitted_by)

    def _home_topic(self, value: bytes) -> str:
        fallback = topic_name(self._prefix, "assets")
        try:
            probe = _route_decoder.decode(value)  # reads three fields, skips the rest
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # not JSON, or not an object
            return fallback
        type_ = probe.type
        if probe.class_uid is not msgspec.UNSET and probe.specversion is msgspec.UNSET:  # OCSF
            try:
                type_ = to_cloudevents(_any_decoder.decode(value))[0]["type"]
            except Exception:  # unmappable: decoding on any topic says why
                return fallback
        suffix = TYPE_TOPIC_SUFFIX.get(type_) if isinstance(type_, str) else None
        return topic_name(self._prefix, suffix) if suffix else fallback

    def _not_an_envelope(self, topic: str, value: bytes, detail: str) -> Decoded:
        try:
            obj = _any_decoder.decode(value)
        except msgspec.DecodeError as exc:
            return Rejection("invalid_json", str(exc))
        if not is_ocsf(obj):
            return Rejection("invalid_envelope", detail)
        try:
            mapped = to_cloudevents(obj)
        except OcsfError as exc:
            return Rejection("invalid_data", f"OCSF: {exc}")
        except Exception as exc:  # the mapper is pure: any failure on untrusted input is bad input
            return Rejection("invalid_data", f"OCSF: malformed record ({exc.__class__.__name__}: {exc})")
        events: list[Event] = []
        for i, ce in enumerate(mapped):
            try:
                env = _envelope_decoder.decode(_encoder.encode(ce))
            except msgspec.DecodeError as exc:
                return Rejection("invalid_data", f"OCSF: {exc}")
            # The record is accepted on its primary event's topic; the facts derived with it come along.
            got = self._check(topic if i == 0 else self._topic_of(env.type), env)
            if isinstance(got, Rejection):
                return got
            events.append(got)
        return tuple(events)

    def _topic_of(self, type_: str) -> str:
        return topic_name(self._prefix, TYPE_TOPIC_SUFFIX[type_])

    def _check(self, topic: str, env: _Envelope) -> Event | Rejection:
        suffix = TYPE_TOPIC_SUFFIX.get(env.type)
        if suffix is None:
            return Rejection("unknown_type", f"unknown event type {env.type!r}")
        if topic_suffix(self._prefix, topic) != suffix:
            return Rejection("type_not_allowed_on_topic", f"type {env.type!r} is not accepted on {topic!r}")
        if env.time.tzinfo is None:
            return Rejection("invalid_envelope", "`time` must be RFC 3339 with an offset")
        try:
            at = env.time.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 has no UTC equivalent
            at = None
        if at is None or at < EARLIEST_EVENT_TIME or at > self._clock() + MAX_FUTURE:
            return Rejection(
                "time_out_of_range", f"time {env.time.isoformat()} is before 2000 or >24 h ahead"
            )
        try:
            data = _data_decoders[env.type].decode(env.data)
        except msgspec.ValidationError as exc:
            return Rejection("invalid_data", f"{env.type}: {exc}")
        except msgspec.DecodeError as exc:  # not JSON after all, e.g. invalid UTF-8 inside `data`
            return Rejection("invalid_json", f"{env.type}: {exc}")
        return Event(
            source=env.source,
            id=env.id,
            type=env.type,
            topic=topic,
            time=at,
            subject=env.subject,
            data=normalise(data),
        )
