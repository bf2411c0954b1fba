"""The person `make demo` prints for the console is found by that phone and passes the check."""

from __future__ import annotations

import re
from contextlib import aclosing

import httpx

from abonent.app import create_app
from abonent.db.uow import Database
from abonent.demo.loader import load_demo
from tests.factories import remember_secret
from tests.staff.helpers import make_staff
from tests.web.console_helpers import console_sign_in


async def test_the_printed_demo_person_passes_the_console_check(db: Database) -> None:
    report = await load_demo(db, seed=3, customers=30)
    name, phone, passport = report.console_person
    assert name and phone and len(passport) == 10
    remember_secret(passport)
    who = await make_staff(db, "clerk")
    transport = httpx.ASGITransport(app=create_app(db), client=("127.0.0.1", 50002))
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    async with aclosing(client):
        csrf = await console_sign_in(client, who)
        found = await client.post(
            "/console/search", data={"csrf_token": csrf, "by": "msisdn", "msisdn": phone}
        )
        ids = set(re.findall(r"/console/people/(\d+)/check", found.text))
        assert len(ids) == 1
        (person_id,) = ids
        checked = await client.post(
            f"/console/people/{person_id}/check",
            data={
                "csrf_token": csrf,
                "document_type": "passport_ru",
                "series_number": f"{passport[:4]} {passport[4:]}",
                "channel": "desk",
                "purpose": "демо",
            },
        )
        assert checked.status_code == 303
        page = await client.get(f"/console/people/{person_id}")
        assert name in page.text
        assert page.text.count('class="account"') == 2
