"""Personal data at rest: AES-GCM encryption, a keyed lookup hash, and masking for display."""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from abonent.kit.errors import InvalidInput

_NONCE = 12


def normalize_passport(raw: str) -> str:
    """'45 10 123456' / '4510-123456' -> '4510123456' (series 4 digits + number 6 digits)."""
    digits = re.sub(r"[\s\-№]", "", raw or "")
    if not re.fullmatch(r"[0-9]{10}", digits):
        raise InvalidInput(
            "passport must be series (4 digits) and number (6 digits)", code="passport_malformed"
        )
    return digits


class PiiCipher:
    def __init__(self, key: bytes, hash_key: bytes) -> None:
        self._aead = AESGCM(key[:32])
        self._hash_key = hash_key

    def encrypt(self, plaintext: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), b"abonent-pii")

    def decrypt(self, blob: bytes) -> str:
        return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], b"abonent-pii").decode()

    def lookup_hash(self, normalized: str) -> str:
        return hmac.new(self._hash_key, normalized.encode(), hashlib.sha256).hexdigest()


def mask_passport(normalized: str) -> str:
    """'4510123456' -> '45** ***456'"""
    return f"{normalized[:2]}** ***{normalized[-3:]}"
