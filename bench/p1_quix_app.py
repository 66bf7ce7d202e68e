"""P1 reference (b): what a user would otherwise pick, a Quix Streams application with its
PostgreSQLSink, reading the same topics and writing one row per event (idempotent on source, id).

Started by p1_ingest.py as `python bench/p1_quix_app.py BOOTSTRAP PORT GROUP TOPIC...`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from quixstreams import Application
from quixstreams.sinks.community.postgresql import PostgreSQLSink


def row(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": value["source"],
        "id": value["id"],
        "type": value["type"],
        "time": value["time"],
        "data": json.dumps(value.get("data")),
    }


def main(bootstrap: str, port: int, group: str, topics: list[str]) -> None:
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        loglevel="ERROR",
        use_changelog_topics=False,
    )
    for name in topics:
        sink = PostgreSQLSink(
            host="127.0.0.1",
            port=port,
            dbname="trustline",
            user="trustline",
            password="",
            table_name="quix_events",
            primary_key_columns=["source", "id"],
            on_conflict_do_nothing=True,
            include_metadata=False,
        )
        app.dataframe(app.topic(name, value_deserializer="json")).apply(row).sink(sink)
    app.run()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:])
