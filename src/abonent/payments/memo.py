"""The line under a payment in the history: how it came in and the number the payer holds.

The cabinet shows it to the subscriber and the console to staff, so it is Russian. Every way
of booking a payment (the ORM path and the agent's one-statement path) takes it from here.
"""

from __future__ import annotations

# A desk payment's id names the clerk's session: nobody else's business, so it is left out.
_MEMOS = {
    "agent": "Оплата через платёжного агента {agent}, чек № {txn}",
    "registry": "Оплата через {agent} (реестр платежей), № {txn}",
    "card": "Оплата банковской картой, № {txn}",
    "office": "Оплата в офисе",
    "transfer": "Перенос средств, № {txn}",
}
_OTHER = "Оплата, № {txn}"


def memo(method: str, source: str, txn_id: str) -> str:
    """('agent', 'osmp:SBER', '77001') -> 'Оплата через платёжного агента SBER, чек № 77001'"""
    agent = source.partition(":")[2] or source
    return _MEMOS.get(method, _OTHER).format(agent=agent, txn=txn_id)[:255]
