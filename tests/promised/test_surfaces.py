"""The promised payment through the staff API, the CLI and the worker's job."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import httpx
from sqlalchemy import func, select
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import PromisedPayment
from abonent.worker.promised_job import expire_once
from tests.api.helpers import keys_for_roles
from tests.factories import auth
from tests.promised.helpers import ledger_counts, subscriber

runner = CliRunner()


async def test_api_view_take_replay_and_refusal(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    keys = await keys_for_roles(db)
    account, _ = await subscriber(db, clock)
    url = f"/v1/accounts/{account.number}/promised-payment"
    r = await client.get(url, headers=auth(keys["hotline"]))
    assert r.status_code == 200
    body = r.json()
    assert body["in_force"] is None and body["refusal"] is None
    assert [line["amount_minor"] for line in body["offer"]["lines"]] == [10_000, 20_000, 30_000]
    r = await client.post(url, json={"amount_minor": 20_000}, headers=auth(keys["clerk"]))
    assert r.status_code == 400  # no Idempotency-Key
    r = await client.post(url, json={"amount_minor": 20_000}, headers=auth(keys["hotline"]))
    assert r.status_code == 403
    headers = {**auth(keys["clerk"]), "Idempotency-Key": "take-1"}
    first = await client.post(url, json={"amount_minor": 20_000}, headers=headers)
    assert first.status_code == 201
    assert first.json()["amount_minor"] == 20_000
    assert first.json()["fee_minor"] == 1_000
    assert first.json()["owed_minor"] == 20_000 + 1_000
    assert first.json()["status"] == "in_force"
    again = await client.post(url, json={"amount_minor": 20_000}, headers=headers)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(PromisedPayment)) == 1
        before = await ledger_counts(s)
    refused = await client.post(
        url,
        json={"amount_minor": 10_000},
        headers={**auth(keys["clerk"]), "Idempotency-Key": "take-2"},
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "promised_in_force"
    assert refused.json()["detail"] == (
        "не подключён: на счёте уже действует обещанный платёж до 21.11.2026"
    )
    async with db.session() as s:
        assert await ledger_counts(s) == before
    r = await client.get(url, headers=auth(keys["hotline"]))
    assert r.json()["in_force"]["owed_minor"] == 21_000
    st = await client.get(f"/v1/accounts/{account.number}/statement", headers=auth(keys["hotline"]))
    assert st.json()["promised_payment"]["owed_minor"] == 21_000


def test_cli_take_show_and_expire(env_db: str, clock: FrozenClock) -> None:
    db = Database(env_db)
    account, _ = asyncio.run(subscriber(db, clock))
    asyncio.run(db.dispose())
    shown = runner.invoke(app, ["promised", "show", account.number])
    assert shown.exit_code == 0, shown.output
    assert " ".join(shown.output.split()) == (
        "Можно взять до 21.11.2026: 100,00 ₽ (плата 10,00 ₽), 200,00 ₽ (плата 10,00 ₽), "
        "300,00 ₽ (плата 25,00 ₽)"
    )
    refused = runner.invoke(app, ["promised", "take", account.number, "500"])
    assert refused.exit_code == 1
    assert "promised_amount_invalid" in refused.output
    taken = runner.invoke(app, ["promised", "take", account.number, "300"])
    assert taken.exit_code == 0, taken.output
    assert " ".join(taken.output.split()).startswith(
        "Обещанный платёж 300,00 ₽ до 21.11.2026, плата 25,00 ₽, к возврату 275,00 ₽ (in_force"
    )
    again = runner.invoke(app, ["promised", "take", account.number, "100"])
    assert again.exit_code == 1
    assert "promised_in_force" in again.output
    clock.at = dt.datetime(2026, 11, 22, 6, tzinfo=dt.UTC)
    first = runner.invoke(app, ["promised", "expire"])
    second = runner.invoke(app, ["promised", "expire"])
    assert json.loads(first.output) == {"repaid": 0, "expired": 1}
    assert json.loads(second.output) == {"repaid": 0, "expired": 0}
    shown = runner.invoke(app, ["promised", "show", account.number, "--json"])
    # Expired with its 275 unpaid (now overdue): a new one may cover it.
    offer = json.loads(shown.output)["offer"]
    assert [line["amount_minor"] for line in offer["lines"]] == [10_000, 20_000, 30_000]


async def test_worker_job_ends_what_is_over(db: Database, clock: FrozenClock) -> None:
    account, _ = await subscriber(db, clock)
    from abonent.models import Account
    from abonent.promised import service as promised
    from tests.factories import ACTOR

    async with db.session(write=True) as s:
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        await promised.take(s, fresh, 10_000, channel="cli", actor=ACTOR)
    assert (await expire_once(db)).as_dict() == {"repaid": 0, "expired": 0}
    clock.at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert (await expire_once(db)).as_dict() == {"repaid": 0, "expired": 1}
    assert (await expire_once(db)).as_dict() == {"repaid": 0, "expired": 0}
