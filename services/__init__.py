"""Trustline: security events in, business-aligned risk metrics out."""

__version__ = "0.1.0"
