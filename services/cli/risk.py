"""`trustline risk`: the risk-acceptance registry from a terminal, through the HTTP API.

Every command is an API client acting with a key (TRUSTLINE_API_KEY or `--key-file`), so a change is
attributed to the key's principal, never to a name typed on the command line, and four eyes holds. There
is no database path: the same rules apply in dev and in prod.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console

from trustline.shared.auth.principals import ascii_name
from trustline.shared.settings import get_settings

from .api_client import Api, ApiError, check_url, default_url, path, read_key
from .inputs import parse_expiry
from .output import escape, literal, print_json, print_table, when

risk_app = typer.Typer(
    no_args_is_help=True, help="The risk-acceptance registry over the API: propose, decide, list, show."
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
ApiUrl = Annotated[
    str | None,
    typer.Option("--api-url", help="The API (default TRUSTLINE_API_URL, else TRUSTLINE_API_HOST:PORT)"),
]
KeyFile = Annotated[
    Path | None,
    typer.Option("--key-file", help="A file holding the API key (default: TRUSTLINE_API_KEY)"),
]
Reason = Annotated[str | None, typer.Option(help="Why (recorded in the audit trail)")]
AsJson = Annotated[bool, typer.Option("--json", help="The API's JSON answer instead of a table")]
ROOT = "/api/v1/risk-acceptances"


def _call(api_url: str | None, key_file: Path | None, *, write: bool, **request: Any) -> Any:
    """One API call with the resolved address and key; a refusal exits 1 with the API's reason."""
    settings = get_settings()
    try:
        url = api_url or default_url(settings)
        key = read_key(key_file, settings)
        check_url(url, settings, with_key=key is not None)
        if key is None and write:
            raise ApiError("changes need an API key: set TRUSTLINE_API_KEY or pass --key-file")
        return Api(url, key).call(**request)
    except ApiError as exc:
        err.print(f"[red]refused:[/] {literal(str(exc))}")
        raise typer.Exit(1) from exc


def _scope(a: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in a["scope"].items() if v is not None)


def _summary(a: dict[str, Any]) -> str:
    expires = when(a["expires_at"])
    return escape(f"{a['id']}  {a['status']}  {a['severity']}  {_scope(a)}  expires {expires}  {a['title']}")


@risk_app.command()
def propose(
    title: Annotated[str, typer.Option()],
    justification: Annotated[str, typer.Option()],
    severity: Annotated[str, typer.Option(help="critical, high, medium or low")],
    owner: Annotated[str, typer.Option(help="The business owner who carries the risk")],
    expires: Annotated[
        str, typer.Option(help="Expiry: RFC 3339 (no offset means UTC) or a duration, e.g. 30d")
    ],
    vulnerability: Annotated[str | None, typer.Option(help="Scope: a vulnerability id")] = None,
    asset: Annotated[str | None, typer.Option(help="Scope: limit to one asset")] = None,
    control: Annotated[str | None, typer.Option(help="Scope: a cloud control id")] = None,
    resource: Annotated[str | None, typer.Option(help="Scope: limit to one resource")] = None,
    business_unit: Annotated[str | None, typer.Option(help="Scope: limit to one business unit")] = None,
    controls: Annotated[str, typer.Option(help="Compensating controls")] = "",
    api_url: ApiUrl = None,
    key_file: KeyFile = None,
) -> None:
    """Propose a risk acceptance as the key's principal; someone else must approve it."""
    scope = {"vulnerability_id": vulnerability, "asset_id": asset, "control_id": control,
             "resource_id": resource, "business_unit": business_unit}  # fmt: skip
    body = {
        "title": title,
        "justification": justification,
        "compensating_controls": controls,
        "severity": severity,
        "business_owner": owner,
        "expires_at": parse_expiry(expires, now=datetime.now(UTC)),
        "scope": {k: v for k, v in scope.items() if v is not None},
    }
    made = _call(api_url, key_file, write=True, method="POST", path=ROOT, body=body)
    print(_summary(made))
    found = made["coverage"]
    print(f"covers now: {found['covered']} {found['findings']} rated {made['severity']} or lower; "
          f"{found['exceeding']} in scope rated higher")  # fmt: skip
    for warning in made["warnings"]:
        err.print(f"[yellow]warning:[/] {literal(warning)}")


def _decision(action: str, verb: str) -> None:
    @risk_app.command(name=action, help=f"{verb} an acceptance, as the key's principal.")
    def command(
        acceptance_id: UUID, reason: Reason = None, api_url: ApiUrl = None, key_file: KeyFile = None
    ) -> None:
        body = {"reason": reason} if reason is not None else None
        done = _call(api_url, key_file, write=True, method="POST",
                     path=ROOT + path(str(acceptance_id), action), body=body)  # fmt: skip
        print(_summary(done))


_decision("approve", "Approve (never the requester's own)")
_decision("reject", "Reject")
_decision("revoke", "Revoke (its findings count again at once)")

_COLUMNS = ("id", "status", "severity", "scope", "expires_at", "requested_by", "approved_by", "title")


def _row(a: dict[str, Any]) -> list[str]:
    names = [ascii_name(a[k]) if a[k] else "-" for k in ("requested_by", "approved_by")]
    return [a["id"], a["status"], a["severity"], _scope(a), when(a["expires_at"]), *names, a["title"]]


@risk_app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="proposed, approved, rejected, expired, revoked")] = None,
    severity: Annotated[str | None, typer.Option(help="critical, high, medium or low")] = None,
    business_unit: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: AsJson = False,
    api_url: ApiUrl = None,
    key_file: KeyFile = None,
) -> None:
    """List acceptances, newest first (a key with the `read` scope, unless reads are open)."""
    params = {"status": status, "severity": severity, "business_unit": business_unit,
              "limit": limit, "offset": offset}  # fmt: skip
    found = _call(api_url, key_file, write=False, method="GET", path=ROOT, params=params)
    if as_json:
        print_json(found)
    else:
        print_table(_COLUMNS, [_row(a) for a in found])


@risk_app.command()
def show(
    acceptance_id: UUID, as_json: AsJson = False, api_url: ApiUrl = None, key_file: KeyFile = None
) -> None:
    """One acceptance and its audit trail, oldest change first."""
    found = _call(api_url, key_file, write=False, method="GET", path=ROOT + path(str(acceptance_id)))
    if as_json:
        print_json(found)
        return
    a = found["acceptance"]
    print_table(
        ("field", "value"), [("scope", _scope(a)), *(_field(k, v) for k, v in a.items() if k != "scope")]
    )
    print()
    trail = [(when(e["at"]), e["action"], ascii_name(e["actor"]), e["status"], _detail(e["detail"]))
             for e in found["audit"]]  # fmt: skip
    print_table(("at", "action", "actor", "status", "detail"), trail)


_NAMES = frozenset({"requested_by", "approved_by", "rejected_by", "revoked_by"})


def _field(name: str, value: Any) -> tuple[str, str]:
    if value is None or value == "":
        return name, "-"
    if name in _NAMES:
        return name, ascii_name(value)
    return name, when(value) if name.endswith("_at") else str(value)


def _detail(detail: dict[str, Any]) -> str:
    plain = (f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in detail.items())
    return "; ".join(plain) if detail else "-"
