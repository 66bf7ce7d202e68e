"""The ingest component: the Kafka consumer group that stores every event once and folds it into state."""
