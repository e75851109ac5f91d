"""Fuzz the simulator API (public, and the console's 试一试 behind the login)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.simulator import DEMO_GROUPS, PRIVATE
from tests.fuzz.conftest import Console, examples, held
from tests.fuzz.live import LiveService
from tests.fuzz.strategies import bodies, headers, json_scalars, queries, words

GROUPS = st.sampled_from([group.id for group in DEMO_GROUPS] + [PRIVATE]) | words
sim_messages = st.fixed_dictionaries(
    {"group": GROUPS, "user": words, "text": words}, optional={"msg_id": json_scalars}
)


@examples(150)
@given(body=bodies(sim_messages), sent=headers(), query=queries("group", "after"))
def test_simulator_messages_never_fail(
    service: LiveService, body: bytes, sent: Any, query: Any
) -> None:
    answer = service.request("POST", "/api/sim/messages", query=query, headers=sent, body=body)
    held(service, answer, body[:200])


@examples(40)
@given(body=st.binary(max_size=2000), sent=headers(), query=queries("group", "user"))
def test_simulator_images_never_fail(
    service: LiveService, body: bytes, sent: Any, query: Any
) -> None:
    answer = service.request("POST", "/api/sim/images", query=query, headers=sent, body=body)
    held(service, answer, (query, body[:100]))


@examples(60)
@given(
    path=st.sampled_from(["/api/sim/feed", "/api/sim/groups", "/sim", "/"]),
    query=queries("group", "after"),
    sent=headers(),
)
def test_simulator_pages_never_fail(
    service: LiveService, path: str, query: Any, sent: Any
) -> None:
    held(service, service.request("GET", path, query=query, headers=sent), (path, query))


@examples(60)
@given(body=bodies(sim_messages), with_token=st.booleans())
def test_the_console_try_page_api_never_fails(
    service: LiveService, console: Console, body: bytes, with_token: bool
) -> None:
    sent: dict[str, str | bytes] = {"Content-Type": "application/json", "Cookie": console.cookie}
    if with_token:
        sent["X-CSRF-Token"] = console.csrf
    answer = service.request("POST", "/console/try/api/messages", headers=sent, body=body)
    held(service, answer, body[:200])
    assert with_token or answer.status in (400, 403)  # a bad shape is refused before the token
