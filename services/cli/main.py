"""`trustline` subcommands."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape

from trustline.shared.faults import SetupError
from trustline.shared.logs import configure_logging
from trustline.shared.policy import load_policy
from trustline.shared.settings import get_settings, redact

from .keys import keys_app
from .local import runstate
from .local.devstack import DevStack
from .local.processes import DevStackError
from .offsets import offsets_app
from .preflight import preflight
from .report import report_app
from .risk import risk_app
from .signals import run_until_signalled

if TYPE_CHECKING:
    from trustline.ingest.importer import ImportSummary, Kind

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Trustline: one risk language for security and IT.",
    pretty_exceptions_show_locals=False,  # locals hold database URLs with their passwords
)
dev_app = typer.Typer(
    no_args_is_help=True, help="The local stack: embedded PostgreSQL and Kafka-protocol broker."
)
topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics of the event contract.")
app.add_typer(dev_app, name="dev")
app.add_typer(topics_app, name="topics")
app.add_typer(risk_app, name="risk")
app.add_typer(keys_app, name="keys")
app.add_typer(offsets_app, name="offsets")
app.add_typer(report_app, name="report")
import_app = typer.Typer(
    no_args_is_help=True, help="Publish a file of events to their topics, validated first."
)
app.add_typer(import_app, name="import")
console = Console(stderr=True)
LogLevel = Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR")]


def _fail(message: str) -> typer.Exit:
    # One line however narrow the terminal, and the message as written: `trustline[local]` is not markup.
    console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(1)


def _say(text: str) -> None:
    console.print(text, highlight=False)


@dev_app.command("up")
def dev_up() -> None:
    """Start the embedded PostgreSQL and broker (those not configured elsewhere); idempotent."""
    try:
        DevStack(get_settings()).up()
    except DevStackError as exc:
        raise _fail(str(exc)) from exc
    dev_status()


@dev_app.command("down")
def dev_down() -> None:
    """Stop a running `trustline run` (it stops its components first), then the embedded services."""
    settings = get_settings()
    try:
        runstate.stop(settings.state_dir, _say)
        DevStack(settings).down()
    except DevStackError as exc:
        raise _fail(str(exc)) from exc
    dev_status()


@dev_app.command("destroy")
def dev_destroy(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    orphans: Annotated[
        bool,
        typer.Option(
            "--orphans", help="Instead: delete only data directories whose state dir is gone (root)"
        ),
    ] = False,
) -> None:
    """Stop everything of this state dir and delete its embedded database's data (or, with --orphans,
    only the data directories other clones left behind)."""
    question = "Delete orphaned data directories?" if orphans else "Delete all data of the local PostgreSQL?"
    if not yes:
        typer.confirm(question, abort=True)
    settings = get_settings()
    stack = DevStack(settings)
    try:
        if orphans:
            for orphan in stack.destroy_orphans():
                console.print(f"deleted orphaned {orphan.path} (its state dir {orphan.state_dir} is gone)")
            return
        runstate.stop(settings.state_dir, _say)
        stack.destroy()
        console.print(f"local stack stopped and its data deleted ({stack.data_root()})")
    except DevStackError as exc:
        raise _fail(str(exc)) from exc


@dev_app.command("status")
def dev_status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout")] = False,
) -> None:
    """Show the embedded services, a running `trustline run`, and orphaned data directories."""
    from .local import status

    report = status.collect(get_settings())
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        status.render(console, report)


@app.command()
def migrate(
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing: exit 0 when the schema is at head, else 1")
    ] = False,
    wait: Annotated[
        float, typer.Option(help="With --check: keep checking for this many seconds until it is at head")
    ] = 0.0,
) -> None:
    """Bring the schema up to date as its owner, then grant the services' role only what it uses."""
    from trustline.shared.grants import GrantError
    from trustline.shared.migrations import upgrade

    from .schema_check import wait_for_head

    configure_logging("WARNING")
    settings = get_settings()
    if check:
        ok, line = wait_for_head(settings, seconds=wait, say=_say)
        if not ok:
            raise _fail(line)
        _say(line)
        return
    try:
        console.print(f"migrating {settings.redacted_database_url(migration=True)}", highlight=False)
        report = upgrade(settings)
    except (GrantError, ValueError) as exc:
        raise _fail(redact(str(exc))) from None
    console.print("schema is up to date")
    if report is not None:
        console.print(report.summary(), highlight=False)


@topics_app.command("create")
def topics_create(
    partitions: Annotated[
        int | None, typer.Option(help="Partitions per topic (default from settings)")
    ] = None,
) -> None:
    """Create the six event topics and their dead-letter topics."""
    from trustline.ingest.topics import ensure_topics

    settings = get_settings()
    preflight(settings, database=False)
    outcome = asyncio.run(ensure_topics(settings, partitions=partitions))
    for name, what in sorted(outcome.items()):
        console.print(f"{what:8} {name}")


