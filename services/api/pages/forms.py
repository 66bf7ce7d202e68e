"""Reading what a form or a query string sends: empty fields are absent, every value is validated by the
same models the API uses, and refusals come back as sentences a person can act on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trustline.shared.risk.models import AcceptanceCreate, Status
from trustline.shared.severity import SlaSeverity
from trustline.shared.types import BusinessUnit

from .session import PageError, check_csrf

Model = TypeVar("Model", bound=BaseModel)
SCOPE_FIELDS = ("vulnerability_id", "asset_id", "business_unit", "control_id", "resource_id")
MAX_FIELD = 8000  # longer than any field the registry takes: longer values are refused by the model anyway


def present(values: Mapping[str, Any]) -> dict[str, str]:
    """The non-empty text fields of a form or query (a file upload, or a repeated field, is not text)."""
    return {k: v for k, v in values.items() if isinstance(v, str) and v.strip() != ""}


def reasons(exc: ValidationError) -> list[str]:
    """One line per refused field: `scope.vulnerability_id: ...`."""
    out = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"])
        out.append(f"{where}: {e['msg']}" if where else str(e["msg"]))
    return out


def parse(model: type[Model], values: Mapping[str, Any]) -> Model:
    """`values` validated by `model`; a refusal is a 422 page naming each field."""
    try:
        return model.model_validate(present(values))
    except ValidationError as exc:
        raise PageError(422, "; ".join(reasons(exc))) from exc


async def posted(request: Request) -> dict[str, str]:
    """A form's text fields, after checking its CSRF token."""
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    return {k: v[:MAX_FIELD] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


class RegisterFilters(BaseModel):
    """The register's filters, as the list API takes them, plus the pages' two views."""

    model_config = ConfigDict(extra="ignore")
    status: Status | None = None
    severity: SlaSeverity | None = None
    business_unit: BusinessUnit | None = None
    expiring: Literal["7", "30", "90"] | None = None  # approved, ending within this many days
    view: Literal["all", "waiting"] = "all"  # `waiting`: proposals waiting for my approval
    offset: int = Field(default=0, ge=0, le=1_000_000)

    def expires(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """The expiry range the `expiring` filter asks for."""
        if self.expiring is None:
            return (None, None)
        return (now, now + timedelta(days=int(self.expiring)))

    def query(self, **changes: Any) -> str:
        """This filter as a query string, with `changes` (for the pager's links)."""
        values = {**self.model_dump(exclude_defaults=True), **changes}
        return urlencode({k: v for k, v in values.items() if v is not None and v != ""})


def proposal(values: Mapping[str, str]) -> AcceptanceCreate:
    """A proposal from the form's flat fields, validated exactly as `POST /api/v1/risk-acceptances`."""
    data: dict[str, Any] = {k: v for k, v in present(values).items() if k not in SCOPE_FIELDS}
    data["scope"] = {k: v for k, v in present(values).items() if k in SCOPE_FIELDS}
    try:
        return AcceptanceCreate.model_validate(data)
    except ValidationError as exc:
        raise ProposalRefused(reasons(exc)) from exc


class ProposalRefused(ValueError):
    """A proposal the model or the registry refuses, with every reason."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def utc_now() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)
