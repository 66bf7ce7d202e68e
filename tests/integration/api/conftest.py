"""A real API server (uvicorn on a free port) over the test database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn

from tests.conftest import eventually, free_port
from trustline.api.app import create_app
from trustline.shared.settings import Settings


@pytest.fixture
async def api(clean: Settings) -> AsyncIterator[str]:
    """The base URL of a running API."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(clean), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, server.started))
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, 30)
