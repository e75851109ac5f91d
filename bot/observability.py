"""Operations: the /metrics page (Prometheus text format), a request counter, JSON logs.

The exposition is written by hand (text format 0.0.4): six metric families do not earn the
prometheus-client dependency and its process-global registry, and half of them are read from
Redis at scrape time (cluster-wide), which a hand-written page expresses directly.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Handler
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
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
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


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {value:g}" for labels, value in samples]
    return lines


async def metrics(request: web.Request) -> web.Response:
    """Answer the Prometheus scrape."""
    lines = _family(
        "fanzha_http_requests_total",
        "counter",
        "HTTP requests served by this instance, by route, method and status.",
        [
            (f'{{route="{_label(route)}",method="{method}",status="{status}"}}', count)
            for (route, method, status), count in sorted(request.app[REQUESTS].items())
        ],
    )
    try:
        lines += await _redis_families(request.app[REDIS], request.app[SETTINGS].timezone)
        for family in await channel_families(request.app):
            lines += _family(*family)
        up = 1
    except (RedisError, OSError):
        log.warning("metrics scrape: redis unavailable")
        up = 0
    lines += _family("fanzha_redis_up", "gauge", "1 when Redis answered at scrape.", [("", up)])
    return web.Response(body="\n".join(lines) + "\n", headers={"Content-Type": CONTENT_TYPE})


async def _redis_families(redis: Redis, timezone: str) -> list[str]:
    """Return the cluster-wide families read from Redis, and the PING round trip."""
    started = time.perf_counter()
    await redis.ping()
    latency = time.perf_counter() - started
    day = today(timezone)
    counted = await reach.totals(redis, [day])
    replies = sum((await questions(redis, [day])).values())
    depth = await Outbox(redis).depth()
    return [
        *_family("fanzha_redis_ping_seconds", "gauge", "PING round trip.", [("", latency)]),
        *_family(
            "fanzha_replies_today", "gauge", "Replies today, all instances.", [("", replies)]
        ),
        *_family(
            "fanzha_pushes_today",
            "gauge",
            "Pushes today by outcome, all instances.",
            [
                ('{outcome="sent"}', counted[Measure.PUSHES_SENT]),
                ('{outcome="failed"}', counted[Measure.PUSHES_FAILED]),
            ],
        ),
        *_family(
            "fanzha_outbox_depth",
            "gauge",
            "Outbox deliveries by state (pending, urgent, in_flight, lag, delayed, dead).",
            [(f'{{state="{_label(state)}"}}', count) for state, count in sorted(depth.items())],
        ),
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
