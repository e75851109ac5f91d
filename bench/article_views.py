"""Article page views per second through the real app, vs a bare aiohttp handler.

The real server is `python -m bot serve` on a Redis this script starts; each view resolves the
group's link code, reads the group, counts views and unique readers in every dimension (one
script call each), checks for a receipt and renders the page with a fresh form token. The bare
server returns the same HTML bytes from memory. Both run as separate processes on loopback and
one client drives each in turn at the same concurrency, as READERS distinct phones (cookies).
Prints both rates, the ratio, and whether every view was counted.
Run: python -m bench.article_views
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from redis.asyncio import Redis

from bench.sim_api import free_port, wait_healthy
from bot.articles import links
from bot.models import Group, GroupKind, PushTarget
from bot.settings import PROJECT_ROOT
from bot.store import reach
from bot.store.embedded import EmbeddedRedis
from bot.store.groups import GroupRegistry
from bot.store.reach import Measure, Unique

CONCURRENCY = 16
REQUESTS = 3000
READERS = 500
GROUP = Group("bench-village", "幸福村村民群", GroupKind.VILLAGE, "城关镇/幸福村", 300, "wang",
              PushTarget.FORWARD)  # fmt: skip
BARE_SERVER = """
import sys
from aiohttp import web
HTML = open(sys.argv[2], encoding="utf-8").read()
async def page(request):
    return web.Response(text=HTML, content_type="text/html")
app = web.Application()
app.router.add_get("/a/scams/shuadan", page)
app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


async def drive(port: int, code: str) -> float:
    """Return pages per second at CONCURRENCY over REQUESTS views by READERS readers."""
    url = f"http://127.0.0.1:{port}/a/scams/shuadan?g={code}"
    counter = iter(range(REQUESTS))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        await wait_healthy(session, port)

        async def worker() -> None:
            for n in counter:
                cookie = {"Cookie": f"fz_reader=bench-reader-{n % READERS:06d}-padding"}
                async with session.get(url, headers=cookie) as response:
                    assert response.status == 200, await response.text()
                    await response.read()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return REQUESTS / (time.perf_counter() - start)


async def prepare(redis_url: str) -> str:
    """Register the group and return its link code."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    await GroupRegistry(redis).put(GROUP)
    code = await links.code_for(redis, GROUP.id)
    await redis.aclose()
    return code


async def counted(redis_url: str) -> tuple[int, int]:
    """Return today's (views, unique readers) of the group."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    day = [datetime.now(ZoneInfo("Asia/Shanghai")).date()]
    views = (await reach.totals(redis, day, "group", GROUP.id))[Measure.VIEWS]
    readers = await reach.unique_count(redis, day, Unique.READERS, "group", GROUP.id)
    await redis.aclose()
    return views, readers


async def sample_page(port: int, code: str) -> str:
    async with aiohttp.ClientSession() as session:
        await wait_healthy(session, port)
        async with session.head(f"http://127.0.0.1:{port}/a/scams/shuadan?g={code}") as r:
            assert r.status == 200
        async with session.get(f"http://127.0.0.1:{port}/a/scams/shuadan") as response:
            return await response.text()


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="fz-bench-") as data,
        EmbeddedRedis(Path(data) / "redis", persistent=False) as server,
    ):
        code = asyncio.run(prepare(server.url))
        ours_port, bare_port = free_port(), free_port()
        env = {**os.environ, "FANZHA_DATA_DIR": data, "FANZHA_PORT": str(ours_port),
               "REDIS_URL": server.url, "FANZHA_LOG_LEVEL": "WARNING"}  # fmt: skip
        ours = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=PROJECT_ROOT, env=env)
        bare: subprocess.Popen[bytes] | None = None
        try:
            html_file = Path(data) / "page.html"
            html_file.write_text(asyncio.run(sample_page(ours_port, code)), encoding="utf-8")
            bare = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(bare_port), html_file])
            bare_rate = asyncio.run(drive(bare_port, code))
            ours_rate = asyncio.run(drive(ours_port, code))
            views, readers = asyncio.run(counted(server.url))
        finally:
            for process in (ours, bare):
                if process:
                    process.terminate()
                    process.wait()
    print(f"bare aiohttp handler (same HTML): {bare_rate:.0f} pages/s")
    print(f"article page (link, group, counting, receipt check, render): {ours_rate:.0f} pages/s")
    print(f"ratio ours/bare: {ours_rate / bare_rate:.2f}")
    print(f"views counted: {views} of {REQUESTS}; unique readers: {readers} of {READERS} (HLL)")


if __name__ == "__main__":
    main()
