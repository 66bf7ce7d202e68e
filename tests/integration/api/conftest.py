"""A real API server over the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import serve_api
from trustline.shared.settings import Settings


@pytest.fixture
async def api(clean: Settings) -> AsyncIterator[str]:
    """The base URL of a running API."""
    async with serve_api(clean) as url:
        yield url
