"""Connection faults only a change of settings cures, told in one line.

A wrong CA, an expired or mismatched certificate, a refused password: retrying them would only fill the
log, and their stack traces bury the one fact an operator needs. `explain` turns such a fault into a
sentence naming the server and the settings to check; `SetupError` carries it to the command, which
prints it and exits.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import asyncpg
from aiokafka.errors import (
    IllegalSaslStateError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

# TLS faults of a connection that went away mid-handshake: they may pass, unlike a refused certificate.
_PASSING_TLS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)
_SASL = (SaslAuthenticationFailed, UnsupportedSaslMechanismError, IllegalSaslStateError)


class SetupError(Exception):
    """A connection that cannot work until its settings change; the message is one line for the operator."""


@dataclass(frozen=True, slots=True)
class Hint:
    """The settings to check for each kind of fault."""

    ca: str
    cert: str
    password: str


def reason(exc: BaseException) -> str:
    """The shortest faithful account of a TLS or OS fault."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return str(exc.verify_message)
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}{f': {exc.filename}' if exc.filename else ''}"
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


def permanent(exc: BaseException) -> bool:
    """True for a fault that settings cause and only settings cure (never worth a retry)."""
    for fault in _chain(exc):
        if isinstance(fault, (SetupError, ssl.SSLCertVerificationError, *_SASL)):
            return True
        if isinstance(fault, ssl.SSLError) and not isinstance(fault, _PASSING_TLS):
            return True
        if isinstance(fault, asyncpg.InvalidAuthorizationSpecificationError):
            return True
    return False


def explain(exc: BaseException, *, what: str, where: str, hint: Hint) -> str | None:
    """One line for a permanent fault reaching `what` at `where` (None for any other fault)."""
    for fault in _chain(exc):
        if (told := _tell(fault, hint)) is not None:
            return f"{what} at {where}: {told}"
    return None


def _tell(fault: BaseException, hint: Hint) -> str | None:
    if isinstance(fault, ssl.SSLCertVerificationError):
        return f"the server's TLS certificate was refused: {reason(fault)} (check {hint.ca})"
    if isinstance(fault, ssl.SSLError) and not isinstance(fault, _PASSING_TLS):
        return f"TLS handshake failed: {reason(fault)} (check {hint.ca} and {hint.cert})"
    if isinstance(fault, _SASL):
        return f"SASL authentication failed: {_first_line(fault)} (check {hint.password})"
    if isinstance(fault, asyncpg.InvalidPasswordError):
        return f"the password was refused: {_first_line(fault)} (check {hint.password})"
    if isinstance(fault, asyncpg.InvalidAuthorizationSpecificationError):
        return f"connection refused: {_first_line(fault)}"
    if isinstance(fault, ConnectionError) and "SSL upgrade" in str(fault):
        return f"the server does not accept TLS connections (check {hint.ca})"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
