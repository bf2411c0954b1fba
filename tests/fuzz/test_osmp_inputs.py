"""Hypothesis over the OSMP endpoint: any parameters, any encoding, any body.

Whatever comes in (query strings, urlencoded forms in UTF-8 or not, multipart forms well-formed
or broken, bodies of any content type), the answer is the protocol's XML with a documented
result code: 200 with a result, or 401/403 with result 8 (docs/osmp.md §3-4). A refusal books
nothing: payments only appear with result 0.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from abonent.app import create_app
from abonent.db.uow import Database
from abonent.models import Payment
from abonent.payments.agents import service as agents
from abonent.payments.agents.osmp import Result
from tests.factories import make_account
from tests.fuzz.conftest import FIGURES
from tests.payments.agents.conftest import PASSWORD, make_agent

DOCUMENTED = {int(r) for r in Result}
EXAMPLES = {"valid": 250, "none": 120, "wrong": 15}
"""Per credential case. A wrong password costs an argon2 verification (~0.1 s) every time, so
that case only proves the refusal shape; the others carry the volume."""


@dataclass
class Target:
    runner: asyncio.Runner
    client: httpx.AsyncClient
    db: Database
    number: str
    sent: int = 0
    server_errors: int = 0

    def payments(self) -> int:
        async def count() -> int:
            async with self.db.session() as s:
                return int(await s.scalar(select(func.count()).select_from(Payment)) or 0)

        return self.runner.run(count())


@pytest.fixture
def target(db_url: str) -> Iterator[Target]:
    with asyncio.Runner() as runner:
        db = Database(db_url)

        async def prepare() -> str:
            await make_agent(db, "SBER")
            async with db.session(write=True) as s:
                account, _ = await make_account(s)
            return account.number

        number = runner.run(prepare())
        agents.forget_verified_passwords()
        agents.forget_copies()
        app = create_app(db)
        transport = httpx.ASGITransport(
            app=app, client=("127.0.0.1", 50000), raise_app_exceptions=False
        )
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        try:
            yield Target(runner, client, db, number)
        finally:
            runner.run(client.aclose())
            runner.run(db.dispose())


# --- strategies ---------------------------------------------------------------------------------

NAMES = ["command", "txn_id", "account", "sum", "ccy", "txn_date", "prv_id", "extra"]
odd_text = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=30
)  # any code point but lone surrogates (they cannot travel as UTF-8)
digits = st.text(alphabet="0123456789", min_size=0, max_size=22)


def values(number: str) -> dict[str, st.SearchStrategy[str]]:
    return {
        "command": st.sampled_from(["check", "pay", "refund", "", "PAY"]) | odd_text,
        "txn_id": digits | odd_text,
        "account": st.sampled_from([number, number[:-1] + "0", "100000000009", ""]) | odd_text,
        "sum": st.sampled_from(["10.00", "1", "0", "10,5", "10.005", "1e3", "-5", "9" * 20])
        | odd_text,
        "ccy": st.sampled_from(["RUB", "643", "rur", "USD", "840", "156", ""]) | odd_text,
        "txn_date": st.sampled_from(["20261118150000", "00010101000000", "99991231235959"])
        | digits
        | odd_text,
        "prv_id": odd_text,
        "extra": odd_text,
    }


@st.composite
def params(draw: st.DrawFn, number: str) -> list[tuple[str, str]]:
    """A well-formed check or pay, then up to three parameters spoilt, dropped or added: so the
    requests reach every stage (account, limits, booking), not only the parameter checks."""
    well_formed = {
        "command": draw(st.sampled_from(["check", "pay"])),
        "txn_id": draw(st.text(alphabet="0123456789", min_size=1, max_size=20)),
        "account": draw(st.sampled_from([number, number[:-1] + "0", "100000000017"])),
        "sum": draw(st.sampled_from(["10.00", "1", "0.50", "0", "15000.01", "99,9", "250"])),
        "txn_date": "20261118150000",
    }
    pairs = list(well_formed.items())
    by_name = values(number)
    for _ in range(draw(st.integers(0, 3))):
        how = draw(st.sampled_from(["spoil", "drop", "add", "stranger"]))
        if how == "drop" and pairs:
            pairs.pop(draw(st.integers(0, len(pairs) - 1)))
        elif how == "stranger":
            pairs.append(draw(st.tuples(odd_text, odd_text)))
        else:
            name = draw(st.sampled_from(NAMES))
            value = draw(by_name[name])
            if how == "spoil":
                pairs = [(k, v) for k, v in pairs if k != name]
            pairs.append((name, value))
    return pairs


def _urlencode(pairs: list[tuple[str, str]], encoding: str) -> bytes:
    def enc(text: str) -> str:
        return quote_from_bytes(text.encode(encoding, errors="replace"), safe="")

    return "&".join(f"{enc(k)}={enc(v)}" for k, v in pairs).encode("ascii")


def _multipart(pairs: list[tuple[str, str]], boundary: str = "XyZ") -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in pairs
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8", errors="surrogatepass")


@st.composite
def requests(draw: st.DrawFn, number: str) -> dict[str, Any]:
    pairs = draw(params(number))
    how = draw(
        st.sampled_from(
            ["get", "urlencoded", "cp1251", "latin-1", "multipart", "broken", "raw", "query+form"]
        )
    )
    if how == "get":
        return {"method": "GET", "query": _urlencode(pairs, "utf-8")}
    if how in ("urlencoded", "cp1251", "latin-1"):
        encoding = "utf-8" if how == "urlencoded" else how
        body = _urlencode(pairs, encoding)
        if draw(st.booleans()):
            # Raw, not percent-encoded: bytes that may not be UTF-8 at all.
            body = "&".join(f"{k}={v}" for k, v in pairs).encode(encoding, errors="replace")
        return {"method": "POST", "type": "application/x-www-form-urlencoded", "body": body}
    if how == "multipart":
        return {
            "method": "POST",
            "type": "multipart/form-data; boundary=XyZ",
            "body": _multipart(pairs),
        }
    if how == "query+form":
        half = len(pairs) // 2
        return {
            "method": "POST",
            "query": _urlencode(pairs[:half], "utf-8"),
            "type": "application/x-www-form-urlencoded",
            "body": _urlencode(pairs[half:], "utf-8"),
        }
    if how == "broken":
        body = _multipart(pairs)
        cut = draw(st.integers(0, len(body)))
        content_type = draw(
            st.sampled_from(
                [
                    "multipart/form-data",
                    "multipart/form-data; boundary=XyZ",
                    "multipart/form-data; boundary=",
                    "multipart/form-data; boundary=" + "b" * 300,
                    'multipart/form-data; boundary="XyZ"; charset=koi8-r',
                    "multipart/form-data; charset=nonsense; boundary=XyZ",
                ]
            )
        )
        junk = draw(st.binary(max_size=40))
        return {"method": "POST", "type": content_type, "body": body[:cut] + junk}
    return {
        "method": "POST",
        "type": draw(st.sampled_from(["", "text/plain", "application/json", "application/xml"])),
        "body": draw(st.binary(max_size=200)),
    }


# --- the property --------------------------------------------------------------------------------


def _assert_protocol_answer(response: httpx.Response) -> int:
    assert response.status_code in (200, 401, 403), (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "text/xml; charset=utf-8", response.text[:300]
    root = ET.fromstring(response.content)
    assert root.tag == "response"
    tags = [child.tag for child in root]
    assert tags[:5] == ["osmp_txn_id", "prv_txn", "sum", "result", "comment"], tags
    result = int(root.findtext("result") or "")
    assert result in DOCUMENTED, result
    if response.status_code != 200:
        assert result == int(Result.TECHNICAL)
    return result


@pytest.mark.parametrize("credentials", ["valid", "none", "wrong"])
def test_every_input_gets_xml_with_a_documented_result(
    target: Target, backend: str, credentials: str
) -> None:
    auth = {
        "valid": httpx.BasicAuth("SBER", PASSWORD),
        "none": None,
        "wrong": httpx.BasicAuth("SBER", PASSWORD + "x"),
    }[credentials]

    @settings(
        max_examples=EXAMPLES[credentials],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(request=requests(target.number))
    def fuzz(request: dict[str, Any]) -> None:
        before = target.payments()
        query = request.get("query", b"").decode("ascii")
        headers = {"content-type": request["type"]} if request.get("type") else {}
        response = target.runner.run(
            target.client.request(
                request["method"],
                "/agents/osmp/SBER" + (f"?{query}" if query else ""),
                content=request.get("body"),
                headers=headers,
                auth=auth,
            )
        )
        target.sent += 1
        target.server_errors += response.status_code >= 500
        result = _assert_protocol_answer(response)
        FIGURES[f"osmp:{backend}:result {result:>3}"] += 1
        if credentials != "valid":
            assert response.status_code in (401, 403)
        if result != 0:
            assert target.payments() == before, "a refusal booked a payment"

    fuzz()
    FIGURES[f"osmp:{backend}:requests"] += target.sent
    FIGURES[f"osmp:{backend}:5xx"] += target.server_errors
    assert target.sent >= EXAMPLES[credentials] // 2
