"""A realistic demo organisation streaming every event type of the contract."""
