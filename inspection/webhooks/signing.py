"""The delivery signature: `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the API
key's webhook secret. Signing the timestamp with the body lets a receiver refuse replays."""

from __future__ import annotations

import hashlib
import hmac

SCHEME = "sha256"
# Receivers should refuse deliveries whose timestamp is older than this.
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return f"{SCHEME}={hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()}"


def verify(secret: str, timestamp: int, body: bytes, header: str, now: float) -> bool:
    """What a receiver does (the README shows the same in ten lines)."""
    fresh = abs(now - timestamp) <= TOLERANCE_SECONDS
    return fresh and hmac.compare_digest(signature(secret, timestamp, body), header)
