"""The risk-acceptance registry: its model, the service (proposals, four-eyes decisions, expiry, the
append-only audit trail), its errors and what a proposal would cover."""
