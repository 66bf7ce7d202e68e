"""The aggregator component: the leader loop that stores a snapshot of every metric each interval,
prunes the history, and backfills past instants. What a metric means lives in `trustline.shared.metrics`."""
