"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<raw body>`` with the shared secret.

The timestamp (Unix seconds) is signed with the body, so an old captured webhook cannot be
re-sent with a fresh timestamp; the receiver refuses one outside its tolerance window, and the
event id (inside the signed body) makes a replay inside the window harmless.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Sandbox-Signature"
TIMESTAMP_HEADER = "X-Sandbox-Timestamp"
EVENT_HEADER = "X-Sandbox-Event-Id"
SCHEME = "v1"


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """``v1=<hex>``: the version prefix lets the scheme change without ambiguity."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def valid(secret: bytes, timestamp: int, body: bytes, presented: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), presented.strip())
