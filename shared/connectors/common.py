"""What every connector shares: its options, what a mapping yields, and the helpers that keep it pure.

A connector is a pure function from one tool's own output (already parsed JSON) to contract CloudEvents.
It never raises on bad input: whatever it cannot map becomes a Refusal with one of the decoder's reasons,
so an import reports connector refusals and decoder refusals in one summary. The events it yields are
then checked by the same decoder as any other record.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

import msgspec

from trustline.shared.events import RejectReason
from trustline.shared.events.schemas import KEY_SEP

CloudEvent = dict[str, Any]
Domain = Literal["vulnerability", "identity", "incident"]
# Connector ids are `<tool>:<hash>`: short, deterministic, and never longer than the contract allows.
_ID_HASH_CHARS: Final = 40


class ConnectorError(ValueError):
    """The document is not this tool's format at all (nothing of it can be mapped); the message says why."""


@dataclass(frozen=True, slots=True)
class Options:
    """How to map one document.

    `at` overrides the instant the tool wrote into its output (a scan's time); `scope` names the complete
    scan this document is (None: a partial import); `asset` puts a scanner's findings on that asset instead
    of the scanned artifact's name (e.g. an image repository without its tag, so a finding that survives a
    new tag keeps its clock); `admin_names` are the groups or roles that make an identity privileged.
    """

    source: str
    at: datetime | None = None
    scope: str | None = None
    asset: str | None = None
    admin_names: frozenset[str] = frozenset()
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Refusal:
    """One record the connector could not map: where it is in the document, a reason, a detail."""

    record: str
    reason: RejectReason
    detail: str


@dataclass
class Mapped:
    """A document mapped: its events, what was refused and why, and what it reported for reconciliation.

    `reported` holds the entity keys the document names (refused records included when they can be
    identified): a full scan closes only what is open in its scope and absent from it. `complete` is
    False when some record could not even be identified: then a full scan closes nothing.
    """

    domain: Domain
    at: datetime | None = None
    events: list[CloudEvent] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    reported: set[str] = field(default_factory=set)
    reported_factors: set[tuple[str, str]] = field(default_factory=set)
    complete: bool = True

    def refuse(self, record: str, reason: RejectReason, detail: str, *, identified: bool = True) -> None:
        """Record a refusal; an unidentified record makes the document unusable for reconciliation."""
        self.refused.append(Refusal(record, reason, detail[:500]))
        self.complete = self.complete and identified

    def refuse_document(self, detail: str) -> None:
        """The whole document is not what the connector reads: nothing in it is identified."""
        self.refuse("document", "invalid_envelope", detail, identified=False)


Mapper = Callable[[Any, Options], Mapped]


def whole_document(domain: Domain, fill: Callable[[Mapped], None]) -> Mapped:
    """`fill` a fresh mapping; a ConnectorError it raises refuses the whole document with its reason."""
    mapped = Mapped(domain)
    try:
        fill(mapped)
    except ConnectorError as exc:
        mapped.refuse_document(str(exc))
    return mapped


def get(obj: Any, *path: str | int) -> Any:
    """obj[path[0]][path[1]]... or None when any step is missing or of another shape."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(obj, list) or not -len(obj) <= key < len(obj):
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[key] if isinstance(key, int) else obj.get(key)
    return obj


def text(value: Any) -> str | None:
    """A non-blank string stripped, else None (numbers, lists and blanks are not identifiers)."""
    return value.strip() or None if isinstance(value, str) else None


def records(value: Any) -> list[Any]:
    """A list, or nothing: a field the tool documents as an array, read defensively."""
    return value if isinstance(value, list) else []


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 / ISO 8601 time as an aware UTC datetime (no offset: UTC); None when unusable.

    Go tools (Trivy, Grype) write nanoseconds, which Python's parser refuses: the fraction is cut to
    microseconds first.
    """
    if not isinstance(value, str) or not 10 <= len(value) <= 64:
        return None
    raw = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in raw:
        head, _, rest = raw.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        raw = head + ("." + rest[: min(digits, 6)] if digits else "") + rest[digits:]
    try:
        parsed = datetime.fromisoformat(raw)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def scan_instant(mapped: Mapped, opts: Options, written: Any, *, field_name: str) -> datetime:
    """The scan's instant: --at, else the time the tool wrote (when usable), else now; stored on `mapped`."""
    at = opts.at or parse_time(written) or opts.now
    if opts.at is None and written is not None and parse_time(written) is None:
        mapped.ignored[f"unusable {field_name}: import time used"] += 1
    mapped.at = at
    return at


def event_id(tool: str, *parts: str) -> str:
    """A deterministic event id: the same fact from the same document always gets the same id."""
    digest = hashlib.sha256(KEY_SEP.join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{tool}:{digest[:_ID_HASH_CHARS]}"


def cloudevent(
    type_: str, *, source: str, id_: str, at: datetime, data: Mapping[str, Any], subject: str | None
) -> CloudEvent:
    """A structured-mode CloudEvent as the decoder reads it (the subject carries a full scan's scope)."""
    ce: CloudEvent = {
        "specversion": "1.0",
        "id": id_,
        "source": source,
        "type": type_,
        "time": at.isoformat(),
        "data": {k: v for k, v in data.items() if v is not None},
    }
    if subject is not None:
        ce["subject"] = subject
    return ce


def vuln_key(asset_id: str, vulnerability_id: str) -> str:
    """The stored key of a vulnerability instance (as `entity` in the event contract builds it)."""
    return asset_id + KEY_SEP + vulnerability_id


SEVERITY_RANK: Final = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def worst(severities: Iterable[str]) -> str:
    """The most severe of the given severities."""
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, -1))


def encode(event: CloudEvent) -> bytes | Refusal:
    """The event as JSON bytes for the decoder and the broker; a refusal when it cannot be encoded (a lone
    surrogate from a document parsed by something more lenient than msgspec)."""
    try:
        return msgspec.json.encode(event)
    except (UnicodeEncodeError, TypeError, OverflowError) as exc:
        return Refusal(str(event.get("id", "event"))[:80], "invalid_data", f"not encodable as JSON: {exc}")
