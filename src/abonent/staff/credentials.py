"""Passwords (argon2) and TOTP (pyotp): generation, verification, enrolment as URI/QR."""

from __future__ import annotations

import datetime as dt
import hmac
import io
import secrets as _secrets
import string
from functools import lru_cache

import pyotp
import qrcode
import qrcode.image.svg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from abonent.config import get_settings
from abonent.kit.pii import PiiCipher

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("abonent-dummy-password")
_ALPHABET = string.ascii_letters + string.digits
TOTP_INTERVAL = 30


def generate_password(length: int = 16) -> str:
    return "".join(_secrets.choice(_ALPHABET) for _ in range(length))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    # An unknown login still pays for one verification, so timing does not tell it apart.
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _cipher() -> PiiCipher:
    settings = get_settings()
    return PiiCipher(settings.secret("pii_key"), settings.secret("pii_hash_key"))


def generate_totp_secret() -> str:
    return pyotp.random_base32()


def seal(secret: str) -> bytes:
    return _cipher().encrypt(secret)


def unseal(blob: bytes) -> str:
    return _cipher().decrypt(blob)


def accept_totp(secret: str, code: str, at: dt.datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (now ± one step), or None; a used step is refused."""
    code = (code or "").strip()
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    current = int(at.timestamp()) // TOTP_INTERVAL
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_INTERVAL), code):
            if last_step is not None and step <= last_step:
                return None
            return step
    return None


def totp_now(secret: str, at: dt.datetime) -> str:
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL).at(int(at.timestamp()))


def enrolment_uri(secret: str, login: str) -> str:
    issuer = get_settings().staff.totp_issuer
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL).provisioning_uri(
        name=login, issuer_name=issuer
    )


def qr_svg(uri: str) -> str:
    """The enrolment QR as an SVG document, for the console page."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def qr_terminal(uri: str) -> str:
    """The enrolment QR drawn with block characters, for a terminal."""
    qr = qrcode.QRCode(border=2)
    qr.add_data(uri)
    qr.make(fit=True)
    buffer = io.StringIO()
    qr.print_ascii(out=buffer, invert=True)
    return buffer.getvalue()
