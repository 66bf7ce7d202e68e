"""What the identity-provider connectors share: one user's observation and factors, as events at S."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

from .common import Mapped, Options, cloudevent, event_id
from .scanners import usable_id

_MAX_UNIT: Final = 128


def unit(value: str | None) -> str | None:
    """A business unit the contract accepts (a slug of at most 128 characters), else None (`unassigned`)."""
    return value if value is not None and len(value) <= _MAX_UNIT and usable_id(value) else None


def privileged(admin_names: frozenset[str], names: Iterable[str | None]) -> bool:
    """Whether any of the user's groups or roles is one the options name as administrative."""
    wanted = {n.casefold() for n in admin_names}
    return any(n is not None and n.casefold() in wanted for n in names)


class User:
    """The events of one user of an export, all at the export's instant."""

    def __init__(self, tool: str, mapped: Mapped, opts: Options, at: datetime, user_id: str) -> None:
        self.tool, self.mapped, self.opts, self.at, self.user_id = tool, mapped, opts, at, user_id
        mapped.reported.add(user_id)

    def _emit(self, type_: str, data: Mapping[str, object], *parts: str) -> None:
        id_ = event_id(self.tool, type_, self.user_id, *parts, self.at.isoformat())
        self.mapped.events.append(
            cloudevent(
                type_, source=self.opts.source, id_=id_, at=self.at, data=data, subject=self.opts.scope
            )
        )

    def observed(self, *, is_privileged: bool, business_unit: str | None) -> None:
        """identity.observed: active, with its population and unit."""
        data = {"user_id": self.user_id, "privileged": is_privileged, "business_unit": unit(business_unit)}
        self._emit("identity.observed", data)

    def deactivated(self) -> None:
        """identity.deactivated: the provider no longer lets this user sign in."""
        self._emit("identity.deactivated", {"user_id": self.user_id})

    def factor(self, factor_type: str, factor_id: str) -> None:
        """mfa.enrolled for one active factor (reported, so a full scan keeps it)."""
        self.mapped.reported_factors.add((self.user_id, factor_id))
        data = {"user_id": self.user_id, "factor_type": factor_type, "factor_id": factor_id}
        self._emit("mfa.enrolled", data, factor_id)
