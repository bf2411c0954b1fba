"""``/console/write-offs`` over HTTP: the ladder's proposals listed, a supervisor's Approve and
Reject (with a reason), read-only or hidden for the other roles, CSRF on both forms, and every
refusal a page with its code that changes nothing. After approval the person page shows the
debt gone and the write-off in the history."""

from __future__ import annotations

import datetime as dt
import re

import httpx

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from tests.collections.write_off_helpers import PASSPORTS, ladder_proposals, snapshot
from tests.staff.helpers import make_staff
from tests.web.test_console_collections import console, csrf_of, flat

TODAY = dt.date(2026, 11, 18)
PAGE = "/console/write-offs"


def cards(html: str) -> list[str]:
    """Each request's section as text."""
    return [flat(s) for s in re.findall(r'<section class="account".*?</section>', html, re.S)]


async def test_supervisor_rejects_one_approves_another_and_the_debt_goes(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    first, second = await ladder_proposals(db, TODAY)
    await console(client, await make_staff(db, "supervisor", "boss"))
    page = await client.get(PAGE)
    assert page.status_code == 200 and page.headers["cache-control"].startswith("no-store")
    one, two = cards(page.text)
    assert one.startswith(f"Заявка № {first.request_id} · лицевой счёт {first.number} · ждёт")
    assert "Сумма заявки 450,00 ₽ Долг по счёту сейчас 450,00 ₽" in one
    assert "Кто предложил лестница взыскания (автоматически) Когда 18.11.2026 15:00" in one
    assert "Мобильная связь 300,00 ₽ 300,00 ₽" in one and "150,00 ₽" in one
    assert "Утвердить списание 450,00 ₽" in one and "Причина отказа" in one
    assert "Сумма заявки 800,00 ₽" in two
    assert 'href="/console/write-offs"' in page.text  # the nav link

    token = await csrf_of(client, PAGE)
    reject = f"{PAGE}/{first.request_id}/reject"
    done = await client.post(reject, data={"reason": "Рассрочка до марта", "csrf_token": token})
    assert done.status_code == 303
    assert done.headers["location"] == f"{PAGE}?status=rejected&decided={first.request_id}"
    shown = await client.get(done.headers["location"])
    text = flat(shown.text)
    assert f"Заявка № {first.request_id}: отклонена, долг остаётся за абонентом." in text
    assert "Причина отказа Рассрочка до марта" in text and "отклонил boss" in text

    approve = f"{PAGE}/{second.request_id}/approve"
    done = await client.post(approve, data={"csrf_token": token})
    assert done.status_code == 303
    text = flat((await client.get(done.headers["location"])).text)
    assert (
        f"Заявка № {second.request_id}: списано 800,00 ₽, долг по счёту {second.number} "
        "теперь 0,00 ₽." in text
    )
    assert "Долг по счёту сейчас 0,00 ₽" in text and "утвердил boss" in text
    assert "Заявок нет." in flat((await client.get(PAGE)).text)

    # The person page: the debt is gone from the statement, the write-off is in the history.
    checked = await client.post(
        f"/console/people/{second.customer_id}/check",
        data={
            "csrf_token": token,
            "document_type": "passport_ru",
            "series_number": PASSPORTS[1],
            "channel": "desk",
            "purpose": "списание долга",
        },
    )
    assert checked.status_code in (200, 303), checked.text
    person = flat((await client.get(f"/console/people/{second.customer_id}")).text)
    assert "Баланс 0,00 ₽ Долг 0,00 ₽" in person
    assert (
        "списание Списание безнадёжной задолженности: Предложено лестницей взыскания: долг не "
        "погашен 800,00 ₽" in person
    )


async def test_other_roles_read_or_are_kept_out_and_refusals_change_nothing(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    first, _second = await ladder_proposals(db, TODAY)
    before = await snapshot(db)
    approve = f"{PAGE}/{first.request_id}/approve"
    reject = f"{PAGE}/{first.request_id}/reject"

    away = await client.get(PAGE)
    assert away.status_code == 303 and away.headers["location"].startswith("/console/login")

    for role in ("collections", "admin"):
        client.cookies.clear()
        await console(client, await make_staff(db, role))
        page = await client.get(PAGE)
        assert page.status_code == 200
        assert "Для вашей роли список только для чтения." in flat(page.text)
        assert 'data-test="approve"' not in page.text and 'data-test="reject"' not in page.text
        assert len(cards(page.text)) == 2
        token = await csrf_of(client, PAGE)
        for path, data in ((approve, {}), (reject, {"reason": "нет"})):
            refused = await client.post(path, data={**data, "csrf_token": token})
            assert refused.status_code == 403, (role, path)
            assert "Нет доступа" in refused.text
    for role in ("hotline", "clerk"):
        client.cookies.clear()
        await console(client, await make_staff(db, role))
        assert (await client.get(PAGE)).status_code == 403
        assert 'href="/console/write-offs"' not in (await client.get("/console")).text
    assert await snapshot(db) == before

    client.cookies.clear()
    await console(client, await make_staff(db, "supervisor", "boss"))
    token = await csrf_of(client, PAGE)
    for path, data, status, code in [
        (approve, {}, 403, None),  # no CSRF token
        (approve, {"csrf_token": "forged"}, 403, None),
        (reject, {"reason": "нет"}, 403, None),
        (f"{PAGE}/999999/approve", {"csrf_token": token}, 404, "write_off_not_found"),
        (f"{PAGE}/999999/reject", {"csrf_token": token, "reason": "нет"}, 404, None),
        (reject, {"csrf_token": token}, 422, "write_off_reason_invalid"),
        (reject, {"csrf_token": token, "reason": "   "}, 422, "write_off_reason_invalid"),
        (reject, {"csrf_token": token, "reason": "x" * 501}, 422, "write_off_reason_invalid"),
        (reject, {"csrf_token": token, "reason": "нет\u0007"}, 422, "write_off_reason_invalid"),
        (reject, {"csrf_token": token, "reason": "две\nстроки"}, 422, "write_off_reason_invalid"),
    ]:
        refused = await client.post(path, data=data)
        assert refused.status_code == status, (path, data, refused.text)
        if code:
            assert code in refused.text and "Ничего не изменено" in refused.text
        if status == 403:
            assert "Форма устарела" in refused.text
    bad = await client.get(f"{PAGE}?status=bogus")
    assert bad.status_code == 422 and "write_off_status_invalid" in bad.text
    assert (await client.get(f"{PAGE}?decided=abc&status=all")).status_code == 200
    assert await snapshot(db) == before

    done = await client.post(reject, data={"csrf_token": token, "reason": "рассрочка"})
    assert done.status_code == 303
    decided = await snapshot(db)
    for path, data in ((approve, {}), (reject, {"reason": "ещё раз"})):
        refused = await client.post(path, data={**data, "csrf_token": token})
        assert refused.status_code == 409 and "write_off_decided" in refused.text
        assert "По этой заявке решение уже принято" in refused.text
    assert await snapshot(db) == decided
    assert [r[1] for r in decided["requests"]] == ["rejected", "requested"]
