"""Operations: the /metrics page (Prometheus text format), a request counter, JSON logs.

The exposition is prometheus-client's: it escapes label values, writes the format Prometheus
asks for (text 0.0.4, or OpenMetrics when the Accept header says so) and keeps up with the
format. No process-global registry: every scrape builds its own registry around one custom
collector, which yields this instance's request counts and the families read from Redis
beforehand (collectors are synchronous; the Redis reads are not).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.appkeys import REDIS, SETTINGS
from bot.channels.health import channel_families
from bot.dashboard.period import today
from bot.push.outbox import Outbox
from bot.store import reach
from bot.store.metrics import questions
from bot.store.reach import Measure

REQUESTS = web.AppKey("request_counts", Counter[tuple[str, str, str]])
# What a scrape without an OpenMetrics Accept header gets.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
UNMATCHED_ROUTE = "unmatched"

log = logging.getLogger(__name__)


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every request by route pattern, method and final status (this instance only)."""
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        # Route patterns, not paths: unknown URLs must not grow the label set without bound.
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else UNMATCHED_ROUTE
        request.app[REQUESTS][(route, request.method, str(status))] += 1


def setup_observability(app: web.Application) -> None:
    """Add the request counter and the /metrics route to `app`."""
    app[REQUESTS] = Counter()
    app.middlewares.insert(0, count_requests)
    app.router.add_get("/metrics", metrics)


class _Scrape(Collector):
    """The families of one scrape, already read."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        """Yield the families read for this scrape."""
        return iter(self.families)


def _requests(counts: Counter[tuple[str, str, str]]) -> Metric:
    family = CounterMetricFamily(
        "fanzha_http_requests",
        "HTTP requests served by this instance, by route, method and status.",
        labels=("route", "method", "status"),
    )
    for labels, count in sorted(counts.items()):
        family.add_metric(labels, count)
    return family


_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _labels(text: str) -> dict[str, str]:
    """Return the labels of a written label set '{a="b",c="d"}'."""
    return {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _LABEL.findall(text)}


def _adopt(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> Metric:
    """Return a family written as (name, "gauge" or "counter", help, samples) as a Metric."""
    parsed = [(_labels(text), count) for text, count in samples]
    names = sorted(parsed[0][0]) if parsed else []
    maker = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
    family = maker(name, help_text, labels=names)
    for labels, count in parsed:
        family.add_metric([labels.get(label, "") for label in names], count)
    return family


def _gauge(name: str, help_text: str, value: float) -> Metric:
    return GaugeMetricFamily(name, help_text, value=value)


async def metrics(request: web.Request) -> web.Response:
    """Answer the Prometheus scrape."""
    families = [_requests(request.app[REQUESTS])]
    try:
        families += await _redis_families(request.app[REDIS], request.app[SETTINGS].timezone)
        families += [_adopt(*family) for family in await channel_families(request.app)]
        up = 1
    except (RedisError, OSError):
        log.warning("metrics scrape: redis unavailable")
        up = 0
    families.append(_gauge("fanzha_redis_up", "1 when Redis answered at scrape.", up))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Scrape(families))
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(body=encode(registry), headers={"Content-Type": content_type})


async def _redis_families(redis: Redis, timezone: str) -> list[Metric]:
    """Return the cluster-wide families read from Redis, and the PING round trip."""
    started = time.perf_counter()
    await redis.ping()
    latency = time.perf_counter() - started
    day = today(timezone)
    counted = await reach.totals(redis, [day])
    replies = sum((await questions(redis, [day])).values())
    depth = await Outbox(redis).depth()
    pushes = GaugeMetricFamily(
        "fanzha_pushes_today", "Pushes today by outcome, all instances.", labels=("outcome",)
    )
    pushes.add_metric(("sent",), counted[Measure.PUSHES_SENT])
    pushes.add_metric(("failed",), counted[Measure.PUSHES_FAILED])
    outbox = GaugeMetricFamily(
        "fanzha_outbox_depth",
        "Outbox deliveries by state (pending, urgent, in_flight, lag, delayed, dead).",
        labels=("state",),
    )
    for state, count in sorted(depth.items()):
        outbox.add_metric((state,), count)
    return [
        _gauge("fanzha_redis_ping_seconds", "PING round trip.", latency),
        _gauge("fanzha_replies_today", "Replies today, all instances.", replies),
        pushes,
        outbox,
    ]


# --- structured logs ---

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
# Never written out, whatever a caller passes as `extra`.
_SECRET_FIELDS = frozenset({"member", "user", "phone", "mobile", "key", "robot_key", "secret"})
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_WEBHOOK_KEY = re.compile(r"(key=)[\w-]+")


def scrub(text: str) -> str:
    """Mask mobile numbers and webhook keys in a log message."""
    return _WEBHOOK_KEY.sub(r"\1***", _PHONE.sub("1**********", text))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of JSON."""
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in _SECRET_FIELDS and not name.startswith("_"):
                entry[name] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure_logging installs (so a second call replaces only its own)."""


def configure_logging(level: str | int, log_format: str) -> None:
    """Send logs to stderr at `level`, as JSON lines when `log_format` is "JSON"."""
    handler = _StderrHandler()
    if log_format.upper() == "JSON":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
