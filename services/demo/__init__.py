"""The demo component: a realistic organisation streaming every event type of the contract."""
