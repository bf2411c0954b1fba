"""Every kind of secret, through every log call path, in both renderings: none gets out."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from abonent.kit import logs

API_KEY = "abk_" + "Zx9" * 14
AGENT_PASSWORD = "correct-horse-battery-77"
BASIC = "Basic " + base64.b64encode(f"SBER:{AGENT_PASSWORD}".encode()).decode()
PASSPORT = "4510 123456"
PASSPORT_DIGITS = "4510123456"
OTP = "482913"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"
SECRETS = (API_KEY, AGENT_PASSWORD, "U0JFUjpjb3JyZWN0", PASSPORT, PASSPORT_DIGITS, OTP, TOTP_SECRET)


@pytest.fixture(params=["json", "console"])
def output(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> Iterator[str]:
    logs.configure(json=request.param == "json", level="DEBUG")
    yield request.param
    logs.configure(json=True, level="INFO")


def _written(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


def _assert_clean(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"leaked {leaked} in:\n{text}"


def test_structlog_keys_values_and_nested(output: str, capsys: pytest.CaptureFixture[str]) -> None:
    log = structlog.get_logger("abonent.test")
    log.info(
        "request",
        headers={"Authorization": BASIC, "X-Api-Key": API_KEY, "accept": "text/html"},
        raw_headers=[(b"authorization", f"Bearer {API_KEY}".encode()), (b"host", b"x")],
        password=AGENT_PASSWORD,
        body={"customer": {"passport": PASSPORT, "name": "Иванов"}, "codes": [{"code": OTP}]},
        totp_secret=TOTP_SECRET,
        note=f"user typed {API_KEY} and passport {PASSPORT} in the wrong field",
        code="auth_failed",
    )
    text = _written(capsys)
    _assert_clean(text)
    assert "Иванов" in text and "auth_failed" in text and "[redacted]" in text
    if output == "json":
        line = json.loads(text.strip().splitlines()[-1])
        assert line["event"] == "request" and line["level"] == "info"
        assert line["body"]["customer"]["passport"] == "[redacted]"


def test_stdlib_logging_is_routed_and_redacted(
    output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.getLogger("sqlalchemy.engine").warning(
        "connect failed with Authorization: %s and key %s", BASIC, API_KEY
    )
    text = _written(capsys)
    _assert_clean(text)
    assert "sqlalchemy.engine" in text and "connect failed" in text


def test_tracebacks_have_no_locals_and_messages_are_redacted(
    output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def authenticate(password: str, api_key: str) -> None:
        passport_number = PASSPORT_DIGITS  # a local variable: rich's show_locals printed these
        raise ValueError(f"refused key {api_key} for passport {passport_number}")

    try:
        authenticate(AGENT_PASSWORD, API_KEY)
    except ValueError:
        structlog.get_logger("abonent.test").exception("boom", otp_code=OTP)
        logging.getLogger("abonent.stdlib").exception("stdlib boom %s", BASIC)
    text = _written(capsys)
    _assert_clean(text)
    assert "ValueError" in text and "authenticate" in text  # the traceback is there


def test_uvicorn_access_and_error_loggers(output: str, capsys: pytest.CaptureFixture[str]) -> None:
    access = logging.getLogger("uvicorn.access")
    access.info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        f"/v1/lookup?key={API_KEY}&passport={PASSPORT_DIGITS}",
        "1.1",
        200,
    )
    try:
        raise RuntimeError(f"Authorization: {BASIC}")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    text = _written(capsys)
    _assert_clean(text)
    assert "uvicorn.access" in text and "Exception in ASGI application" in text


def test_error_codes_stay_and_only_digit_codes_go() -> None:
    event = logs.redact(None, "info", {"event": "x", "code": "auth_failed", "sms": {"code": OTP}})
    assert event == {"event": "x", "code": "auth_failed", "sms": {"code": "[redacted]"}}