@app.command()
def ingest(log_level: LogLevel = "INFO") -> None:
    """Run one ingest worker (a consumer-group member) until SIGTERM."""
    from trustline.ingest.worker import run_worker

    configure_logging(log_level)
    settings = get_settings()
    preflight(settings)
    run_until_signalled(lambda stop: run_worker(settings, stop))


def _instant(text: str) -> datetime:
    """An RFC 3339 instant; a missing offset means UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not an RFC 3339 instant, e.g. 2026-11-03T09:00:00Z") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command()
def aggregate(
    once: Annotated[bool, typer.Option("--once", help="Compute one snapshot and exit")] = False,
    at: Annotated[
        str | None, typer.Option(help="Snapshot instant, RFC 3339 (with --once); default now")
    ] = None,
    log_level: LogLevel = "INFO",
) -> None:
    """Write metric snapshots to the history: every interval as the leader, or once."""
    from trustline.aggregator.loop import Aggregator, snapshot_at

    configure_logging(log_level)
    settings = get_settings()
    policy = load_policy(settings.policy_file)
    if once:
        instant = _instant(at) if at else datetime.now(UTC)
        n, seconds = asyncio.run(snapshot_at(settings, policy, instant))
        console.print(f"snapshot at {instant.isoformat()}: {n} samples in {seconds:.3f}s")
        return
    preflight(settings, broker=False)
    run_until_signalled(Aggregator(settings, policy).run)


@app.command()
def backfill(
    from_: Annotated[str, typer.Option("--from", help="First instant, RFC 3339")],
    to: Annotated[str, typer.Option(help="Last instant, RFC 3339")],
    step: Annotated[str, typer.Option(help="Distance between snapshots, e.g. 1h, 1d")] = "1d",
) -> None:
    """Fill the metric history with snapshots computed from stored events (rewrites existing ones)."""
    from trustline.aggregator.backfill import backfill as run_backfill
    from trustline.shared.policy import parse_duration

    settings = get_settings()
    interval = parse_duration(step)
    if not isinstance(interval, timedelta):
        raise typer.BadParameter(f"{step!r} is not a duration such as 1h or 1d")
    n = asyncio.run(
        run_backfill(
            settings,
            load_policy(settings.policy_file),
            start=_instant(from_),
            end=_instant(to),
            step=interval,
            console=Console(),
        )
    )
    console.print(f"{n} snapshots written")


def _import(path: Path, kind: Kind) -> None:
    from trustline.ingest.importer import import_file

    try:
        summary = asyncio.run(import_file(get_settings(), path, kind, Console()))
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    _report(summary)


@import_app.command("events")
def import_events(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Publish CloudEvents from a JSON array or JSON-lines file (exit 2 when some were refused)."""
    _import(path, "events")


