"""Fuzz every callback: unsigned garbage, and correctly signed envelopes around broken content.

Each request goes over real HTTP to the app with every channel on; none may get a 5xx or
leave a traceback in the log (issue 17: RecursionError, OverflowError, UnicodeEncodeError).
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import examples, held
from tests.fuzz.live import LiveService
from tests.fuzz.strategies import (
    bodies,
    headers,
    json_text,
    json_values,
    numbers,
    queries,
    words,
)
from tests.support.all_channels import BOT
from tests.support.signing import app_envelope, bot_envelope, oa_envelope, signed_query

ROUTES = ("/wechat/oa/callback", "/wecom/app/callback", "/wecom/bot/callback")
QUERY_NAMES = ("msg_signature", "signature", "timestamp", "nonce", "echostr", "encrypt_type")
XML_NAMES = ("ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event")
MSG_TYPES = st.sampled_from(["text", "event", "image", "stream", "voice"]) | words


def xml_document(fields: dict[str, str]) -> str:
    """Return a WeChat `<xml>` document of `fields` (CDATA-free, escaped)."""
    inner = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields.items())
    return f"<xml>{inner}</xml>"


xml_messages = st.dictionaries(st.sampled_from(XML_NAMES), words, max_size=7).map(xml_document)
xml_bodies = st.one_of(
    xml_messages.map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.integers(1, 3000).map(lambda n: ("<xml>" + "<a>" * n + "</a>" * n + "</xml>").encode()),
    st.just(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><xml>&e;</xml>'),
)
bot_messages = st.fixed_dictionaries(
    {},
    optional={
        "msgid": words,
        "aibotid": st.just(BOT.bot_id) | words,
        "chattype": st.sampled_from(["group", "single"]) | words,
        "chatid": words,
        "from": st.fixed_dictionaries({"userid": words}) | json_values,
        "msgtype": MSG_TYPES,
        "text": st.fixed_dictionaries({"content": words}) | json_values,
        "event": json_values,
        "response_url": words,
    },
)


@examples(150)
@given(
    path=st.sampled_from(ROUTES),
    method=st.sampled_from(["GET", "POST"]),
    query=queries(*QUERY_NAMES),
    sent=headers(),
    body=st.one_of(bodies(bot_messages), xml_bodies),
)
def test_unsigned_callbacks_are_refused_cleanly(
    service: LiveService, path: str, method: str, query: Any, sent: Any, body: bytes
) -> None:
    answer = service.request(method, path, query=query, headers=sent, body=body)
    held(service, answer, (method, path, query, body[:80]))
    assert answer.status in (200, 400, 403, 405, 413) if method == "POST" else True


@examples(60)
@given(path=st.sampled_from(ROUTES), timestamp=numbers, body=bodies(bot_messages))
def test_any_timestamp_is_a_clear_refusal(
    service: LiveService, path: str, timestamp: str, body: bytes
) -> None:
    for method in ("GET", "POST"):
        query = {**signed_query("x", timestamp=timestamp or "0"), "echostr": "x"}
        answer = service.request(method, path, query=query, body=body)
        held(service, answer, (method, path, timestamp))


@examples(80)
@given(message=st.one_of(bot_messages.map(json_text), json_values.map(json_text), words))
def test_signed_smart_bot_messages_never_fail(service: LiveService, message: Any) -> None:
    text = message if isinstance(message, str) else message.decode()
    query, body = bot_envelope(text)
    answer = service.request("POST", ROUTES[2], query=query, body=body)
    held(service, answer, text[:200])


@examples(80)
@given(inner=st.one_of(xml_messages, words), oa=st.booleans())
def test_signed_xml_messages_never_fail(service: LiveService, inner: str, oa: bool) -> None:
    query, body = oa_envelope(inner) if oa else app_envelope(inner)
    answer = service.request("POST", ROUTES[0] if oa else ROUTES[1], query=query, body=body)
    held(service, answer, inner[:200])
