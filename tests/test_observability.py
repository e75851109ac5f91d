"""/metrics in the Prometheus text format, the request counter, and JSON log lines."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.models import Group, GroupKind
from bot.observability import CONTENT_TYPE, JsonFormatter, configure_logging
from bot.settings import Settings, SettingsError
from bot.store import reach
from bot.store.reach import Measure

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABELS = r'\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\}'
_SAMPLE = re.compile(rf"({_NAME})({_LABELS})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)")
_COMMENT = re.compile(rf"# (HELP {_NAME} .+|TYPE {_NAME} (counter|gauge|untyped))")


_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")')


def canonical(sample: str) -> str:
    """Return "name{labels}" with its labels sorted: their order carries no meaning."""
    name, _, labels = sample.partition("{")
    return name + ("{" + ",".join(sorted(_LABEL.findall(labels))) + "}" if labels else "")


class Samples(dict[str, float]):
    """Samples looked up by "name{labels}" in any label order."""

    def __getitem__(self, key: str) -> float:
        return super().__getitem__(canonical(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(canonical(key))


def parse(text: str) -> Samples:
    """Return {"name{labels}": value}; fail on any line that is not valid exposition format."""
    assert text.endswith("\n")
    samples = Samples()
    for line in text.splitlines():
        if line.startswith("#"):
            assert _COMMENT.fullmatch(line), line
            continue
        match = _SAMPLE.fullmatch(line)
        assert match, line
        samples[canonical(match[1] + (match[2] or ""))] = float(match[3])
    return samples


async def scrape(client: TestClient[Any, Any]) -> Samples:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE
    return parse(await response.text())


async def test_metrics_parse_and_count_requests(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/sim")).status == 200
    assert (await client.get("/no/such/page")).status == 404
    samples = await scrape(client)

    assert samples['fanzha_http_requests_total{route="/sim",method="GET",status="200"}'] == 1
    assert samples['fanzha_http_requests_total{route="unmatched",method="GET",status="404"}'] == 1
    assert samples["fanzha_redis_up"] == 1
    assert 0 <= samples["fanzha_redis_ping_seconds"] < 5
    assert 'fanzha_outbox_depth{state="pending"}' in samples
    again = await scrape(client)
    assert again['fanzha_http_requests_total{route="/metrics",method="GET",status="200"}'] == 1


async def test_metrics_follow_activity(
    client: TestClient[Any, Any], redis: Redis, settings: Settings
) -> None:
    before = await scrape(client)
    response = await client.post(
        "/api/sim/messages", json={"group": "private", "user": "李四", "text": "刷单返利是真的吗"}
    )
    assert response.status == 200
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    group = Group("g-1", "幸福村村民群", GroupKind.VILLAGE, "城关镇/幸福村", 10)
    async with redis.pipeline(transaction=False) as pipe:
        reach.record(pipe, today, group, Measure.PUSHES_SENT, 3)
        reach.record(pipe, today, group, Measure.PUSHES_FAILED)
        await pipe.execute()
    after = await scrape(client)

    assert after["fanzha_replies_today"] == before["fanzha_replies_today"] + 1
    assert after['fanzha_pushes_today{outcome="sent"}'] == 3
    assert after['fanzha_pushes_today{outcome="failed"}'] == 1
    assert (
        after['fanzha_http_requests_total{route="/api/sim/messages",method="POST",status="200"}']
        == 1
    )


async def test_bad_request_is_counted_with_its_status(client: TestClient[Any, Any]) -> None:
    assert (await client.post("/api/sim/messages", data=b"not json")).status == 400
    samples = await scrape(client)
    assert (
        samples['fanzha_http_requests_total{route="/api/sim/messages",method="POST",status="400"}']
        == 1
    )


def _record(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "bot.push.outbox", "levelname": "WARNING", "msg": msg})
    record.__dict__.update(extra)
    return record


def test_json_log_line_has_the_fields_and_no_personal_data() -> None:
    line = JsonFormatter().format(
        _record(
            "send to 13812345678 failed via https://qyapi/send?key=abc-123_x",
            group="g-7",
            attempt=2,
            member="hash-of-someone",
            phone="13812345678",
        )
    )
    entry = json.loads(line)

    assert {"ts", "level", "logger", "msg"} <= entry.keys()
    assert entry["level"] == "WARNING" and entry["logger"] == "bot.push.outbox"
    assert entry["group"] == "g-7" and entry["attempt"] == 2
    assert "member" not in entry and "phone" not in entry
    assert "13812345678" not in line and "abc-123_x" not in line
    datetime.fromisoformat(entry["ts"])


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_writes_one_json_object_per_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "JSON")
    configure_logging("INFO", "JSON")  # a second call replaces its handler, never doubles it
    log = logging.getLogger("bot.test")
    log.info("first %s", "line", extra={"group": "g-1"})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("second line")
    lines = capsys.readouterr().err.strip().splitlines()

    entries = [json.loads(line) for line in lines]
    assert [e["msg"] for e in entries] == ["first line", "second line"]
    assert entries[0]["group"] == "g-1"
    assert "ValueError: boom" in entries[1]["exc"]


def test_log_format_setting() -> None:
    assert Settings.from_env({"FANZHA_LOG_FORMAT": "json"}).log_format == "JSON"
    assert Settings.from_env({}).log_format == "TEXT"
    with pytest.raises(SettingsError, match="FANZHA_LOG_FORMAT"):
        Settings.from_env({"FANZHA_LOG_FORMAT": "xml"})


async def test_openmetrics_is_served_when_asked_for(client: TestClient[Any, Any]) -> None:
    response = await client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    text = await response.text()
    assert text.endswith("# EOF\n") and "fanzha_redis_up 1.0" in text
