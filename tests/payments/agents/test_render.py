"""The OSMP answer's rendering: the shortcut for plain texts changes no byte of any answer."""

from __future__ import annotations

from xml.sax.saxutils import escape

from hypothesis import given
from hypothesis import strategies as st

from abonent.payments.agents import osmp
from abonent.payments.agents import service as agents
from abonent.payments.agents.osmp import Answer, Result


def _escaped_always(name: str, text: str) -> str:
    """The element as it was rendered before the shortcut: every text escaped."""
    if not text:
        return f"<{name}/>"
    return f"<{name}>{escape(osmp._xml_safe(text))}</{name}>"


@given(st.text())
def test_an_element_is_what_escaping_every_text_gives(text: str) -> None:
    assert osmp._element("comment", text) == _escaped_always("comment", text)


@given(st.text(alphabet="0123456789 OK()&<>\x00\x01\ufffe\uffffя"))
def test_an_element_with_markup_or_forbidden_characters_is_escaped(text: str) -> None:
    assert osmp._element("osmp_txn_id", text) == _escaped_always("osmp_txn_id", text)


def test_an_ok_answer_byte_for_byte() -> None:
    answer = Answer(Result.OK, "OK (already booked)", txn_id="2001", prv_txn=17, amount_minor=1050)
    assert osmp.render(answer) == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<response><osmp_txn_id>2001</osmp_txn_id>'
        b"<prv_txn>17</prv_txn><sum>10.50</sum><result>0</result>"
        b"<comment>OK (already booked)</comment></response>\n"
    )


def test_a_refusal_echoing_markup_byte_for_byte() -> None:
    answer = Answer(Result.OTHER, "bad <sum> & \x01", txn_id="1<2")
    assert osmp.render(answer) == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<response><osmp_txn_id>1&lt;2</osmp_txn_id>'
        b"<prv_txn/><sum/><result>300</result>"
        b"<comment>bad &lt;sum&gt; &amp; ?</comment></response>\n"
    )


@given(
    st.sampled_from(["127.0.0.1", "10.1.2.3", "192.168.0.1", "::1", "", "not an address", "1.2.3"]),
    st.lists(st.sampled_from(["127.0.0.1/32", "10.0.0.0/8", "::1/128", "0.0.0.0/0"]), max_size=3),
)
def test_the_remembered_address_decision_is_the_computed_one(address: str, nets: list[str]) -> None:
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
        expected = any(ip in ipaddress.ip_network(n, strict=False) for n in nets)
    except ValueError:
        expected = False
    for _ in range(2):  # computed, then remembered
        assert agents._address_in(tuple(nets), address or None) is expected