@import_app.command("ocsf")
def import_ocsf(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Publish OCSF records, e.g. a Prowler *.ocsf.json report (exit 2 when some were refused)."""
    _import(path, "ocsf")


def _read(path: str) -> bytes:
    """The file's bytes, or standard input's for `-` (a CI step pipes the scanner's output in)."""
    import sys

    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc.strerror or exc}") from exc


def _identifier(value: str | None, what: str) -> str | None:
    """A source or scope as the contract allows them: 1 to 512 characters, no control character."""
    if value is not None and (
        not value or len(value) > 512 or any(ord(c) < 32 or ord(c) == 127 for c in value)
    ):
        raise typer.BadParameter(f"{what} must be 1 to 512 characters without control characters")
    return value


FileArg = Annotated[str, typer.Argument(help="The tool's JSON output, or - for standard input")]
FullScan = Annotated[
    str | None,
    typer.Option(
        "--full-scan",
        metavar="SCOPE",
        help="This file is a complete scan of SCOPE (e.g. image:api): close what it no longer reports",
    ),
]
At = Annotated[
    str | None, typer.Option("--at", help="The scan's instant, RFC 3339 (default: the tool's own)")
]
Source = Annotated[str | None, typer.Option("--source", help="Event source (default: the tool's name)")]
Asset = Annotated[
    str | None,
    typer.Option("--asset", help="Put every finding on this asset (default: the scanned artifact's name)"),
]
AdminGroup = Annotated[
    list[str] | None,
    typer.Option(
        "--admin-group",
        help="A group or role that makes a user privileged (repeatable; default: "
        "TRUSTLINE_CONNECTOR_ADMIN_GROUPS)",
    ),
]


def _import_tool(
    tool: str,
    path: str,
    scope: str | None,
    at: str | None,
    source: str | None,
    admins: list[str] | None,
    asset: str | None = None,
) -> None:
    from trustline.ingest.importer import import_tool
    from trustline.shared.connectors import Options

    opts = Options(
        source=_identifier(source, "--source") or tool,
        at=_instant(at) if at else None,
        scope=_identifier(scope, "--full-scan"),
        asset=_identifier(asset, "--asset"),
        admin_names=frozenset(admins or get_settings().connector_admin_groups),
    )
    raw = _read(path)
    try:
        summary = asyncio.run(import_tool(get_settings(), tool, raw, opts, Console()))
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    for why, n in sorted(summary.ignored.items()):
        console.print(f"ignored  {n:>8}  {why}", highlight=False)
    for note in summary.notes:
        console.print(note, highlight=False)
    _report(summary)


def _report(summary: ImportSummary) -> None:
    for topic, n in sorted(summary.accepted.items()):
        console.print(f"accepted {n:>8}  {topic}")
    for reason, n in sorted(summary.rejected.items()):
        console.print(f"rejected {n:>8}  {reason}")
    for example in summary.examples:
        console.print(f"  {example}", highlight=False)
    if summary.rejected:
        raise typer.Exit(2)


def _scanner_command(tool: str, help_text: str) -> None:
    def command(
        path: FileArg, full_scan: FullScan = None, at: At = None, source: Source = None, asset: Asset = None
    ) -> None:
        _import_tool(tool, path, full_scan, at, source, None, asset)

    command.__doc__ = help_text
    import_app.command(tool)(command)


def _directory_command(tool: str, help_text: str) -> None:
    def command(
        path: FileArg,
        full_scan: FullScan = None,
        at: At = None,
        source: Source = None,
        admin_group: AdminGroup = None,
    ) -> None:
        _import_tool(tool, path, full_scan, at, source, admin_group)

    command.__doc__ = help_text
    import_app.command(tool)(command)


_scanner_command(
    "trivy", "Publish a Trivy JSON report (trivy image|fs|k8s -f json); exit 2 when some are refused."
)
_scanner_command("grype", "Publish a Grype JSON report (grype ... -o json); exit 2 when some are refused.")
_directory_command("okta", "Publish Okta users with their factors (a JSON array of /api/v1/users objects).")
_directory_command("entra", "Publish Entra ID userRegistrationDetails (the Graph response or its users).")


@import_app.command("pagerduty")
def import_pagerduty(path: FileArg, source: Source = None) -> None:
    """Publish stored PagerDuty v3 webhook bodies (JSON array or lines; the live route checks signatures)."""
    _import_tool("pagerduty", path, None, None, source, None)


@import_app.command("kev")
def import_kev(path: FileArg, at: At = None) -> None:
    """Store the CISA KEV catalog as of --at (default now); nothing before that instant changes."""
    from trustline.ingest.importer import import_kev as store

    instant = _instant(at) if at else datetime.now(UTC)
    raw = _read(path)
    try:
        got = asyncio.run(store(get_settings(), raw, at=instant))
    except (OSError, ValueError) as exc:
        raise _fail(redact(str(exc))) from exc
    console.print(
        f"KEV catalog {got.version or '(no version)'} as of {instant.isoformat()}: {got.added} added, "
        f"{got.updated} updated, {got.unchanged} unchanged",
        highlight=False,
    )
    _report(got.refused)


@app.command()
def api(log_level: LogLevel = "INFO") -> None:
    """Serve the API and /metrics."""
    import uvicorn

    from trustline.api import server
    from trustline.api.app import create_app

    configure_logging(log_level)
    settings = get_settings()
    preflight(settings)
    # The app logs one access line per request itself (with the request id and principal).
    uvicorn.Server(
        server.config(create_app(settings), settings, log_level=log_level.lower(), access_log=False)
    ).run()


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Same seed, same organisation and events")] = 7,
    rate: Annotated[float, typer.Option(help="Live events per second after the history")] = 50.0,
    history_days: Annotated[int, typer.Option(help="Days of past events to send first (0 for none)")] = 90,
    assets: Annotated[int, typer.Option(help="Assets in the organisation")] = 3000,
    identities: Annotated[int, typer.Option(help="Identities in the organisation")] = 2000,
    duration: Annotated[
        float | None, typer.Option(help="Stop the live stream after this many seconds")
    ] = None,
) -> None:
    """Stream a realistic organisation's events into the topics, with live progress.

    Its past is sent once per database: a later run continues with the live stream. Once ingest has
    stored the past, the daily metric history is backfilled from it (once).
    """
    from trustline.demo.run import DemoOptions, run_demo

    from .demo_backfill import daily_backfill

    configure_logging("WARNING")
    options = DemoOptions(
        seed=seed,
        rate=rate,
        history_days=history_days,
        assets=assets,
        identities=identities,
        duration=duration,
    )
    settings, out = get_settings(), Console(soft_wrap=True)
    run_until_signalled(lambda stop: run_demo(settings, options, stop, out, daily_backfill(settings)))


@app.command()
def run(
    with_demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Stream the demo organisation")] = True,
) -> None:
    """Start the whole system (stack, schema, topics, ingest, aggregator, API, demo) until Ctrl-C."""
    from .local.supervisor import Supervisor

    raise typer.Exit(Supervisor(get_settings(), console=Console(soft_wrap=True), demo=with_demo).run())


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except (ValidationError, SettingsError) as exc:  # settings: never with the input (hide_input_in_errors)
        console.print(f"[red]invalid settings:[/] {redact(str(exc))}", highlight=False)
        raise SystemExit(2) from None
    except SetupError as exc:  # a certificate, a CA or a password to fix: one line, no stack trace
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
