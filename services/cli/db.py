"""One database connection for a CLI command's single piece of work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from trustline.shared.db import connect
from trustline.shared.settings import get_settings

T = TypeVar("T")


def with_connection(action: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run `action` on a fresh connection to the configured database, closing it afterwards."""

    async def main() -> T:
        conn = await connect(get_settings())
        try:
            return await action(conn)
        finally:
            await conn.close()

    return asyncio.run(main())
