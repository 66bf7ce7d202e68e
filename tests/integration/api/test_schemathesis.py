"""Schemathesis fuzzes every operation of the OpenAPI document against the real API: no server error."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import serve_api
from trustline.shared.auth import keys as keys
from trustline.shared.auth.keys import SCOPES
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
EXAMPLES_PER_OPERATION = "30"


async def test_no_operation_answers_a_server_error(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    key = await keys.create_key(
        db, principal="fuzzer", scopes=list(SCOPES), now=datetime.now(UTC), sources=["*"]
    )
    async with serve_api(settings) as url:
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("schemathesis")),
            "run", f"{url}/openapi.json",
            "--checks", "not_a_server_error",
            "--max-examples", EXAMPLES_PER_OPERATION,
            "--seed", "20261128",
            "--header", f"Authorization: Bearer {key}",
            "--generation-database", "none",
            "--report-dir", str(tmp_path),
            "--no-color",
            # One worker: CPython 3.11 before 3.11.8 can fail `ast.parse` when two threads compile at once
            # (gh-106905, "AST constructor recursion depth mismatch"), which schemathesis does per anyOf.
            "--workers", "1",
            cwd=tmp_path,  # schemathesis keeps a cache in its working directory
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 600)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    assert "No issues found" in text or "passed" in text, text[-3000:]
