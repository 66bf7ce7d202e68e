"""Code every Trustline component shares: settings, policy, the event contract, storage."""
