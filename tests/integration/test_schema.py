"""shared/schema.py describes the database the migrations build: Alembic's autogenerate comparison of the
migrated database against the metadata finds no difference."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from trustline.shared.schema import metadata
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration

# What the comparison cannot see, stated here rather than skipped silently:
# - partitions (raw_events_pYYYYMM, raw_events_default, metric_samples_pYYYYMMDD) are tables of their own
#   to Alembic; the metadata describes only their parents, so they are left out of the comparison below;
# - functions and triggers (migrations 0002 and 0006) and check constraints are not compared by Alembic
#   at all; test_roles.py exercises the functions and the append-only trigger.
_PARTITIONS = text(
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(:parents)"
)


def _differences(conn: Connection) -> list[Any]:
    parents = [t.name for t in metadata.tables.values() if t.dialect_options["postgresql"]["partition_by"]]
    partitions = set(conn.execute(_PARTITIONS, {"parents": parents}).scalars())

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        return not (type_ == "table" and reflected and compare_to is None and name in partitions)

    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "compare_server_default": True, "include_object": include}
    )
    return list(compare_metadata(context, metadata))


async def test_the_migrated_database_is_what_the_schema_describes(stack: Settings) -> None:
    engine = create_async_engine(stack.migration_sqlalchemy_url())
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []
