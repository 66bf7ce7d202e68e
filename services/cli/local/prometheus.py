"""The optional local Prometheus of `trustline run`: Debian's binary, when installed, with our rules."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from trustline.shared.settings import Settings

RETENTION = "100d"  # the executive overview draws 90-day trends


def rules_dir() -> Path | None:
    """grafana/rules of the source tree (from the working directory or this file's checkout), if present."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (root / "grafana" / "rules" / "recording.yaml").is_file():
            return root / "grafana" / "rules"
    return None


def write_token(settings: Settings, home: Path) -> Path | None:
    """The metrics token in `home/metrics-token`, readable by this user only (none: the file is removed)."""
    path = home / "metrics-token"
    if settings.metrics_token is None:
        path.unlink(missing_ok=True)
        return None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)  # a file left by an earlier run keeps its mode otherwise
        out.write(settings.metrics_token.get_secret_value())
    return path.resolve()  # Prometheus reads relative paths from the config file's folder


def write_config(settings: Settings, *, ingest_port: int, aggregator_port: int) -> Path:
    """Write var/prometheus/prometheus.yml: scrape the API and both pipeline ports, load the rules."""
    home = settings.state_dir / "prometheus"
    home.mkdir(parents=True, exist_ok=True)
    rules = rules_dir()
    token = write_token(settings, home)

    def job(name: str, host: str, port: int) -> dict[str, object]:
        scrape: dict[str, object] = {"job_name": name, "static_configs": [{"targets": [f"{host}:{port}"]}]}
        if token is not None:  # the token never enters the config itself
            scrape["authorization"] = {"type": "Bearer", "credentials_file": str(token)}
        return scrape

    config = {
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        "rule_files": [str(rules / "*.yaml")] if rules is not None else [],
        "scrape_configs": [
            job("trustline-api", settings.api_host, settings.api_port),
            job("trustline-ingest", settings.metrics_host, ingest_port),
            job("trustline-aggregator", settings.metrics_host, aggregator_port),
        ],
    }
    path = home / "prometheus.yml"
    path.write_text(json.dumps(config, indent=2) + "\n")  # JSON is valid YAML
    return path


def command(settings: Settings, config: Path) -> list[str] | None:
    """The command line that runs Prometheus on 127.0.0.1, or None when it is not installed."""
    binary = shutil.which("prometheus")
    if binary is None:
        return None
    return [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={config.parent / 'data'}",
        f"--storage.tsdb.retention.time={RETENTION}",
        f"--web.listen-address=127.0.0.1:{settings.prometheus_port}",
    ]
