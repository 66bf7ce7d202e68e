"""What a metric means: the metric SQL, sample types, the family catalog, snapshot computation, and
the snapshot store with its reader. The aggregator, the API and the CLI all read metrics through here."""
