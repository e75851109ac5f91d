"""Fuzz every console POST (logged in, with and without the CSRF token) and the public forms."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import Console, examples, held
from tests.fuzz.live import LiveService
from tests.fuzz.strategies import CONTENT_TYPES, bodies, form_bodies, header_values, queries

FIELDS = (
    "title", "summary", "body", "kinds", "region", "groups", "style", "receipt", "send_at",
    "urgent", "comment", "name", "role", "display", "password", "disable", "kind", "target",
    "members", "owner", "robot_key", "id", "token", "school_class", "answer", "q0", "next", "file",
    "action", "text", "entry", "phrase", "audiences", "decision",
)  # fmt: skip
ACTIONS = ("submit", "approve", "reject", "schedule", "send", "urgent", "cancel", "x")
CONSOLE_POSTS = (
    "/console/items",
    "/console/items/{item}",
    *(f"/console/items/{{item}}/{action}" for action in ACTIONS),
    "/console/groups/save",
    "/console/groups/import",
    "/console/users/toggle",
    "/console/lessons",
    "/console/lessons/entries",
    "/console/lessons/decide",
)
PUBLIC_POSTS = ("/console/login", "/quiz/0badc0de", "/pledge", "/a/alerts/x/receipt")
GETS = (
    "/console", "/console/items/new", "/console/items/{item}", "/console/items/{item}/edit",
    "/console/calendar", "/console/groups", "/console/groups/view", "/console/groups/export",
    "/console/users", "/console/dashboard", "/console/report", "/console/report.xlsx",
    "/console/try", "/console/login", "/console/lessons", "/console/lessons/draft",
    "/console/lessons/export", "/quiz/0badc0de", "/pledge", "/a/alerts/x", "/p/x",
)  # fmt: skip
QUERY = queries("period", "start", "end", "month", "region", "print", "state", "kind", "owner",
                "target", "health", "id", "next", "g")  # fmt: skip
form_or_json = st.one_of(
    form_bodies(*FIELDS), bodies(st.dictionaries(st.sampled_from(FIELDS), st.text()))
)


@examples(200)
@given(
    route=st.sampled_from(CONSOLE_POSTS),
    body=form_or_json,
    kind=CONTENT_TYPES,
    token=st.sampled_from(["header", "form", "none"]),
    query=QUERY,
)
def test_console_posts_never_fail(
    service: LiveService, console: Console, route: str, body: bytes, kind: str, token: str,
    query: Any,
) -> None:  # fmt: skip
    sent: dict[str, str | bytes] = {"Content-Type": kind, "Cookie": console.cookie}
    if token == "header":
        sent["X-CSRF-Token"] = console.csrf
    elif token == "form":
        body = f"csrf_token={console.csrf}&".encode() + body
    path = route.format(item=console.item)
    answer = service.request("POST", path, query=query, headers=sent, body=body)
    held(service, answer, (path, kind, body[:200]))


@examples(30)
@given(body=form_bodies("name", "role", "display", "password", "urgent"), kind=CONTENT_TYPES)
def test_adding_users_never_fails(
    service: LiveService, console: Console, body: bytes, kind: str
) -> None:
    sent: dict[str, str | bytes] = {"Content-Type": kind, "Cookie": console.cookie}
    sent["X-CSRF-Token"] = console.csrf
    answer = service.request("POST", "/console/users", headers=sent, body=body)
    held(service, answer, body[:200])


@examples(80)
@given(
    path=st.sampled_from(PUBLIC_POSTS),
    body=form_or_json,
    kind=CONTENT_TYPES,
    cookie=header_values,
    query=QUERY,
)
def test_public_posts_never_fail(
    service: LiveService, path: str, body: bytes, kind: str, cookie: bytes, query: Any
) -> None:
    sent: dict[str, str | bytes] = {"Content-Type": kind, "Cookie": cookie}
    answer = service.request("POST", path, query=query, headers=sent, body=body)
    held(service, answer, (path, body[:200]))


@examples(120)
@given(path=st.sampled_from(GETS), query=QUERY, logged_in=st.booleans(), accept=header_values)
def test_pages_never_fail(
    service: LiveService, console: Console, path: str, query: Any, logged_in: bool,
    accept: bytes,
) -> None:  # fmt: skip
    sent: dict[str, str | bytes] = {"Accept": accept}
    if logged_in:
        sent["Cookie"] = console.cookie
    answer = service.request("GET", path.format(item=console.item), query=query, headers=sent)
    held(service, answer, (path, query))
